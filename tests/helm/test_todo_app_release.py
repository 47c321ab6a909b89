"""The todo stack's life as a Helm release on a sandbox that runs it: install waiting
for every pod, upgrade, rollback, a failed upgrade and its recovery, the HTTPS proxy,
uninstall; and `kai sandbox up --with-todo-app`."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helm_python import Config
from helm_python.errors import HelmError

from sandbox import control
from tests.conftest import Kubectl, kubectl_for, wait_for

ROOT = Path(__file__).resolve().parents[2]
CHART = str(ROOT / "helm" / "todo-app")
NS = "todo-app"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, Kubectl]]:
    state = tmp_path_factory.mktemp("todo")
    running = control.up(state)
    kube = kubectl_for(running.kubeconfig, tmp_path_factory.mktemp("kubecache"))
    yield Config(kubeconfig_path=str(running.kubeconfig), namespace=NS), kube
    control.down(state)


def running_pods(kube: Kubectl) -> dict[str, list[str]]:
    """App label -> images of the pods that are Running and Ready."""
    found: dict[str, list[str]] = {}
    for pod in kube.json("get", "pods", "-n", NS)["items"]:
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        if pod["status"].get("phase") == "Running" and ready and not pod["metadata"].get("deletionTimestamp"):
            found.setdefault(pod["metadata"]["labels"]["app"], []).append(pod["spec"]["containers"][0]["image"])
    return found


def tls_secret(kube: Kubectl, tmp: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "192.168.49.2")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    (tmp / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    kube("create", "secret", "tls", "todo-app-tls", f"--cert={tmp / 'tls.crt'}", f"--key={tmp / 'tls.key'}",
         "-n", NS)


def history(helm: Config) -> list[tuple[int, str]]:
    return [(int(r["revision"]), str(r["status"])) for r in helm.history("todo-app")]


def test_release_lifecycle(cluster: tuple[Config, Kubectl], tmp_path: Path) -> None:
    helm, kube = cluster
    release: dict[str, Any] = helm.install(CHART, "todo-app", namespace=NS, create_namespace=True,
                                           timeout=120, wait="watcher")
    assert (release["revision"], release["status"]) == (1, "deployed")
    # the watcher returned once every pod was Ready
    assert running_pods(kube) == {"todo-backend": ["todo-backend:v1.0"] * 2,
                                  "todo-frontend": ["todo-frontend:v1.0"] * 2}
    wait_for(lambda: len(kube("get", "endpoints", "todo-backend", "-n", NS, "-o",
                              "jsonpath={.subsets[0].addresses[*].ip}").split()) == 2, 10)
    assert [(r["name"], r["status"]) for r in helm.list()] == [("todo-app", "deployed")]

    upgraded = helm.upgrade(CHART, "todo-app", {"backend": {"replicaCount": 3, "image": {"tag": "v1.1"}}},
                            namespace=NS, timeout=120, wait="watcher")
    assert upgraded["revision"] == 2
    assert sorted(running_pods(kube)["todo-backend"]) == ["todo-backend:v1.1"] * 3

    helm.rollback("todo-app", version=1, timeout=120, wait="watcher")
    assert history(helm) == [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    template = kube.json("get", "deploy", "todo-backend", "-n", NS)["spec"]
    assert template["replicas"] == 2
    assert template["template"]["spec"]["containers"][0]["image"] == "todo-backend:v1.0"
    wait_for(lambda: sorted(running_pods(kube).get("todo-backend", [])) == ["todo-backend:v1.0"] * 2, 30)

    with pytest.raises(HelmError):  # the wait times out: the new pods cannot pull their image
        helm.upgrade(CHART, "todo-app", {"backend": {"image": {"tag": "v9.9"}}}, namespace=NS, timeout=3,
                     wait="watcher")
    assert helm.status("todo-app")["status"] == "failed"

    def pulling() -> bool:
        pods = kube("get", "pods", "-n", NS, "-l", "app=todo-backend")
        return "ImagePullBackOff" in pods or "ErrImagePull" in pods

    wait_for(pulling, 30)
    assert len(running_pods(kube)["todo-backend"]) >= 1  # maxUnavailable 0: the old pods still serve

    helm.rollback("todo-app", version=3, timeout=120, wait="watcher")
    assert helm.status("todo-app")["status"] == "deployed"
    assert history(helm)[-1] == (5, "deployed")
    wait_for(lambda: sorted(running_pods(kube).get("todo-backend", [])) == ["todo-backend:v1.0"] * 2, 30)

    tls_secret(kube, tmp_path)
    helm.upgrade(CHART, "todo-app", {"proxy": {"enabled": True}}, namespace=NS, timeout=120, wait="watcher")
    assert sum(len(v) for v in running_pods(kube).values()) == 5
    svc = kube.json("get", "svc", "todo-https-proxy", "-n", NS)
    assert svc["spec"]["ports"][0]["nodePort"] == 30003

    helm.uninstall("todo-app", timeout=120, wait="watcher")
    wait_for(lambda: not kube("get", "deploy,svc,cm,pods", "-n", NS, "-o", "name").strip(), 30)
    assert not kube("get", "secrets", "-n", NS, "-l", "owner=helm", "-o", "name").strip()


def test_kai_sandbox_up_with_todo_app(tmp_path: Path) -> None:
    state = tmp_path / "s"
    cli = [sys.executable, "-m", "app", "sandbox"]
    try:
        up = subprocess.run([*cli, "up", "--state", str(state), "--with-todo-app"], capture_output=True,
                            text=True, timeout=180, check=False)
        assert up.returncode == 0, up.stderr
        assert "todo-app installed: revision 1, deployed" in up.stdout
        kube = kubectl_for(state / "kubeconfig", tmp_path / "cache")
        table = kube("get", "pods", "-n", NS)
        assert table.count("Running") == 4 and table.count("1/1") == 4
        helm = Config(kubeconfig_path=str(state / "kubeconfig"), namespace=NS)
        assert history(helm) == [(1, "deployed")]
        again = subprocess.run([*cli, "up", "--state", str(state), "--with-todo-app"], capture_output=True,
                               text=True, timeout=60, check=False)
        assert "todo-app is installed: revision 1, deployed" in again.stdout
    finally:
        subprocess.run([*cli, "down", "--state", str(state)], capture_output=True, timeout=60, check=False)
