"""kai's own chart (helm/kai). Its RBAC is rendered from ONE list, helm/kai/rbac-needs.yaml, of
what kai's tools send to the API server by risk class; here that list is checked both ways
against what the sandbox received (its audit log) when every tool ran, so it is neither short
of nor beyond what the tools do. Then: the rendered RBAC grants nothing else (no wildcard,
Secrets only as Helm needs them, cluster-wide only reads and only when asked), the chart lints
and renders objects the API server accepts, installs into the sandbox with the Helm SDK, and
its ServiceAccount may do what kai does in its target namespace and is Forbidden elsewhere."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_python import Chart, Config, lint
from helm_python.errors import HelmError, HelmRenderError, HelmValuesError

from sandbox.control import Sandbox
from sandbox.validation import validate
from tests.conftest import Kubectl, install_todo, wait_for
from tests.tools.received import Received
from tools import policy as policies
from tools.audit import AuditStore
from tools.catalog import REGISTRY
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.executor import ApprovalAnswer, ApprovalRequest, Executor, Outcome
from tools.guard import Caller

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "kai"
NEEDS_FILE = CHART / "rbac-needs.yaml"
RELEASE = "kai"
NS = "kai"
CLASSES = ("read", "write", "destructive")
READ_VERBS = frozenset({"get", "list", "watch"})
# Secrets hold Helm's release records (type helm.sh/release.v1, one per revision, label owner=helm):
# get and list read them, create stores a new revision, update marks the previous one superseded
# (or the release uninstalling), delete removes them on uninstall; patch applies a chart's own
# Secret (server-side apply) and watch follows it while Helm waits. resourceNames cannot narrow
# this: record names change with every revision and a list is never narrowed by name.
HELM_SECRET_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})

Doc = dict[str, Any]
Triple = tuple[str, str, str]  # (API group, resource[/subresource], verb)


# --- rbac-needs.yaml ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    group: str
    resource: str
    verbs: tuple[str, ...]
    tools: tuple[str, ...]


Needs = dict[str, dict[str, list[Entry]]]  # section (namespaced, cluster, everyone) -> class -> entries


def load_needs(text: str | None = None) -> Needs:
    doc = yaml.safe_load(NEEDS_FILE.read_text() if text is None else text)
    return {section: {cls: [Entry(e["group"], e["resource"], tuple(e["verbs"]), tuple(e["tools"]))
                            for e in entries or []]
                      for cls, entries in classes.items()}
            for section, classes in doc.items()}


def triples(entries: list[Entry]) -> set[Triple]:
    return {(e.group, e.resource, verb) for e in entries for verb in e.verbs}


def granted_needs(needs: Needs, grants: tuple[str, ...]) -> set[Triple]:
    return set().union(*(triples(needs["namespaced"][cls]) for cls in grants))


def cluster_read_needs(needs: Needs) -> set[Triple]:
    """What clusterRead grants: the read tools' namespaced needs in every namespace (Secrets
    excepted) and the cluster-scoped kinds they read."""
    return {t for t in triples(needs["namespaced"]["read"]) if t[1] != "secrets"} | triples(needs["cluster"]["read"])


# --- rendering ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chart() -> Iterator[Chart]:
    with Chart.load(CHART) as loaded:
        yield loaded


def render(chart: Chart, values: Doc | None = None, *, namespace: str = NS) -> list[Doc]:
    manifests = chart.render(values, name=RELEASE, namespace=namespace, is_install=True)
    return [doc for path, text in sorted(manifests.items()) if not path.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(text) if doc]


def objects(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[Doc], kind: str) -> Doc:
    found = objects(docs, kind)
    assert len(found) == 1, (kind, len(found))
    return found[0]


def rule_triples(rules: list[Doc]) -> set[Triple]:
    """The (group, resource, verb) a Role's rules grant; wildcards, names and URLs are refused."""
    out: set[Triple] = set()
    for rule in rules:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no resourceNames, no nonResourceURLs
        for field in ("apiGroups", "resources", "verbs"):
            assert all("*" not in value for value in rule[field]), rule
        out |= set(itertools.product(rule["apiGroups"], rule["resources"], rule["verbs"]))
    return out


def pod_spec(docs: list[Doc]) -> Doc:
    spec: Doc = one(docs, "Deployment")["spec"]["template"]["spec"]
    return spec


VALUE_SETS: dict[str, Doc] = {
    "defaults": {},
    "cluster-read": {"clusterRead": {"enabled": True}},
    "two-targets": {"targetNamespace": ["todo-app", "staging"]},
    "grant-read": {"rbac": {"grant": "read"}},
    "read-only-policy": {"policy": {"mode": "read-only"}},
    "existing-secret": {"secrets": {"existingSecret": "kai-credentials"}},
    "everything": {
        "replicaCount": 2, "targetNamespace": ["todo-app"], "clusterRead": {"enabled": True},
        "image": {"repository": "registry.example.com/kai", "tag": "0.2.0"},
        "secrets": {"values": {"KAI_DATABASE_URL": "postgresql://kai:pw@db/kai", "GEMINI_API_KEY": "k"}},
        "config": {"llmProvider": "gemini", "model": "gemini-2.5-flash", "extraEnv": {"KAI_WORKERS": 8}},
        "state": {"existingClaim": "kai-state"}, "serviceAccount": {"name": "kai-bot"},
        "policy": {"bindings": {"admin": ["slack:T1/U1"]}}, "service": {"type": "NodePort", "port": 8080},
    },
}


@pytest.mark.parametrize("values", [None, VALUE_SETS["everything"]], ids=["defaults", "everything"])
def test_lint_passes(values: Doc | None) -> None:
    report = lint(str(CHART), values, strict=True, namespace=NS)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("values", list(VALUE_SETS.values()), ids=list(VALUE_SETS))
def test_every_object_passes_sandbox_validation(chart: Chart, values: Doc) -> None:
    for doc in render(chart, values):
        assert validate(copy.deepcopy(doc), field_validation="Strict") == [], doc["kind"]
        if doc["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"]["namespace"]


# --- RBAC: exactly the needs of the granted classes, nothing else ------------------------------


@pytest.mark.parametrize(("values", "grants"), [
    ({}, CLASSES),
    ({"rbac": {"grant": "read"}}, ("read",)),
    ({"rbac": {"grant": "write"}}, ("read", "write")),
    ({"policy": {"mode": "read-only"}}, ("read",)),  # kai never writes then, whatever rbac.grant says
    ({"policy": {"mode": "auto"}, "rbac": {"grant": "write"}}, ("read", "write")),
], ids=["defaults", "read", "write", "read-only-policy", "auto-policy"])
def test_roles_grant_exactly_the_needs_of_the_granted_classes(chart: Chart, values: Doc,
                                                               grants: tuple[str, ...]) -> None:
    needs = load_needs()
    docs = render(chart, {**values, "targetNamespace": ["todo-app", "staging"]})
    roles = {role["metadata"]["namespace"]: role for role in objects(docs, "Role")}
    assert sorted(roles) == ["staging", "todo-app"]
    for namespace, role in roles.items():
        assert rule_triples(role["rules"]) == granted_needs(needs, grants), namespace
        binding = next(b for b in objects(docs, "RoleBinding") if b["metadata"]["namespace"] == namespace)
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": role["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kai", "namespace": NS}]
    assert not objects(docs, "ClusterRole") and not objects(docs, "ClusterRoleBinding")


def test_secrets_only_as_helm_needs_them(chart: Chart) -> None:
    docs = render(chart, {"clusterRead": {"enabled": True}})
    verbs = {verb for _, resource, verb in rule_triples(one(docs, "Role")["rules"]) if resource == "secrets"}
    assert verbs and verbs <= HELM_SECRET_VERBS  # never deletecollection, never cluster-wide
    assert all(resource != "secrets" for _, resource, _ in rule_triples(one(docs, "ClusterRole")["rules"]))


def test_cluster_read_is_read_only_and_off_by_default(chart: Chart) -> None:
    assert not objects(render(chart), "ClusterRole")
    docs = render(chart, {"clusterRead": {"enabled": True}})
    granted = rule_triples(one(docs, "ClusterRole")["rules"])
    assert {verb for *_, verb in granted} <= READ_VERBS
    assert granted == cluster_read_needs(load_needs())
    assert ("", "nodes", "list") in granted and ("", "namespaces", "list") in granted
    binding = one(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == one(docs, "ClusterRole")["metadata"]["name"] == "kai-kai-read"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kai", "namespace": NS}]


def test_rbac_off_renders_none(chart: Chart) -> None:
    docs = render(chart, {"rbac": {"create": False}, "clusterRead": {"enabled": True}})
    assert not {d["kind"] for d in docs} & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


# --- the pod, its Secret and its policy ---------------------------------------------------------


def test_pod_runs_kai_serve_non_root_read_only_with_probes(chart: Chart) -> None:
    docs = render(chart)
    spec = pod_spec(docs)
    assert spec["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"] == "kai"
    assert spec["terminationGracePeriodSeconds"] == 45  # uvicorn's 20 s, then 15 for running requests
    assert spec["automountServiceAccountToken"] is True  # kai's in-cluster credentials
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 10001
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = spec["containers"]
    assert container["image"] == "kai:0.1.0"
    assert [*container["command"], *container["args"]] == ["kai", "serve", "--host", "0.0.0.0", "--port", "8080"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["KAI_NAMESPACE"] == "todo-app"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    # every path kai writes is a volume: the root filesystem is read-only
    assert volumes[mounts[env["KAI_STATE_DIR"]]] == {"name": "state", "emptyDir": {}}
    assert volumes[mounts["/tmp"]] == {"name": "tmp", "emptyDir": {}} and env["HOME"] == "/tmp"
    policy_dir = str(Path(env["KAI_POLICY"]).parent)
    assert volumes[mounts[policy_dir]]["configMap"]["name"] == one(docs, "ConfigMap")["metadata"]["name"]
    assert container["envFrom"] == [{"secretRef": {"name": one(docs, "Secret")["metadata"]["name"]}}]
    service = one(docs, "Service")["spec"]
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["selector"].items() <= one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"].items()


def test_everything_overridden(chart: Chart) -> None:
    docs = render(chart, VALUE_SETS["everything"])
    spec = pod_spec(docs)
    [container] = spec["containers"]
    assert container["image"] == "registry.example.com/kai:0.2.0"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert (env["KAI_LLM_PROVIDER"], env["KAI_MODEL"], env["KAI_WORKERS"]) == ("gemini", "gemini-2.5-flash", "8")
    assert {v["name"]: v for v in spec["volumes"]}["state"]["persistentVolumeClaim"] == {"claimName": "kai-state"}
    assert spec["serviceAccountName"] == "kai-bot"
    assert {b["subjects"][0]["name"] for b in objects(docs, "RoleBinding") + objects(docs, "ClusterRoleBinding")} \
        == {"kai-bot"}
    assert one(docs, "Deployment")["spec"]["replicas"] == 2


def test_secret_holds_only_the_values_given(chart: Chart) -> None:
    defaults = one(render(chart), "Secret")
    assert defaults["data"] == {}
    given = one(render(chart, {"secrets": {"values": {"KAI_SLACK_SIGNING_SECRET": "s3cret"}}}), "Secret")
    assert {k: base64.b64decode(v).decode() for k, v in given["data"].items()} == {"KAI_SLACK_SIGNING_SECRET": "s3cret"}


def test_existing_secret_is_read_instead(chart: Chart) -> None:
    docs = render(chart, {"secrets": {"existingSecret": "kai-credentials"}})
    assert not objects(docs, "Secret")
    assert pod_spec(docs)["containers"][0]["envFrom"] == [{"secretRef": {"name": "kai-credentials"}}]


def test_policy_configmap(chart: Chart) -> None:
    shipped = one(render(chart), "ConfigMap")["data"]["policy.yaml"]
    assert shipped == policies.default_text()  # files/policy.yaml is tools/data/policy.yaml
    assert policies.parse(shipped) == policies.load(None)
    override = one(render(chart, {"policy": {"mode": "auto", "bindings": {"operator": ["slack:T1/*"]}}}), "ConfigMap")
    policy = policies.parse(override["data"]["policy.yaml"])  # read over the default, as kai serve reads it
    assert policy.mode == "auto" and policy.roles_of("slack:T1/U9") == ["operator"]
    assert policy.bounds == policies.load(None).bounds


def test_replicas_need_a_shared_database(chart: Chart) -> None:
    with pytest.raises(HelmRenderError, match="replicaCount above 1 needs a database the replicas share"):
        render(chart, {"replicaCount": 2})
    shared = one(render(chart, {"replicaCount": 2, "secrets": {"existingSecret": "creds"}}), "Deployment")
    assert shared["spec"]["strategy"]["type"] == "RollingUpdate"
    # state in the pod's own volume: the old pod goes before the new one comes
    assert one(render(chart), "Deployment")["spec"]["strategy"]["type"] == "Recreate"


def notes(chart: Chart, values: Doc | None = None) -> str:
    return chart.render(values, name=RELEASE, namespace=NS, is_install=True)[f"{RELEASE}/templates/NOTES.txt"]


def test_notes_say_what_kai_may_do_and_what_is_missing(chart: Chart) -> None:
    text = notes(chart)
    assert "read, write, destructive in: todo-app" in text
    assert "kubectl auth can-i --list -n todo-app --as system:serviceaccount:kai:kai" in text
    assert "WARNING: no value for KAI_SLACK_SIGNING_SECRET, KAI_API_TOKENS" in text
    text = notes(chart, {"policy": {"mode": "read-only"}, "clusterRead": {"enabled": True},
                         "secrets": {"existingSecret": "creds"}})
    assert "read in: todo-app" in text and "read (no Secrets) in every namespace" in text
    assert "WARNING" not in text and 'existing secret "creds"' in text


INVALID: dict[str, tuple[Doc, str]] = {
    "replicas-string": ({"replicaCount": "x"}, "at '/replicaCount': got string, want integer"),
    "target-bad-name": ({"targetNamespace": "Todo_App"}, "at '/targetNamespace'"),
    "target-empty-list": ({"targetNamespace": []}, "at '/targetNamespace'"),
    "grant-unknown": ({"rbac": {"grant": "admin"}}, "at '/rbac/grant'"),
    "cluster-read-string": ({"clusterRead": {"enabled": "yes"}}, "at '/clusterRead/enabled': got string, want boolean"),
    "secret-name": ({"secrets": {"existingSecret": "Not_A_Name"}}, "at '/secrets/existingSecret'"),
    "secret-unknown-key": ({"secrets": {"values": {"AWS_KEY": "x"}}}, "additional properties 'AWS_KEY' not allowed"),
    "policy-mode": ({"policy": {"mode": "yolo"}}, "at '/policy/mode'"),
    "probe-path": ({"readinessProbe": {"path": "readyz"}}, "at '/readinessProbe/path'"),
    "pull-policy": ({"image": {"pullPolicy": "Sometimes"}}, "at '/image/pullPolicy'"),
    "run-as-root": ({"podSecurityContext": {"runAsUser": 0}}, "at '/podSecurityContext/runAsUser'"),
    "writable-root": ({"securityContext": {"readOnlyRootFilesystem": False}},
                      "at '/securityContext/readOnlyRootFilesystem'"),
    "typo": ({"replicas": 2}, "additional properties 'replicas' not allowed"),
}


@pytest.mark.parametrize(("values", "message"), list(INVALID.values()), ids=list(INVALID))
def test_schema_rejects_bad_values(chart: Chart, values: Doc, message: str) -> None:
    with pytest.raises(HelmValuesError) as rendered:
        render(chart, values)
    assert "values don't meet the specifications of the schema" in str(rendered.value)
    assert message in str(rendered.value)


def test_dockerfile_matches_the_chart(chart: Chart) -> None:
    """The image is not built here (no container engine): its Dockerfile at least agrees with the
    chart on the user, the port and the command."""
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2  # multi-stage: no compiler in the image
    assert re.findall(r"^USER (\S+)", text, re.M)[-1] == f"{chart.values['podSecurityContext']['runAsUser']}"
    assert f"EXPOSE {chart.values['server']['port']}" in text
    assert 'ENTRYPOINT ["kai"]' in text


# --- the needs, measured: every tool run on the sandbox as a user that may do anything ----------

PROBE = "kai-rbac-probe"
# Cluster-scoped writes: the chart grants none, so kai run by it cannot cordon, drain or create or
# delete namespaces (the guard's policy may allow them; the API server refuses).
NEVER_GRANTED = frozenset({"cordon", "uncordon", "drain", "create_namespace", "delete_namespace"})
Step = tuple[str, dict[str, Any]] | Callable[[], None]


def scenario(ns: str, kc: Kubectl) -> list[Step]:
    """Each tool once or more, as the agent would call it in namespace ``ns`` (the todo stack,
    release todo-app), then the read tools that look beyond a namespace (clusterRead)."""
    pod = kc("get", "pods", "-n", ns, "-l", "app=todo-backend", "-o", "jsonpath={.items[0].metadata.name}")
    node = kc("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n"

    def two_backend_revisions() -> None:
        wait_for(lambda: len(kc("get", "rs", "-n", ns, "-l", "app=todo-backend", "-o", "name").split()) >= 2)

    victim = {"kind": "pod", "name": pod, "namespace": ns}

    def pick_victim() -> None:
        """The pod read at the start may be gone by now (the rollouts above replace pods, sooner on a
        busy machine, whose steps take longer while the simulated cluster keeps its pace): one alive now."""
        alive = [p["metadata"]["name"] for p in kc.json("get", "pods", "-n", ns, "-l", "app=todo-backend")["items"]
                 if not p["metadata"].get("deletionTimestamp")]
        assert alive, f"no backend pod left in {ns}"
        victim["name"] = alive[0]

    return [
        ("get_resource", {"kind": "deploy", "name": "backend", "namespace": ns}),
        ("get_resource", {"kind": "secret", "name": "todo-app-secrets", "namespace": ns, "output": "yaml"}),
        ("describe_resource", {"kind": "pod", "name": pod, "namespace": ns}),
        ("list_resources", {"kind": "pods", "namespace": ns}),
        ("get_events", {"namespace": ns}),
        ("get_logs", {"name": "backend", "namespace": ns}),
        ("check_health", {"release": "todo-app", "namespace": ns}),
        ("diagnose", {"namespace": ns}),
        ("rollout_status", {"name": "backend", "namespace": ns}),
        ("rollout_history", {"name": "backend", "namespace": ns}),
        ("helm_list", {"namespace": ns}),
        ("helm_status", {"release": "todo-app", "namespace": ns}),
        ("helm_history", {"release": "todo-app", "namespace": ns}),
        ("helm_get_values", {"release": "todo-app", "namespace": ns}),
        ("can_i", {"verb": "get", "resource": "pods", "namespace": ns}),
        ("scale", {"name": "backend", "replicas": "3", "namespace": ns}),
        ("set_image", {"name": "backend", "image": "v1.1", "namespace": ns}),
        ("set_env", {"name": "backend", "env": {"LOG_LEVEL": "debug"}, "namespace": ns}),
        ("set_resources", {"name": "backend", "cpu_request": "20m", "namespace": ns}),
        ("rollout_restart", {"name": "frontend", "namespace": ns}),
        two_backend_revisions,
        ("rollout_undo", {"name": "backend", "namespace": ns}),
        ("autoscale", {"name": "frontend", "max": 4, "namespace": ns}),
        ("autoscale", {"name": "frontend", "max": 5, "namespace": ns}),  # updates it
        ("get_resource", {"kind": "hpa", "name": "todo-frontend", "namespace": ns}),
        ("describe_resource", {"kind": "service", "name": "todo-backend", "namespace": ns}),
        ("apply_manifest", {"manifest": config_map, "namespace": ns}),
        # an upgrade that adds objects and the rollback that removes them: Helm deletes in a write
        ("helm_upgrade", {"release": "todo-app", "namespace": ns, "values": {"proxy": {"enabled": True}},
                          "wait": False}),
        ("helm_rollback", {"release": "todo-app", "namespace": ns, "timeout": 60}),
        ("delete_resource", {"kind": "configmap", "name": "extra", "namespace": ns}),
        ("delete_resource", {"kind": "hpa", "name": "todo-frontend", "namespace": ns}),
        pick_victim,
        ("delete_resource", victim),
        ("delete_resource", {"kind": "deployment", "name": "frontend", "namespace": ns}),
        ("helm_uninstall", {"release": "todo-app", "namespace": ns, "timeout": 60}),
        ("helm_install", {"chart": str(ROOT / "helm" / "todo-app"), "release": "todo-app", "namespace": ns,
                          "values": {"frontend": {"service": {"type": "ClusterIP"}}}, "wait": False}),
        ("list_namespaces", {}),
        ("list_resources", {"kind": "nodes"}),
        ("describe_resource", {"kind": "node", "name": node}),
        ("get_events", {"all_namespaces": True}),
        ("list_resources", {"kind": "deploy", "all_namespaces": True}),
        ("helm_list", {}),
    ]


async def run_tool(ctx: ToolContext, name: str, arguments: dict[str, Any]) -> None:
    """Run a tool as the executor does once a call is allowed (and approved, for a write)."""
    item = REGISTRY.get(name)
    args = item.validate(arguments)
    if item.writes:
        change = await item.plan(ctx, args)
        await change.apply()
    else:
        await item.run(ctx, args)


def request_of(event: Doc) -> tuple[str, Triple]:
    """(namespace or "", (group, resource[/subresource], verb)) of one audit event. A namespace's
    own object is read in that namespace, as kube-apiserver attributes GET /api/v1/namespaces/NAME
    (a Role there grants it); the sandbox attributes it to the cluster scope."""
    ref = event["objectRef"]
    resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
    namespace = ref.get("namespace", "")
    if ref["resource"] == "namespaces" and ref.get("name") and event["verb"] == "get":
        namespace = ref["name"]
    return namespace, (ref.get("apiGroup", ""), resource, event["verb"])


def measure(ctx: ToolContext, received: Received, steps: list[Step], ns: str) -> dict[str, dict[Triple, set[str]]]:
    """Run ``steps``; what each risk class sent in ``ns`` ("read", "write", "destructive") and
    beyond any namespace ("cluster"), each request with the tools that sent it."""
    sent: dict[str, dict[Triple, set[str]]] = {key: {} for key in (*CLASSES, "cluster")}
    for step in steps:
        if callable(step):
            step()
            continue
        name, arguments = step
        received.mark()
        try:
            asyncio.run(run_tool(ctx, name, arguments))
        except Exception as exc:
            raise AssertionError(f"{name} {arguments} failed: {exc}") from exc
        for event in received.since():
            if event.get("user", {}).get("username") != PROBE or "objectRef" not in event:
                continue
            assert event["responseStatus"]["code"] != 403, event
            namespace, request = request_of(event)
            key = REGISTRY.get(name).risk if namespace == ns else "cluster" if not namespace else ""
            assert key, f"{name} sent {request} in namespace {namespace}"
            sent[key].setdefault(request, set()).add(name)
    return sent


def entries_of(sent: dict[Triple, set[str]], keep: set[Triple]) -> list[Entry]:
    """The requests of ``sent`` in ``keep``, one entry per resource with its verbs and tools."""
    by_resource: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for (group, resource, verb), tools in sent.items():
        if (group, resource, verb) in keep:
            verbs, names = by_resource.setdefault((group, resource), (set(), set()))
            verbs.add(verb)
            names |= tools
    return [Entry(group, resource, tuple(sorted(verbs)), tuple(sorted(names)))
            for (group, resource), (verbs, names) in sorted(by_resource.items())]


def needs_from(sent: dict[str, dict[Triple, set[str]]], namespaced_kinds: set[tuple[str, str]]) -> Needs:
    """rbac-needs.yaml as the requests say it should be: each class's needs beyond the lower
    classes'; beyond a namespace, the cluster-scoped kinds (namespaced kinds read in every
    namespace are what clusterRead grants of the read needs) and what every authenticated user
    may do anyway (access reviews: Kubernetes' system:basic-user role)."""
    read = set(sent["read"])
    write = set(sent["write"]) - read
    destructive = set(sent["destructive"]) - read - write
    everyone = {t for t in sent["cluster"] if t[0] == "authorization.k8s.io"}
    cluster = {t for t in sent["cluster"] if (t[0], t[1]) not in namespaced_kinds} - everyone
    return {"namespaced": {"read": entries_of(sent["read"], read), "write": entries_of(sent["write"], write),
                           "destructive": entries_of(sent["destructive"], destructive)},
            "cluster": {"read": entries_of(sent["cluster"], cluster)},
            "everyone": {"read": entries_of(sent["cluster"], everyone)}}


def dump_needs(needs: Needs) -> str:
    lines = []
    for section, classes in needs.items():
        lines.append(f"{section}:")
        for cls, entries in classes.items():
            lines.append(f"  {cls}:")
            lines += [f'    - {{group: "{e.group}", resource: {e.resource}, verbs: [{", ".join(e.verbs)}], '
                      f'tools: [{", ".join(e.tools)}]}}' for e in entries]
    return "\n".join(lines)


def test_needs_file_is_what_the_tools_send(cluster: Sandbox, kc: Kubectl, fresh_todo: str) -> None:
    steps = scenario(fresh_todo, kc)
    assert {step[0] for step in steps if not callable(step)} | NEVER_GRANTED == set(REGISTRY.names()), \
        "a new tool: add it to the scenario"
    kc("create", "clusterrolebinding", PROBE, "--clusterrole=cluster-admin", f"--user={PROBE}")
    ctx = ToolContext(Cluster(kubeconfig=cluster.kubeconfig, impersonate=PROBE))
    try:
        sent = measure(ctx, Received(cluster.state), steps, fresh_todo)
        namespaced_kinds = {(r.group, r.plural) for r in asyncio.run(ctx.cluster.resources()) if r.namespaced}
    finally:
        ctx.cluster.close()
        kc("delete", "clusterrolebinding", PROBE)
    measured = needs_from(sent, namespaced_kinds)
    assert measured == load_needs(), f"rbac-needs.yaml should hold:\n{dump_needs(measured)}"
    # namespaced kinds read in every namespace: what clusterRead grants, but Secrets (helm_list of
    # every namespace), left out on purpose: Helm releases beyond the target namespaces stay unseen
    everywhere = {t for t in sent["cluster"] if (t[0], t[1]) in namespaced_kinds}
    assert everywhere - cluster_read_needs(measured) == {("", "secrets", "list")}


# --- installed into the sandbox, proven as kai's ServiceAccount -------------------------------

TARGET = "kai-chart-target"
OPERATOR = Caller("api:ops", session="chart")
# No replicas: the image is not built here, and pods failing to pull it would put warnings in the
# cluster the other suites share.
INSTALL_VALUES: Doc = {"replicaCount": 0, "targetNamespace": TARGET,
                       "policy": {"bindings": {"operator": ["api:ops"]}},
                       "secrets": {"values": {"KAI_API_TOKENS": "ops=0123456789abcdef0123"}}}
SERVICE_ACCOUNT = f"system:serviceaccount:{NS}:kai"


@pytest.fixture(scope="module")
def installed(cluster: Sandbox, kc: Kubectl) -> Iterator[Config]:
    """The chart installed as release kai in namespace kai, operating the todo stack in TARGET."""
    install_todo(cluster, TARGET)
    helm = Config(kubeconfig_path=str(cluster.kubeconfig), namespace=NS)
    try:
        release = helm.install(str(CHART), RELEASE, INSTALL_VALUES, namespace=NS, create_namespace=True, timeout=60)
        assert (release["revision"], release["status"]) == (1, "deployed")
        yield helm
    finally:
        with contextlib.suppress(HelmError):
            helm.uninstall(RELEASE, timeout=60)
        helm.close()
        kc("delete", "namespace", NS, TARGET, "--wait=false")


def test_install_creates_every_object(installed: Config, kc: Kubectl) -> None:
    names = ["deployment.apps/kai", "serviceaccount/kai", "service/kai", "configmap/kai-policy", "secret/kai"]
    for name in names:
        assert kc("get", name, "-n", NS, "-o", "name").strip() == name
    for kind in ("role", "rolebinding"):
        assert kc("get", kind, "kai", "-n", TARGET, "-o", "name").strip() == f"{kind}.rbac.authorization.k8s.io/kai"
    assert kc("get", "role", "-n", NS, "-o", "name").strip() == ""  # nothing in its own namespace
    assert kc("get", "clusterrole", "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "name").strip() == ""
    stored_rules = kc.json("get", "role", "kai", "-n", TARGET)["rules"]
    assert rule_triples(stored_rules) == granted_needs(load_needs(), CLASSES)
    deployment = kc.json("get", "deployment", "kai", "-n", NS)
    assert deployment["spec"]["replicas"] == 0
    spec = deployment["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["limits"]["memory"] == "1Gi"
    stored = kc.json("get", "configmap", "kai-policy", "-n", NS)["data"]["policy.yaml"]
    assert policies.parse(stored).roles_of(OPERATOR.identity) == ["operator"]
    token = kc.json("get", "secret", "kai", "-n", NS)["data"]["KAI_API_TOKENS"]
    assert base64.b64decode(token).decode() == "ops=0123456789abcdef0123"


def can(cluster: Sandbox, verb: str, group: str, resource: str, namespace: str | None) -> bool:
    """kubectl auth can-i as kai's ServiceAccount: a SelfSubjectAccessReview the sandbox answers
    from the Role and bindings it stores."""
    res, _, sub = resource.partition("/")
    attributes = {"verb": verb, "group": group, "resource": res, "subresource": sub, "namespace": namespace or ""}
    as_sa = Cluster(kubeconfig=cluster.kubeconfig, impersonate=SERVICE_ACCOUNT)
    try:
        review = asyncio.run(as_sa.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                           body={"apiVersion": "authorization.k8s.io/v1",
                                                 "kind": "SelfSubjectAccessReview",
                                                 "spec": {"resourceAttributes": attributes}}))
    finally:
        as_sa.close()
    return bool(review["status"]["allowed"])


def call_as_kai(cluster: Sandbox, tmp_path: Path, tool: str, arguments: dict[str, Any], policy: str,
                namespace: str | None = None) -> Outcome:
    """One tool call through kai's executor, connected as kai's ServiceAccount, under the policy
    the chart installed, by an operator who approves their own change."""

    async def approve(request: ApprovalRequest) -> ApprovalAnswer:
        return ApprovalAnswer(True, OPERATOR.identity)

    store = AuditStore(f"sqlite:///{tmp_path / 'kai.db'}")
    executor = Executor(ToolContext(Cluster(kubeconfig=cluster.kubeconfig, impersonate=SERVICE_ACCOUNT),
                                    namespace=namespace), policies.parse(policy), store)
    try:
        return asyncio.run(executor.call(tool, arguments, OPERATOR, approve))
    finally:
        executor.close()
        executor.ctx.cluster.close()
        store.close()


def test_service_account_may_act_in_its_namespace_only(installed: Config, cluster: Sandbox, kc: Kubectl,
                                                       todo: str, tmp_path: Path) -> None:
    needs = granted_needs(load_needs(), CLASSES)
    for group, resource, verb in sorted(needs):
        assert can(cluster, verb, group, resource, TARGET), (verb, group, resource)
        assert not can(cluster, verb, group, resource, todo), (verb, group, resource)
    assert not can(cluster, "list", "", "nodes", None)
    assert not can(cluster, "list", "apps", "deployments", None)
    assert not can(cluster, "create", "rbac.authorization.k8s.io", "roles", TARGET)  # no escalation

    policy = kc.json("get", "configmap", "kai-policy", "-n", NS)["data"]["policy.yaml"]
    # exact names and namespaces: each call is one GET of the object, no lookup beyond it
    read = {"kind": "deployment", "name": "todo-backend"}
    write = {"name": "todo-backend", "replicas": "3"}
    got = call_as_kai(cluster, tmp_path, "get_resource", {**read, "namespace": TARGET}, policy)
    assert got.status == "ok", got.text
    assert "todo-backend" in got.text
    scaled = call_as_kai(cluster, tmp_path, "scale", {**write, "namespace": TARGET}, policy)
    assert scaled.status == "ok", scaled.text
    assert kc.json("get", "deployment", "todo-backend", "-n", TARGET)["spec"]["replicas"] == 3
    # a request that names no namespace ("scale backend to 4", "logs of backend"): kai may not list
    # the cluster, so it looks in its default namespace (KAI_NAMESPACE, the chart's first target)
    fuzzy = call_as_kai(cluster, tmp_path, "scale", {"name": "backend", "replicas": "4"}, policy, TARGET)
    assert fuzzy.status == "ok", fuzzy.text
    assert kc.json("get", "deployment", "todo-backend", "-n", TARGET)["spec"]["replicas"] == 4
    logs = call_as_kai(cluster, tmp_path, "get_logs", {"name": "backend"}, policy, TARGET)
    assert logs.status == "ok", logs.text

    before = kc.json("get", "deployment", "todo-backend", "-n", todo)["spec"]["replicas"]
    for tool, arguments in (("get_resource", read), ("scale", write)):
        refused = call_as_kai(cluster, tmp_path, tool, {**arguments, "namespace": todo}, policy)
        assert (refused.status, refused.error_code) == ("error", "forbidden"), refused
        assert f'cannot get resource "deployments" in API group "apps" in the namespace "{todo}"' in refused.text
    assert kc.json("get", "deployment", "todo-backend", "-n", todo)["spec"]["replicas"] == before


def test_cluster_read_upgrade(installed: Config, cluster: Sandbox, todo: str) -> None:
    upgraded = installed.upgrade(str(CHART), RELEASE, {**INSTALL_VALUES, "clusterRead": {"enabled": True}},
                                 namespace=NS, timeout=60)
    assert upgraded["revision"] == 2
    try:
        assert can(cluster, "list", "", "nodes", None)
        assert can(cluster, "list", "", "namespaces", None)
        assert can(cluster, "list", "apps", "deployments", todo)
        assert can(cluster, "get", "", "pods/log", todo)
        assert not can(cluster, "get", "", "secrets", todo)  # Secrets stay out of reach
        assert not can(cluster, "patch", "apps", "deployments", todo)
    finally:
        installed.rollback(RELEASE, version=1, timeout=60)
    assert not can(cluster, "list", "", "nodes", None)
