"""The helm_* tools against the sandbox with the todo chart: each result checked, each change
previewed (manifest diff, helm command line, chart, images) with nothing changed by the plan,
and its effect checked through kubectl and the engine. Releases of their own, in namespaces of
their own: the shared release todo-app in namespace todo-app is only read (and dry-run)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tools.helm_tools  # noqa: F401 - registers the helm tools
from sandbox.control import Sandbox
from tests.tools.conftest import CHART, Kubectl, plan, read, write
from tools import helm
from tools.budget import count_tokens, render
from tools.context import ToolContext
from tools.errors import Ambiguous, Conflict, HelmError, InvalidInput, NotFound
from tools.helm_engine import KubeTarget
from tools.helm_plan import deep_merge, parse_sets
from tools.helm_sdk import SdkEngine
from tools.registry import REGISTRY, Change

NO_HELM = "no helm binary on PATH: the CLI engine (pyhelm3) runs helm"
ENGINES = [pytest.param("sdk", id="sdk"),
           pytest.param("cli", id="cli", marks=pytest.mark.skipif(shutil.which("helm") is None, reason=NO_HELM))]
LIGHT = {"backend": {"replicaCount": 1, "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}},
         "frontend": {"replicaCount": 1, "service": {"type": "ClusterIP"},
                      "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}}
PASSWORD = "S3cr3t-Planted-Value"
SHOWN = "./helm/todo-app" if Path.cwd().resolve() == CHART.parents[1] else str(CHART)
HELM_TOOLS = {"helm_list": "read", "helm_status": "read", "helm_history": "read", "helm_get_values": "read",
              "helm_install": "write", "helm_upgrade": "write", "helm_rollback": "write",
              "helm_uninstall": "destructive"}
_ids = itertools.count()


class Releases:
    """Releases a test installs (through the facade, or through a tool it then tracks);
    uninstalled and their namespaces deleted afterwards."""

    def __init__(self, cluster: Sandbox, kc: Kubectl) -> None:
        self.cluster, self.kc = cluster, kc
        self.engine = SdkEngine(KubeTarget(str(cluster.kubeconfig)))
        self.made: list[tuple[str, str]] = []

    def namespace(self) -> str:
        return f"kh-t{next(_ids)}"

    def track(self, release: str, namespace: str) -> tuple[str, str]:
        self.made.append((release, namespace))
        return release, namespace

    def install(self, release: str, namespace: str | None = None, values: dict[str, Any] | None = None) -> str:
        namespace = namespace or self.namespace()
        self.track(release, namespace)
        helm.install(self.cluster.kubeconfig, CHART, release, namespace, values=deep_merge(LIGHT, values or {}),
                     wait=True, timeout=120)
        return namespace

    def history(self, release: str, namespace: str) -> list[tuple[int, str]]:
        return [(h.revision, h.status) for h in self.engine.history_sync(release, namespace)]

    def close(self) -> None:
        for release, namespace in self.made:
            with contextlib.suppress(NotFound):
                self.engine.uninstall_sync(release, namespace, wait=True, timeout=60)
            self.kc.run("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)
        self.engine.close()


@pytest.fixture
def releases(cluster: Sandbox, kc: Kubectl) -> Iterator[Releases]:
    made = Releases(cluster, kc)
    yield made
    made.close()


@pytest.fixture(params=ENGINES)
def hctx(request: pytest.FixtureRequest, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> ToolContext:
    """The tool context on each engine."""
    monkeypatch.setenv("KAI_HELM_ENGINE", request.param)
    assert ctx.helm.name == request.param
    return ctx


def applied(change: Change) -> dict[str, Any]:
    """Apply a planned change; its result as a dict."""
    async def go() -> dict[str, Any]:
        return (await change.apply()).model_dump()

    return asyncio.run(go())


def untouched(kc: Kubectl, release: str, namespace: str) -> tuple[list[str], dict[str, int]]:
    """What a plan must not change: the release's stored revisions and its workloads' generations."""
    stored = kc("get", "secrets", "-n", namespace, "-l", f"owner=helm,name={release}", "-o", "name").split()
    deployments = kc.json("get", "deployments", "-n", namespace, "-l", f"app.kubernetes.io/instance={release}")
    return sorted(stored), {d["metadata"]["name"]: d["metadata"]["generation"] for d in deployments["items"]}


# --- the registry -------------------------------------------------------------------------------


def test_every_helm_tool_is_registered_with_its_risk_and_every_argument_described() -> None:
    for name, risk in HELM_TOOLS.items():
        item = REGISTRY.get(name)
        assert item.risk == risk
        assert set(item.input_model.model_fields) == set(item.args_doc), name
        assert all(len(text) > 15 for text in item.args_doc.values()), name
        assert item.schema()["parameters"]["additionalProperties"] is False


# --- reads --------------------------------------------------------------------------------------


def test_helm_list(hctx: ToolContext, todo: str, kc: Kubectl) -> None:
    here = read(hctx, "helm_list", namespace=todo)
    assert [(r.name, r.namespace, r.status, r.chart, r.app_version) for r in here.releases] == [
        ("todo-app", todo, "deployed", "todo-app-0.1.0", "v1.0")]
    stored = kc("get", "secrets", "-n", todo, "-l", "owner=helm,name=todo-app", "-o", "name").split()
    assert here.releases[0].revision == len(stored) and here.more is None
    everywhere = read(hctx, "helm_list")
    assert everywhere.namespace is None and ("todo-app", todo) in [(r.name, r.namespace) for r in everywhere.releases]
    assert read(hctx, "helm_list", namespace="kh-nothing-here").releases == []

    hctx.budget = 125  # no room for a single release
    cut = read(hctx, "helm_list")
    assert cut.releases == [] and cut.more == f"… {len(everywhere.releases)} more releases"
    with pytest.raises(InvalidInput, match="namespace"):
        read(hctx, "helm_list", namespace="Bad/NS")


def test_helm_status_and_history(hctx: ToolContext, todo: str, kc: Kubectl) -> None:
    status = read(hctx, "helm_status", release="todo-app", namespace=todo)
    assert (status.name, status.namespace, status.status, status.chart) == ("todo-app", todo, "deployed",
                                                                           "todo-app-0.1.0")
    live = kc("get", "deployments,services,configmaps", "-n", todo, "-l", "app.kubernetes.io/instance=todo-app",
              "-o", "name").split()
    kinds = {"deployment.apps": "Deployment", "service": "Service", "configmap": "ConfigMap"}
    assert {f"{kinds[w.split('/')[0]]}/{w.split('/')[1]}" for w in live} <= set(status.resources)
    assert "Secret/todo-app-secrets" in status.resources and status.updated and status.description

    history = read(hctx, "helm_history", release="todo-app", namespace=todo)
    assert (history.release, history.namespace) == ("todo-app", todo)
    assert history.revisions[-1].revision == status.revision and history.revisions[-1].status == "deployed"
    assert history.revisions[0].description == "Install complete"
    first = read(hctx, "helm_status", release="todo-app", namespace=todo, revision=1)
    assert first.revision == 1 and first.description == "Install complete"
    with pytest.raises(NotFound, match="has no revision 999"):
        read(hctx, "helm_status", release="todo-app", namespace=todo, revision=999)
    with pytest.raises(NotFound, match="no Helm release named 'nope' in namespace todo-app"):
        read(hctx, "helm_history", release="nope", namespace=todo)
    with pytest.raises(InvalidInput, match="max"):
        read(hctx, "helm_history", release="todo-app", namespace=todo, max=0)


def test_releases_are_found_by_name_or_part_of_it(ctx: ToolContext, releases: Releases) -> None:
    ns_a = releases.install("kh-twin")
    ns_b = releases.install("kh-twin")
    only = releases.install("kh-single-release")
    with pytest.raises(Ambiguous) as twins:
        read(ctx, "helm_status", release="kh-twin")
    assert sorted(twins.value.candidates) == sorted([f"{ns_a}/kh-twin", f"{ns_b}/kh-twin"])
    assert read(ctx, "helm_status", release="kh-twin", namespace=ns_b).namespace == ns_b
    found = read(ctx, "helm_status", release="kh-single")  # a part of the name, in the one namespace that has it
    assert (found.name, found.namespace) == ("kh-single-release", only)
    with pytest.raises(NotFound) as missing:
        read(ctx, "helm_history", release="kh-twim")
    assert f"{ns_a}/kh-twin" in missing.value.suggestions
    ctx.namespace = ns_a  # the context's namespace wins a tie
    assert read(ctx, "helm_status", release="kh-twin").namespace == ns_a


def test_helm_get_values_never_shows_a_secret(hctx: ToolContext, releases: Releases) -> None:
    ns = releases.install("kh-values", values={"secrets": {"values": {"DATABASE_URL": f"postgres://u:{PASSWORD}@db"}},
                                               "backend": {"env": {"API_TOKEN": PASSWORD, "LOG_LEVEL": "debug"}}})
    mine = read(hctx, "helm_get_values", release="kh-values", namespace=ns)
    assert mine.all_values is False and mine.revision == 1
    assert mine.values["backend"]["replicaCount"] == 1 and mine.values["backend"]["env"]["LOG_LEVEL"] == "debug"
    assert mine.values["secrets"]["values"]["DATABASE_URL"] == f"<redacted: {len('postgres://u:@db') + 20} bytes>"
    assert mine.values["backend"]["env"]["API_TOKEN"] == "<redacted: 20 bytes>"
    every = read(hctx, "helm_get_values", release="kh-values", namespace=ns, all_values=True)
    assert every.values["backend"]["image"] == {"repository": "todo-backend", "tag": "v1.0",
                                                "pullPolicy": "IfNotPresent"}
    assert every.values["config"]["environment"] == "production"  # what is not secret stays readable
    for result in (mine, every):
        assert PASSWORD not in render(result) and PASSWORD not in result.model_dump_json()

    hctx.budget = 400
    cut = read(hctx, "helm_get_values", release="kh-values", namespace=ns, all_values=True)
    assert count_tokens(render(cut)) <= 400 and cut.more and cut.more.startswith("… ")
    assert any(key.startswith("backend.") for key in cut.values) and PASSWORD not in render(cut)


# --- install ------------------------------------------------------------------------------------


def test_helm_install_plans_then_installs(hctx: ToolContext, releases: Releases, kc: Kubectl) -> None:
    rel, ns = releases.track("kh-new", releases.namespace())
    args = {"chart": str(CHART), "release": rel, "namespace": ns, "values": LIGHT, "create_namespace": True,
            "set": ["backend.replicaCount=2", "proxy.enabled=false", f"secrets.values.DATABASE_URL={PASSWORD}"]}
    change = plan(hctx, "helm_install", **args)
    assert change.command == (
        f"helm install {rel} {SHOWN} -n {ns} --create-namespace "
        """--set-json 'backend={"replicaCount":1,"resources":{"requests":{"cpu":"10m","memory":"32Mi"}}}' """
        """--set-json 'frontend={"replicaCount":1,"service":{"type":"ClusterIP"},"""
        """"resources":{"requests":{"cpu":"10m","memory":"32Mi"}}}' """
        "--set backend.replicaCount=2 --set proxy.enabled=false "
        "--set 'secrets.values.DATABASE_URL=<redacted: 20 bytes>' --wait --timeout 300s")
    assert change.summary == (f"install chart {change.chart} as Helm release {rel} in namespace {ns} "
                              "(creating the namespace): 6 objects")
    assert change.chart is not None and change.chart.endswith("helm/todo-app")
    assert change.images == ["todo-backend:v1.0", "todo-frontend:v1.0"] and change.replicas == 2
    assert change.before == "" and "kind: Deployment" in change.after and "DATABASE_URL: '<redacted" in change.after
    assert PASSWORD not in change.after + change.diff + change.command + change.summary
    assert (change.targets[0].kind, change.targets[0].name, change.targets[0].resource_version) == (
        "HelmRelease", rel, None)
    refs = {t.ref() for t in change.targets[1:]}
    assert refs >= {f"Deployment/todo-backend in {ns}", f"Service/todo-frontend in {ns}"}
    assert kc.run("get", "namespace", ns, check=False).returncode != 0  # planning created nothing
    with pytest.raises(NotFound):
        releases.engine.status_sync(rel, ns)

    assert applied(change) == {"release": rel, "namespace": ns, "revision": 1, "status": "deployed",
                               "chart": "todo-app-0.1.0", "app_version": "v1.0", "done": "installed", "objects": 6}
    backend = kc.json("get", "deployment", "todo-backend", "-n", ns)
    assert backend["spec"]["replicas"] == 2 and backend["status"]["readyReplicas"] == 2  # waited until ready
    values = releases.engine.get_values_sync(rel, ns)
    assert values["backend"]["replicaCount"] == 2 and values["proxy"]["enabled"] is False  # typed as Helm does
    assert values["frontend"]["service"]["type"] == "ClusterIP"
    assert kc.json("get", "secret", f"{rel}-todo-app-secrets", "-n", ns)["data"]["DATABASE_URL"]


def test_helm_install_refuses_bad_input_before_anything_is_sent(ctx: ToolContext, todo: str, kc: Kubectl) -> None:
    base = {"chart": str(CHART), "release": "kh-bad", "namespace": "kh-bad-input", "create_namespace": True}
    for bad in ({"release": "Bad_Name"}, {"release": "x" * 54}, {"chart": "./x; rm -rf /"}, {"namespace": "a/b"},
                {"set": ["novalue"]}, {"set": ["=3"]}, {"set": ["a=b\\"]}, {"timeout": 5}, {"wait": "maybe"},
                {"replicas": 3}):
        with pytest.raises(InvalidInput):
            plan(ctx, "helm_install", **{**base, **bad})
    with pytest.raises(NotFound, match=r"no chart at \./no/such/chart"):
        plan(ctx, "helm_install", **{**base, "chart": "./no/such/chart"})
    with pytest.raises(InvalidInput, match="neither a local chart path nor a reference"):
        plan(ctx, "helm_install", **{**base, "chart": "nosuchchart"})
    with pytest.raises(NotFound, match="namespace 'kh-bad-input' not found"):
        plan(ctx, "helm_install", **{**base, "create_namespace": False})
    with pytest.raises(Conflict, match="release todo-app already exists in namespace todo-app"):
        plan(ctx, "helm_install", **{**base, "release": "todo-app", "namespace": todo})
    assert kc.run("get", "namespace", "kh-bad-input", check=False).returncode != 0


def test_a_chart_that_does_not_render_fails_at_plan(hctx: ToolContext, releases: Releases, todo: str, kc: Kubectl,
                                                     tmp_path: Path) -> None:
    broken = tmp_path / "todo-app"
    shutil.copytree(CHART, broken)
    (broken / "templates" / "broken.yaml").write_text('{{ fail "broken on purpose" }}\n')
    ns = releases.namespace()
    with pytest.raises(HelmError, match="broken on purpose"):
        plan(hctx, "helm_install", chart=str(broken), release="kh-broken", namespace=ns, create_namespace=True)
    with pytest.raises(NotFound):
        releases.engine.status_sync("kh-broken", ns)
    assert kc.run("get", "namespace", ns, check=False).returncode != 0
    before = untouched(kc, "todo-app", todo)
    with pytest.raises(HelmError, match="broken on purpose"):
        plan(hctx, "helm_upgrade", release="todo-app", namespace=todo, chart=str(broken))
    with pytest.raises(HelmError, match=r"don't meet the specifications of the schema.*got string, want integer"):
        plan(hctx, "helm_upgrade", release="todo-app", namespace=todo, set=["backend.replicaCount=three"])
    assert untouched(kc, "todo-app", todo) == before


# --- upgrade and rollback -------------------------------------------------------------------------


def test_helm_upgrade_then_rollback(hctx: ToolContext, releases: Releases, kc: Kubectl) -> None:
    rel = "kh-up"
    ns = releases.install(rel)
    before = untouched(kc, rel, ns)
    change = plan(hctx, "helm_upgrade", release=rel, set=["backend.replicaCount=2"])  # namespace found, chart too
    assert change.command == (f"helm upgrade {rel} {SHOWN} -n {ns} --reuse-values --set backend.replicaCount=2 "
                              "--wait --timeout 300s")
    assert change.summary == (f"upgrade Helm release {rel} in namespace {ns} (revision 1, todo-app-0.1.0) with "
                              f"chart {change.chart}: objects: 1 changed, 0 added, 0 removed")
    assert "-  replicas: 1\n+  replicas: 2\n" in change.diff and change.diff.count("\n+ ") == 1
    assert change.replicas == 2 and change.images == ["todo-backend:v1.0", "todo-frontend:v1.0"]
    assert (change.targets[0].kind, change.targets[0].resource_version) == ("HelmRelease", "1")
    assert untouched(kc, rel, ns) == before and releases.history(rel, ns) == [(1, "deployed")]

    reset = plan(hctx, "helm_upgrade", release=rel, namespace=ns, reuse_values=False)
    assert "--reset-values" in reset.command and "type: NodePort" in reset.after  # back to the chart's defaults
    assert reset.replicas == 2  # the defaults' 2 replicas on both workloads

    result = applied(change)
    assert (result["revision"], result["status"], result["done"]) == (2, "deployed", "upgraded from revision 1")
    assert kc.json("get", "deployment", "todo-backend", "-n", ns)["spec"]["replicas"] == 2
    assert releases.history(rel, ns) == [(1, "superseded"), (2, "deployed")]
    values = releases.engine.get_values_sync(rel, ns)
    assert values["backend"]["replicaCount"] == 2 and values["frontend"]["service"]["type"] == "ClusterIP"

    back = plan(hctx, "helm_rollback", release=rel, namespace=ns)  # the previous revision
    assert back.command == f"helm rollback {rel} 1 -n {ns} --wait --timeout 300s"
    assert back.summary.startswith(f"roll Helm release {rel} in namespace {ns} back from revision 2 (deployed) "
                                   "to revision 1 (todo-app-0.1.0)")
    assert "-  replicas: 2\n+  replicas: 1\n" in back.diff and back.replicas == 1 and back.chart is None
    assert releases.history(rel, ns) == [(1, "superseded"), (2, "deployed")]
    with pytest.raises(NotFound, match="has no revision 7") as missing:
        plan(hctx, "helm_rollback", release=rel, namespace=ns, revision=7)
    assert missing.value.suggestions == ["1", "2"]
    with pytest.raises(InvalidInput, match="revision 2 is the current revision"):
        plan(hctx, "helm_rollback", release=rel, namespace=ns, revision=2)

    done = write(hctx, "helm_rollback", release=rel, namespace=ns, revision=1)[1].model_dump()
    assert (done["revision"], done["status"], done["done"]) == (3, "deployed", "rolled back to revision 1")
    assert releases.history(rel, ns) == [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    assert kc.json("get", "deployment", "todo-backend", "-n", ns)["spec"]["replicas"] == 1
    history = read(hctx, "helm_history", release=rel, namespace=ns)
    assert [r.description for r in history.revisions] == ["Install complete", "Upgrade complete", "Rollback to 1"]
    hctx.budget = 200
    newest = read(hctx, "helm_history", release=rel, namespace=ns)
    assert 1 <= len(newest.revisions) < 3 and newest.revisions[-1].revision == 3
    assert newest.more == f"… {3 - len(newest.revisions)} more revisions, older than these"


def test_a_plan_on_the_shared_release_changes_nothing(hctx: ToolContext, todo: str, kc: Kubectl) -> None:
    before = untouched(kc, "todo-app", todo)
    revision = read(hctx, "helm_status", release="todo-app", namespace=todo).revision
    upgrade = plan(hctx, "helm_upgrade", release="todo-app", namespace=todo, values={"backend": {"replicaCount": 5}})
    assert "+  replicas: 5" in upgrade.diff and upgrade.replicas == 5
    assert "'backend={\"replicaCount\":5}'" in upgrade.command
    assert upgrade.targets[0].resource_version == str(revision)
    uninstall = plan(hctx, "helm_uninstall", release="todo-app", namespace=todo)
    assert uninstall.after == "" and "name: todo-backend" in uninstall.before
    assert revision == 1  # nobody changes the shared release
    with pytest.raises(InvalidInput, match="only revision 1: nothing to roll back to"):
        plan(hctx, "helm_rollback", release="todo-app", namespace=todo)
    assert untouched(kc, "todo-app", todo) == before
    assert read(hctx, "helm_status", release="todo-app", namespace=todo).revision == revision


def test_helm_upgrade_needs_a_chart_when_none_is_found_locally(
        ctx: ToolContext, releases: Releases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "charts" / "todo-app"
    shutil.copytree(CHART, other)
    text = (other / "Chart.yaml").read_text()
    (other / "Chart.yaml").write_text(text.replace("version: 0.1.0", "version: 0.2.0"))
    rel = "kh-elsewhere"
    ns = releases.namespace()
    monkeypatch.setenv("KAI_CHARTS", str(tmp_path / "charts"))
    releases.track(rel, ns)
    installed = write(ctx, "helm_install", chart=str(other), release=rel, namespace=ns, create_namespace=True,
                      values=LIGHT, wait=False)[1].model_dump()
    assert installed["chart"] == "todo-app-0.2.0"
    found = plan(ctx, "helm_upgrade", release=rel, namespace=ns, set=["backend.replicaCount=2"])
    assert found.chart == str(other.resolve())
    assert found.command.startswith(f"helm upgrade {rel} {other.resolve()} -n {ns} --reuse-values")
    monkeypatch.delenv("KAI_CHARTS")
    with pytest.raises(InvalidInput, match=r"runs chart todo-app-0\.2\.0 and no local chart"):
        plan(ctx, "helm_upgrade", release=rel, namespace=ns, set=["backend.replicaCount=2"])


# --- uninstall ----------------------------------------------------------------------------------


def test_helm_uninstall(hctx: ToolContext, releases: Releases, kc: Kubectl) -> None:
    rel = "kh-gone"
    ns = releases.install(rel, values={"secrets": {"values": {"DATABASE_URL": PASSWORD}}})
    before = untouched(kc, rel, ns)
    change = plan(hctx, "helm_uninstall", release=rel, namespace=ns)
    assert change.command == f"helm uninstall {rel} -n {ns} --wait --timeout 300s"
    assert change.summary == (f"uninstall Helm release {rel} in namespace {ns} (revision 1, todo-app-0.1.0): "
                              "deletes 6 objects and the release's history")
    assert change.after == "" and "kind: Deployment" in change.before and PASSWORD not in change.before
    assert change.diff.count("\n-kind: ") == 6 and change.images == [] and change.replicas is None
    assert untouched(kc, rel, ns) == before and releases.engine.status_sync(rel, ns).status == "deployed"

    assert applied(change) == {"release": rel, "namespace": ns, "revision": 1, "status": "uninstalled", "removed": 6}
    with pytest.raises(NotFound):
        releases.engine.status_sync(rel, ns)
    left = kc("get", "deployments,services,configmaps,secrets", "-n", ns, "-l", f"app.kubernetes.io/instance={rel}",
              "-o", "name")
    assert left.strip() == ""
    with pytest.raises(NotFound):
        plan(hctx, "helm_uninstall", release=rel, namespace=ns)


# --- the pieces, without a cluster --------------------------------------------------------------


def test_set_overrides_are_parsed_as_helm_does() -> None:
    assert parse_sets(["a.b=3", "c=true", "d=x", "e=null", "f=1.5", "g={1,2}", "h\\.i=j", "k=a\\,b"]) == {
        "a": {"b": 3}, "c": True, "d": "x", "e": None, "f": "1.5", "g": [1, 2], "h.i": "j", "k": "a,b"}
    assert parse_sets(["a=1", "a=2"]) == {"a": 2}  # the later one wins
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, parse_sets(["a.c=3", "d={4}"])) == {
        "a": {"b": 1, "c": 3}, "d": [4]}
