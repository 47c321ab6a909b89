"""The Helm engines (tools.helm_engine): which one is selected, the same release life on each
(helm-python-sdk always; the helm binary through pyhelm3 where one is on PATH), their errors
translated at one place, and the sync facade tools.helm."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helm_python import errors as sdk_errors
from pyhelm3 import errors as cli_errors  # type: ignore[import-untyped]

from sandbox.control import Sandbox
from tests.tools.conftest import CHART, Kubectl
from tools import helm
from tools.cluster import Cluster
from tools.errors import Conflict, HelmError, KaiError, NotFound, Unavailable
from tools.helm_cli import info_from_entry, info_from_release
from tools.helm_engine import (
    HelmEngine,
    KubeTarget,
    ReleaseInfo,
    helm_error,
    iso_time,
    previous_revision,
    select_engine,
)
from tools.helm_sdk import SdkEngine

NO_HELM = "no helm binary on PATH: the CLI engine (pyhelm3) runs helm"
ENGINES = [pytest.param("sdk", id="sdk"),
           pytest.param("cli", id="cli", marks=pytest.mark.skipif(shutil.which("helm") is None, reason=NO_HELM))]
LIGHT = {"backend": {"replicaCount": 1, "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}},
         "frontend": {"replicaCount": 1, "service": {"type": "ClusterIP"},
                      "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}}
_ids = itertools.count()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, cluster: Sandbox, monkeypatch: pytest.MonkeyPatch) -> HelmEngine:
    monkeypatch.setenv("KAI_HELM_ENGINE", request.param)
    chosen = select_engine(Cluster(kubeconfig=cluster.kubeconfig))
    assert chosen.name == request.param
    return chosen


@pytest.fixture
def scratch(cluster: Sandbox, kc: Kubectl) -> Iterator[list[tuple[str, str]]]:
    """(release, namespace) pairs a test made; uninstalled and deleted afterwards."""
    made: list[tuple[str, str]] = []
    yield made
    sdk = SdkEngine(KubeTarget(str(cluster.kubeconfig)))
    for release, namespace in made:
        with contextlib.suppress(NotFound):
            sdk.uninstall_sync(release, namespace, wait=True, timeout=60)
        kc.run("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)
    sdk.close()


def run(work: Any) -> Any:
    return asyncio.run(work)


# --- selection ------------------------------------------------------------------------------


def test_the_sdk_engine_is_the_default(cluster: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAI_HELM_ENGINE", raising=False)
    chosen = select_engine(Cluster(kubeconfig=cluster.kubeconfig, context="kai-sandbox"))
    assert isinstance(chosen, SdkEngine) and chosen.name == "sdk"
    assert chosen.target == KubeTarget(str(cluster.kubeconfig), "kai-sandbox", None)
    monkeypatch.setenv("KAI_HELM_ENGINE", "sdk")
    assert select_engine(Cluster(kubeconfig=cluster.kubeconfig)).name == "sdk"


def test_the_cli_engine_without_a_helm_binary_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("KAI_HELM_ENGINE", "cli")
    with pytest.raises(HelmError, match="KAI_HELM_ENGINE=cli needs a helm binary on PATH"):
        select_engine(Cluster())


def test_the_cli_engine_is_chosen_when_asked_and_helm_is_on_path(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "helm"  # answers `helm version --template ...` only: selection is what is tested
    fake.write_text("#!/bin/sh\nprintf v3.15.2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("KAI_HELM_ENGINE", "CLI")
    chosen = select_engine(Cluster(kubeconfig=tmp_path / "kubeconfig", context="ctx", impersonate="alice"))
    assert chosen.name == "cli"
    assert chosen.target == KubeTarget(str(tmp_path / "kubeconfig"), "ctx", "alice")  # type: ignore[attr-defined]


def test_an_unknown_engine_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAI_HELM_ENGINE", "kustomize")
    with pytest.raises(HelmError, match=r"use sdk .* or cli"):
        select_engine(Cluster())


# --- one release's life, on each engine ----------------------------------------------------------


def test_a_release_life(engine: HelmEngine, scratch: list[tuple[str, str]], kc: Kubectl) -> None:
    ns, rel = f"kh-e{next(_ids)}", "life"
    scratch.append((rel, ns))
    chart = str(CHART)

    dry = run(engine.install(chart, rel, ns, LIGHT, create_namespace=True, dry_run=True))
    assert dry.release.name == rel and "kind: Deployment" in dry.manifest
    with pytest.raises(NotFound, match=f"no Helm release 'life' in namespace {ns}"):
        run(engine.status(rel, ns))
    assert kc.run("get", "namespace", ns, check=False).returncode != 0  # a dry run creates nothing

    done = run(engine.install(chart, rel, ns, LIGHT, create_namespace=True, wait=True, timeout=120))
    assert (done.release.revision, done.release.status, done.release.chart) == (1, "deployed", "todo-app-0.1.0")
    assert kc.json("get", "deployment", "todo-backend", "-n", ns)["status"]["readyReplicas"] == 1
    with pytest.raises(Conflict):
        run(engine.install(chart, rel, ns, LIGHT, dry_run=True))

    listed = run(engine.releases(ns))
    assert [(r.name, r.namespace, r.revision, r.status) for r in listed] == [(rel, ns, 1, "deployed")]
    assert (rel, ns) in [(r.name, r.namespace) for r in run(engine.releases(None))]
    status = run(engine.status(rel, ns))
    assert (status.revision, status.status, status.app_version) == (1, "deployed", "v1.0")
    assert status.updated is not None and status.updated.endswith("Z")
    assert status.description == "Install complete"
    assert run(engine.get_values(rel, ns)) == LIGHT
    assert run(engine.get_values(rel, ns, all_values=True))["backend"]["image"]["tag"] == "v1.0"
    manifest = run(engine.manifest(rel, ns))
    assert "name: todo-backend" in manifest and "replicas: 1" in manifest

    plan = run(engine.upgrade(chart, rel, ns, {"backend": {"replicaCount": 2}}, dry_run=True))
    assert "replicas: 2" in plan.manifest
    assert [h.revision for h in run(engine.history(rel, ns))] == [1]  # the dry run wrote nothing
    upgraded = run(engine.upgrade(chart, rel, ns, {"backend": {"replicaCount": 2}}, wait=True, timeout=120))
    assert (upgraded.release.revision, upgraded.release.status) == (2, "deployed")
    assert run(engine.get_values(rel, ns))["frontend"]["service"]["type"] == "ClusterIP"  # values reused
    assert kc.json("get", "deployment", "todo-backend", "-n", ns)["spec"]["replicas"] == 2

    back = run(engine.rollback(rel, ns, dry_run=True))  # the previous revision by default
    assert back.release.revision == 1 and back.manifest == run(engine.manifest(rel, ns, 1))
    assert [h.revision for h in run(engine.history(rel, ns))] == [1, 2]
    rolled = run(engine.rollback(rel, ns, 1, wait=True, timeout=120))
    assert (rolled.release.revision, rolled.release.status) == (3, "deployed")
    history = run(engine.history(rel, ns))
    assert [(h.revision, h.status) for h in history] == [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    assert history[-1].description == "Rollback to 1"
    assert [h.revision for h in run(engine.history(rel, ns, 2))] == [2, 3]
    assert kc.json("get", "deployment", "todo-backend", "-n", ns)["spec"]["replicas"] == 1

    kept = run(engine.uninstall(rel, ns, dry_run=True))
    assert kept.release.revision == 3 and "name: todo-frontend" in kept.manifest
    assert run(engine.status(rel, ns)).status == "deployed"
    gone = run(engine.uninstall(rel, ns, wait=True, timeout=120))
    assert gone.release.status == "uninstalled"
    with pytest.raises(NotFound):
        run(engine.status(rel, ns))
    left = kc("get", "deployments,services,configmaps,secrets", "-n", ns, "-l", f"app.kubernetes.io/instance={rel}",
              "-o", "name")
    assert left.strip() == ""


def test_engine_errors(engine: HelmEngine, todo: str, tmp_path: Path, kc: Kubectl) -> None:
    with pytest.raises(NotFound, match="no Helm release 'nope' in namespace todo-app"):
        run(engine.history("nope", todo))
    with pytest.raises(NotFound):
        run(engine.get_values("nope", todo))
    with pytest.raises(NotFound, match="release todo-app in namespace todo-app has no revision 99"):
        run(engine.status("todo-app", todo, 99))
    with pytest.raises(NotFound):
        run(engine.manifest("todo-app", todo, 99))
    with pytest.raises(NotFound):
        run(engine.upgrade(str(CHART), "nope", todo, {}, dry_run=True))
    broken = tmp_path / "todo-app"
    shutil.copytree(CHART, broken)
    (broken / "templates" / "broken.yaml").write_text('{{ fail "broken on purpose" }}\n')
    ns = f"kh-e{next(_ids)}"
    with pytest.raises(HelmError, match="broken on purpose"):
        run(engine.install(str(broken), "broken", ns, {}, create_namespace=True, dry_run=True))
    with pytest.raises(HelmError, match="broken on purpose"):
        run(engine.upgrade(str(broken), "todo-app", todo, {}, dry_run=True))
    assert kc.run("get", "namespace", ns, check=False).returncode != 0


def test_an_unreachable_cluster_is_unavailable(cluster: Sandbox, tmp_path: Path) -> None:
    text = cluster.kubeconfig.read_text().replace(f"127.0.0.1:{cluster.port}", "127.0.0.1:1")
    dead = tmp_path / "kubeconfig"
    dead.write_text(text)
    engine = SdkEngine(KubeTarget(str(dead)))
    with pytest.raises(Unavailable, match="cannot reach the cluster"):
        run(engine.releases(None))
    engine.close()


# --- errors, times and the CLI's JSON, without a cluster ------------------------------------------


def test_helm_errors_are_translated_at_one_place() -> None:
    missing = helm_error(sdk_errors.HelmNotFoundError("release: not found"), "no Helm release 'x' in namespace y")
    assert isinstance(missing, NotFound) and missing.message == "no Helm release 'x' in namespace y"
    no_deployed = helm_error(sdk_errors.HelmReleaseError('"x" has no deployed releases'), "gone")
    assert isinstance(no_deployed, NotFound)
    assert isinstance(helm_error(sdk_errors.HelmKubeError("kubernetes cluster unreachable: refused")), Unavailable)
    long = helm_error(sdk_errors.HelmRenderError("template: x: " + "word " * 400))
    assert type(long) is HelmError and len(long.message) <= 300
    cli_missing = helm_error(cli_errors.ReleaseNotFoundError(1, b"", b"Error: release: not found\n"), "none")
    assert isinstance(cli_missing, NotFound) and cli_missing.message == "none"
    stderr = b"WARNING: kubeconfig is group-readable\nError: UPGRADE FAILED: boom\n"
    failed = helm_error(cli_errors.Error(1, b"", stderr))
    assert type(failed) is HelmError and failed.message == "UPGRADE FAILED: boom"
    assert isinstance(helm_error(cli_errors.ConnectionError(1, b"", b"Error: etcdserver: timeout")), Unavailable)
    already = KaiError("as it is")
    assert helm_error(already) is already
    assert type(helm_error(ValueError("other"))) is KaiError


def test_helm_times_become_utc_iso() -> None:
    assert iso_time("2026-11-26T08:37:23Z") == "2026-11-26T08:37:23Z"
    assert iso_time("2026-11-26 10:37:23.123456789 +0200 CEST") == "2026-11-26T08:37:23Z"
    assert iso_time("2026-11-26T08:37:23.9-05:00") == "2026-11-26T13:37:23Z"
    assert iso_time("") is None and iso_time(None) is None
    assert iso_time("yesterday") == "yesterday"


def test_the_previous_revision() -> None:
    def info(revision: int) -> ReleaseInfo:
        return ReleaseInfo(name="r", namespace="n", revision=revision, status="superseded", chart="c-1")

    assert previous_revision([info(3), info(4), info(5)], "r") == 4
    with pytest.raises(HelmError, match="only revision 1"):
        previous_revision([info(1)], "r")


def test_the_cli_json_is_read_as_the_sdk_reports_it() -> None:
    listed = info_from_entry({"name": "todo-app", "namespace": "todo-app", "revision": "3", "status": "deployed",
                              "updated": "2026-11-26 08:37:23.1 +0000 UTC", "chart": "todo-app-0.1.0",
                              "app_version": "v1.0"})
    assert listed == ReleaseInfo(name="todo-app", namespace="todo-app", revision=3, status="deployed",
                                 chart="todo-app-0.1.0", app_version="v1.0", updated="2026-11-26T08:37:23Z")
    entry = info_from_entry({"revision": 2, "updated": "2026-11-26T08:37:23Z", "status": "failed",
                             "chart": "todo-app-0.1.0", "app_version": "v1.0", "description": "Upgrade failed"},
                            "todo-app", "ns")
    assert (entry.name, entry.namespace, entry.revision, entry.description) == ("todo-app", "ns", 2, "Upgrade failed")
    doc = {"name": "r", "namespace": "n", "version": 4, "manifest": "",
           "info": {"status": "deployed", "last_deployed": "2026-11-26T08:37:23Z", "description": "Install complete"},
           "chart": {"metadata": {"name": "todo-app", "version": "0.1.0", "appVersion": "v1.0"}}}
    assert info_from_release(doc) == ReleaseInfo(name="r", namespace="n", revision=4, status="deployed",
                                                 chart="todo-app-0.1.0", app_version="v1.0",
                                                 updated="2026-11-26T08:37:23Z", description="Install complete")


# --- the sync facade (kai sandbox up --with-todo-app, test fixtures) ---------------------------------


def test_the_facade(cluster: Sandbox, todo: str, scratch: list[tuple[str, str]], tmp_path: Path) -> None:
    assert helm.status(cluster.kubeconfig, "nope", todo) is None
    current = helm.status(cluster.kubeconfig, "todo-app", todo)
    assert current is not None and (current.name, current.chart, current.status) == ("todo-app", "todo-app-0.1.0",
                                                                                      "deployed")
    ns = f"kh-e{next(_ids)}"
    scratch.append(("facade", ns))
    made = helm.install(cluster.kubeconfig, CHART, "facade", ns, values=LIGHT, wait=True, timeout=120)
    assert (made.revision, made.status, made.app_version) == (1, "deployed", "v1.0")
    with pytest.raises(helm.HelmError, match="release facade already exists"):
        helm.install(cluster.kubeconfig, CHART, "facade", ns, values=LIGHT, wait=False)
    dead = tmp_path / "kubeconfig"
    dead.write_text(cluster.kubeconfig.read_text().replace(f"127.0.0.1:{cluster.port}", "127.0.0.1:1"))
    with pytest.raises(helm.HelmError, match="cannot reach the cluster"):
        helm.status(dead, "todo-app", todo)
