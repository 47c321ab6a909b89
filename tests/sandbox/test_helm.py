"""client-go through Helm's SDK (helm-python-sdk): install, upgrade, rollback,
list/status/history and uninstall against the sandbox, with the Secret driver."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest
from helm_python import Config
from helm_python.errors import HelmError

from sandbox.control import Sandbox
from tests.conftest import Kubectl

CHART = Path(__file__).parent / "charts" / "hello"
NS = "helm"


@pytest.fixture(scope="module")
def helm(sandbox: Sandbox) -> Config:
    return Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=NS)


def release_payload(kubectl: Kubectl, name: str) -> dict[str, object]:
    secret = kubectl.json("get", "secret", name, "-n", NS)
    assert secret["type"] == "helm.sh/release.v1"
    once = base64.b64decode(secret["data"]["release"])
    payload: dict[str, object] = json.loads(gzip.decompress(base64.b64decode(once)))
    return payload


def test_install_upgrade_rollback_uninstall(helm: Config, kubectl: Kubectl) -> None:
    release = helm.install(str(CHART), "hello", {"replicas": 2, "greeting": "hi"}, namespace=NS,
                           create_namespace=True, timeout=60)
    assert release["status"] == "deployed" and release["revision"] == 1
    # the objects exist as rendered
    deploy = kubectl.json("get", "deploy", "hello", "-n", NS)
    assert deploy["spec"]["replicas"] == 2
    assert kubectl.json("get", "cm", "hello-config", "-n", NS)["data"] == {"greeting": "hi"}
    svc = kubectl.json("get", "svc", "hello", "-n", NS)
    assert svc["spec"]["ports"][0]["nodePort"] == 30001
    # the release Secret decodes
    secret = kubectl.json("get", "secret", "sh.helm.release.v1.hello.v1", "-n", NS)
    assert secret["metadata"]["labels"]["owner"] == "helm"
    assert secret["metadata"]["labels"]["status"] == "deployed"
    payload = release_payload(kubectl, "sh.helm.release.v1.hello.v1")
    assert payload["name"] == "hello" and payload["version"] == 1
    assert payload["config"] == {"replicas": 2, "greeting": "hi"}
    # list / status
    listed = helm.list()
    assert [(r["name"], r["revision"], r["status"]) for r in listed] == [("hello", 1, "deployed")]
    assert helm.status("hello")["status"] == "deployed"
    # upgrade
    upgraded = helm.upgrade(str(CHART), "hello", {"replicas": 3, "greeting": "hey"}, namespace=NS, timeout=60)
    assert upgraded["revision"] == 2
    assert kubectl.json("get", "deploy", "hello", "-n", NS)["spec"]["replicas"] == 3
    assert kubectl.json("get", "cm", "hello-config", "-n", NS)["data"] == {"greeting": "hey"}
    old = kubectl.json("get", "secret", "sh.helm.release.v1.hello.v1", "-n", NS)
    assert old["metadata"]["labels"]["status"] == "superseded"
    # rollback to revision 1 is revision 3
    helm.rollback("hello", version=1, timeout=60)
    history = helm.history("hello")
    assert [(r["revision"], r["status"]) for r in history] == \
        [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    assert kubectl.json("get", "deploy", "hello", "-n", NS)["spec"]["replicas"] == 2
    assert kubectl.json("get", "cm", "hello-config", "-n", NS)["data"] == {"greeting": "hi"}
    # uninstall removes the objects and the release secrets
    helm.uninstall("hello", timeout=60)
    assert kubectl("get", "deploy,svc,cm", "-n", NS, "-l", "app.kubernetes.io/instance=hello",
                   "-o", "name").strip() == ""
    assert kubectl("get", "secret", "-n", NS, "-l", "owner=helm", "-o", "name").strip() == ""
    assert kubectl.run("get", "deploy", "hello", "-n", NS, check=False).returncode != 0
    with pytest.raises(HelmError):
        helm.status("hello")


def test_install_of_a_chart_the_server_rejects(helm: Config, kubectl: Kubectl, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    (bad / "templates").mkdir(parents=True)
    (bad / "Chart.yaml").write_text("apiVersion: v2\nname: bad\nversion: 0.1.0\n")
    (bad / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  a: b\nbogusField: 1\n")
    with pytest.raises(HelmError) as failed:
        helm.install(str(bad), "bad", namespace=NS, create_namespace=True, timeout=30)
    assert 'unknown field "bogusField"' in str(failed.value)
    assert kubectl.run("get", "cm", "bad", "-n", NS, check=False).returncode != 0
