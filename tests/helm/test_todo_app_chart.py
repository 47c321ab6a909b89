"""The todo-app Helm chart (helm/todo-app): lint, render with several value sets, the
sandbox's own schema validation of every rendered object, values.schema.json rejecting bad
values, and an install into the sandbox cluster (without waiting: no controllers run there)."""

from __future__ import annotations

import base64
import contextlib
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_python import Chart, Config, lint
from helm_python.errors import HelmError, HelmValuesError

from sandbox.control import Sandbox
from sandbox.validation import validate
from sandbox.validation_quantity import canonical_string
from tests.conftest import Kubectl

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "todo-app"
RELEASE = "todo-app"
NS = "todo-app"

Doc = dict[str, Any]

SECRET_KEYS = ["BETTER_AUTH_SECRET", "CHATKIT_WORKFLOW_ID", "DATABASE_URL", "GEMINI_API_KEY", "OPENAI_API_KEY"]

# Value sets every test of the rendered objects runs against.
VALUE_SETS: dict[str, Doc] = {
    "defaults": {},
    "proxy": {"proxy": {"enabled": True}},
    "existing-secret": {"secrets": {"existingSecret": "todo-creds"}},
    "secret-values": {"secrets": {"values": {"DATABASE_URL": "postgresql://u:p@db.example/todo",
                                             "GEMINI_API_KEY": "test-key"}}},
    "replicas-3": {"backend": {"replicaCount": 3}, "frontend": {"replicaCount": 3}},
    "image-tags": {"backend": {"image": {"tag": "v1.1"}}, "frontend": {"image": {"tag": "v1.2"}}},
    "everything": {
        "proxy": {"enabled": True, "tls": {"secretName": "my-tls"}},
        "secrets": {"existingSecret": "todo-creds"},
        "backend": {"replicaCount": 0, "env": {"LOG_LEVEL": "debug"}},
        "frontend": {"replicaCount": 5, "service": {"nodePort": 31234}},
        "config": {"environment": "staging", "extraData": {"FEATURE_X": "on", "RETRIES": 3}},
    },
}


@pytest.fixture(scope="module")
def chart() -> Iterator[Chart]:
    with Chart.load(CHART) as loaded:
        yield loaded


def render(chart: Chart, values: Doc | None = None, *, release: str = RELEASE, namespace: str = NS) -> list[Doc]:
    """Render the chart and parse every manifest (NOTES.txt aside) into objects."""
    manifests = chart.render(values, name=release, namespace=namespace, is_install=True)
    docs: list[Doc] = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def notes(chart: Chart, values: Doc | None = None, *, namespace: str = NS) -> str:
    manifests = chart.render(values, name=RELEASE, namespace=namespace, is_install=True)
    return manifests[f"{RELEASE}/templates/NOTES.txt"]


def index(docs: list[Doc]) -> dict[tuple[str, str], Doc]:
    found: dict[tuple[str, str], Doc] = {}
    for doc in docs:
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in found, f"{key} rendered twice"
        found[key] = doc
    return found


def get(docs: list[Doc], kind: str, name: str) -> Doc:
    return index(docs)[(kind, name)]


def container(deploy: Doc) -> Doc:
    containers = deploy["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    found: Doc = containers[0]
    return found


def deployments(docs: list[Doc]) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == "Deployment"]


# --- lint -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [None, {"proxy": {"enabled": True}}, VALUE_SETS["everything"]],
                         ids=["defaults", "proxy", "everything"])
def test_lint_passes(values: Doc | None) -> None:
    report = lint(str(CHART), values, strict=True, namespace=NS)
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_lint_reports_schema_violations() -> None:
    report = lint(str(CHART), {"backend": {"replicaCount": "two"}})
    assert any("/backend/replicaCount" in error for error in report["errors"])


def test_chart_metadata_and_schema(chart: Chart) -> None:
    assert chart.name == "todo-app"
    assert chart.metadata["apiVersion"] == "v2"
    assert chart.metadata["appVersion"] == "v1.0"
    schema = chart.schema
    assert schema is not None
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    chart.validate_schema(chart.values)


def test_default_values_hold_no_credentials(chart: Chart) -> None:
    secrets = chart.values["secrets"]
    assert secrets["existingSecret"] == ""
    assert sorted(secrets["values"]) == SECRET_KEYS
    assert all(value == "" for value in secrets["values"].values())


# --- every rendered object is one the API server accepts ----------------------------------------


@pytest.mark.parametrize("values", list(VALUE_SETS.values()), ids=list(VALUE_SETS))
def test_every_object_passes_sandbox_validation(chart: Chart, values: Doc) -> None:
    docs = render(chart, values)
    assert docs
    for doc in docs:
        warnings = validate(copy.deepcopy(doc), field_validation="Strict")
        assert warnings == [], (doc["kind"], doc["metadata"]["name"], warnings)


@pytest.mark.parametrize("values", list(VALUE_SETS.values()), ids=list(VALUE_SETS))
def test_labels_namespace_and_selectors(chart: Chart, values: Doc) -> None:
    docs = render(chart, values)
    for doc in docs:
        meta = doc["metadata"]
        assert meta["namespace"] == NS
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "todo-app"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/version"] == "v1.0"
        assert labels["app.kubernetes.io/part-of"] == "todo-app"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/component"] in {"backend", "frontend", "proxy", "config"}
        assert labels["helm.sh/chart"] == "todo-app-0.1.0"
    services = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Service"}
    for deploy in deployments(docs):
        name = deploy["metadata"]["name"]
        selector = deploy["spec"]["selector"]["matchLabels"]
        pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
        assert selector == {"app.kubernetes.io/name": "todo-app", "app.kubernetes.io/instance": RELEASE,
                            "app.kubernetes.io/component": deploy["metadata"]["labels"]["app.kubernetes.io/component"]}
        assert selector.items() <= pod_labels.items()
        assert pod_labels["app"] == name  # the seed's `kubectl logs -l app=todo-backend`
        # each Deployment has a Service of the same name that selects exactly its pods
        assert services[name]["spec"]["selector"] == selector


@pytest.mark.parametrize("values", list(VALUE_SETS.values()), ids=list(VALUE_SETS))
def test_security_contexts(chart: Chart, values: Doc) -> None:
    for deploy in deployments(render(chart, values)):
        pod = deploy["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        psc = pod["securityContext"]
        assert psc["runAsNonRoot"] is True
        assert psc["runAsUser"] > 0
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
        csc = container(deploy)["securityContext"]
        assert csc["allowPrivilegeEscalation"] is False
        assert csc["capabilities"] == {"drop": ["ALL"]}
        # the frontend's entrypoint rewrites /app/.next in place (seed), so only it stays writable
        expected_read_only = deploy["metadata"]["name"] != "todo-frontend"
        assert csc["readOnlyRootFilesystem"] is expected_read_only


# --- defaults ----------------------------------------------------------------------------------------


def test_default_objects(chart: Chart) -> None:
    docs = render(chart)
    assert sorted(index(docs)) == [
        ("ConfigMap", "todo-app-config"),
        ("Deployment", "todo-backend"),
        ("Deployment", "todo-frontend"),
        ("Secret", "todo-app-secrets"),
        ("Service", "todo-backend"),
        ("Service", "todo-frontend"),
    ]


def test_backend_deployment(chart: Chart) -> None:
    deploy = get(render(chart), "Deployment", "todo-backend")
    assert deploy["apiVersion"] == "apps/v1"
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["strategy"] == {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    c = container(deploy)
    assert c["name"] == "todo-backend"
    assert c["image"] == "todo-backend:v1.0"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "512Mi"},
                              "limits": {"cpu": "1000m", "memory": "1Gi"}}
    assert c["livenessProbe"] == {"httpGet": {"path": "/health", "port": "http"}, "initialDelaySeconds": 30,
                                  "periodSeconds": 15, "timeoutSeconds": 10, "failureThreshold": 3,
                                  "successThreshold": 1}
    assert c["readinessProbe"] == {"httpGet": {"path": "/health", "port": "http"}, "initialDelaySeconds": 15,
                                   "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3,
                                   "successThreshold": 1}
    assert c["envFrom"] == [{"configMapRef": {"name": "todo-app-config"}},
                            {"secretRef": {"name": "todo-app-secrets"}}]
    assert "env" not in c
    assert c["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert deploy["spec"]["template"]["spec"]["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert deploy["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1000


def test_frontend_deployment(chart: Chart) -> None:
    deploy = get(render(chart), "Deployment", "todo-frontend")
    assert deploy["spec"]["replicas"] == 2
    c = container(deploy)
    assert c["name"] == "todo-frontend"
    assert c["image"] == "todo-frontend:v1.0"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert c["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"},
                              "limits": {"cpu": "500m", "memory": "512Mi"}}
    assert c["livenessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert (c["livenessProbe"]["initialDelaySeconds"], c["livenessProbe"]["periodSeconds"]) == (30, 15)
    assert (c["readinessProbe"]["initialDelaySeconds"], c["readinessProbe"]["periodSeconds"]) == (15, 10)
    assert c["envFrom"] == [{"configMapRef": {"name": "todo-app-config"}},
                            {"secretRef": {"name": "todo-app-secrets"}}]
    assert c["env"] == [{"name": "HOSTNAME", "value": "0.0.0.0"}, {"name": "PORT", "value": "3000"}]
    assert deploy["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1001


def test_services(chart: Chart) -> None:
    docs = render(chart)
    backend = get(docs, "Service", "todo-backend")["spec"]
    assert backend["type"] == "ClusterIP"
    assert backend["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    frontend = get(docs, "Service", "todo-frontend")["spec"]
    assert frontend["type"] == "NodePort"
    assert frontend["ports"] == [{"name": "http", "port": 3000, "targetPort": "http", "protocol": "TCP",
                                  "nodePort": 30001}]


def test_configmap_matches_the_seed(chart: Chart) -> None:
    cm = get(render(chart), "ConfigMap", "todo-app-config")
    assert cm["data"] == {
        "NEXT_PUBLIC_API_BASE_URL": "http://todo-backend:8000",
        "ENVIRONMENT": "production",
        "ALLOWED_ORIGINS": "https://todo-web-app-hunain.vercel.app,http://localhost:3000,http://192.168.49.2:30001",
    }


def test_default_secret_is_empty(chart: Chart) -> None:
    secret = get(render(chart), "Secret", "todo-app-secrets")
    assert secret["type"] == "Opaque"
    assert secret["data"] == {}
    assert "stringData" not in secret
    text = notes(chart)
    assert "WARNING: no value was given for " + ", ".join(SECRET_KEYS) in text


def test_checksum_annotations(chart: Chart) -> None:
    def checksums(values: Doc | None) -> dict[str, dict[str, str]]:
        return {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]
                for d in deployments(render(chart, values))}

    base = checksums(None)
    for name in ("todo-backend", "todo-frontend"):
        assert set(base[name]) == {"checksum/config", "checksum/secret"}
        assert all(len(v) == 64 for v in base[name].values())
    assert checksums(None) == base  # stable
    config_changed = checksums({"config": {"environment": "staging"}})
    assert config_changed["todo-backend"]["checksum/config"] != base["todo-backend"]["checksum/config"]
    assert config_changed["todo-backend"]["checksum/secret"] == base["todo-backend"]["checksum/secret"]
    secret_changed = checksums({"secrets": {"values": {"DATABASE_URL": "postgresql://x"}}})
    assert secret_changed["todo-frontend"]["checksum/secret"] != base["todo-frontend"]["checksum/secret"]
    assert secret_changed["todo-frontend"]["checksum/config"] == base["todo-frontend"]["checksum/config"]
    # an unrelated change does not roll the pods
    assert checksums({"backend": {"replicaCount": 4}}) == base


def test_the_release_namespace_is_used(chart: Chart) -> None:
    docs = render(chart, namespace="elsewhere")
    assert {doc["metadata"]["namespace"] for doc in docs} == {"elsewhere"}
    assert "kubectl get pods -n elsewhere" in notes(chart, namespace="elsewhere")


def test_other_release_names_prefix_config_objects(chart: Chart) -> None:
    names = set(index(render(chart, release="demo")))
    assert ("ConfigMap", "demo-todo-app-config") in names
    assert ("Secret", "demo-todo-app-secrets") in names
    assert ("Deployment", "todo-backend") in names  # the seed's fixed component names
    pinned = set(index(render(chart, {"fullnameOverride": "todo"}, release="demo")))
    assert ("ConfigMap", "todo-config") in pinned


# --- overridden values ------------------------------------------------------------------------------


def test_secret_from_values(chart: Chart) -> None:
    docs = render(chart, VALUE_SETS["secret-values"])
    secret = get(docs, "Secret", "todo-app-secrets")
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {"DATABASE_URL": "postgresql://u:p@db.example/todo", "GEMINI_API_KEY": "test-key"}
    text = notes(chart, VALUE_SETS["secret-values"])
    assert "BETTER_AUTH_SECRET, CHATKIT_WORKFLOW_ID, OPENAI_API_KEY" in text


def test_existing_secret(chart: Chart) -> None:
    docs = render(chart, VALUE_SETS["existing-secret"])
    assert [d for d in docs if d["kind"] == "Secret"] == []
    for deploy in deployments(docs):
        assert {"secretRef": {"name": "todo-creds"}} in container(deploy)["envFrom"]
    text = notes(chart, VALUE_SETS["existing-secret"])
    assert 'existing secret "todo-creds"' in text
    assert "WARNING" not in text


def test_replicas_override(chart: Chart) -> None:
    docs = render(chart, VALUE_SETS["replicas-3"])
    assert get(docs, "Deployment", "todo-backend")["spec"]["replicas"] == 3
    assert get(docs, "Deployment", "todo-frontend")["spec"]["replicas"] == 3


def test_image_tags_override(chart: Chart) -> None:
    docs = render(chart, VALUE_SETS["image-tags"])
    assert container(get(docs, "Deployment", "todo-backend"))["image"] == "todo-backend:v1.1"
    assert container(get(docs, "Deployment", "todo-frontend"))["image"] == "todo-frontend:v1.2"
    assert container(get(docs, "Deployment", "todo-backend"))["imagePullPolicy"] == "IfNotPresent"


def test_proxy_disabled_by_default(chart: Chart) -> None:
    names = {name for _, name in index(render(chart))}
    assert not any("proxy" in name for name in names)
    assert "HTTPS proxy: disabled" in notes(chart)


def test_proxy_enabled(chart: Chart) -> None:
    docs = render(chart, VALUE_SETS["proxy"])
    deploy = get(docs, "Deployment", "todo-https-proxy")
    assert deploy["spec"]["replicas"] == 1
    c = container(deploy)
    assert c["image"] == "nginxinc/nginx-unprivileged:1.27-alpine"
    assert c["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "250m", "memory": "256Mi"}}
    assert c["ports"] == [{"name": "https", "containerPort": 8443, "protocol": "TCP"}]
    assert c["livenessProbe"]["tcpSocket"] == {"port": "https"}
    assert c["readinessProbe"]["tcpSocket"] == {"port": "https"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {"nginx-conf": "/etc/nginx/conf.d", "tls": "/etc/nginx/ssl", "tmp": "/tmp"}
    volumes = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"] == {"secretName": "todo-app-tls"}
    assert volumes["nginx-conf"]["configMap"] == {"name": "todo-https-proxy-nginx"}
    assert "checksum/nginx-config" in deploy["spec"]["template"]["metadata"]["annotations"]

    svc = get(docs, "Service", "todo-https-proxy")["spec"]
    assert svc["type"] == "NodePort"
    assert svc["ports"] == [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP",
                             "nodePort": 30003}]

    conf = get(docs, "ConfigMap", "todo-https-proxy-nginx")["data"]["default.conf"]
    assert "listen 8443 ssl;" in conf
    assert "ssl_certificate /etc/nginx/ssl/tls.crt;" in conf
    assert "ssl_certificate_key /etc/nginx/ssl/tls.key;" in conf
    assert "proxy_pass http://todo-frontend:3000;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "https://$(minikube ip):30003" in notes(chart, VALUE_SETS["proxy"])


def test_proxy_tls_secret_name_is_a_value(chart: Chart) -> None:
    docs = render(chart, {"proxy": {"enabled": True, "tls": {"secretName": "my-tls"}}})
    volumes = {v["name"]: v for v in get(docs, "Deployment", "todo-https-proxy")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"] == {"secretName": "my-tls"}


def test_everything_overridden(chart: Chart) -> None:
    docs = render(chart, VALUE_SETS["everything"])
    assert get(docs, "Deployment", "todo-backend")["spec"]["replicas"] == 0
    assert get(docs, "Deployment", "todo-frontend")["spec"]["replicas"] == 5
    assert get(docs, "Service", "todo-frontend")["spec"]["ports"][0]["nodePort"] == 31234
    assert container(get(docs, "Deployment", "todo-backend"))["env"] == [{"name": "LOG_LEVEL", "value": "debug"}]
    cm = get(docs, "ConfigMap", "todo-app-config")["data"]
    assert cm["ENVIRONMENT"] == "staging"
    assert cm["FEATURE_X"] == "on" and cm["RETRIES"] == "3"


# --- values.schema.json -----------------------------------------------------------------------------

INVALID: dict[str, tuple[Doc, str]] = {
    "replicas-string": ({"backend": {"replicaCount": "two"}}, "at '/backend/replicaCount': got string, want integer"),
    "replicas-negative": ({"frontend": {"replicaCount": -1}}, "at '/frontend/replicaCount'"),
    "nodeport-high": ({"frontend": {"service": {"nodePort": 99999}}},
                      "at '/frontend/service/nodePort': maximum: got 99,999, want 32,767"),
    "nodeport-low": ({"proxy": {"service": {"nodePort": 80}}},
                     "at '/proxy/service/nodePort': minimum: got 80, want 30,000"),
    "port-zero": ({"backend": {"service": {"port": 0}}}, "at '/backend/service/port'"),
    "pull-policy": ({"backend": {"image": {"pullPolicy": "Sometimes"}}}, "at '/backend/image/pullPolicy'"),
    "empty-tag": ({"frontend": {"image": {"tag": ""}}}, "at '/frontend/image/tag'"),
    "typo": ({"backend": {"replicas": 3}}, "additional properties 'replicas' not allowed"),
    "proxy-enabled-string": ({"proxy": {"enabled": "yes"}}, "at '/proxy/enabled': got string, want boolean"),
    "bad-quantity": ({"backend": {"resources": {"limits": {"cpu": "lots"}}}}, "at '/backend/resources/limits/cpu'"),
    "probe-path": ({"backend": {"livenessProbe": {"path": "health"}}}, "at '/backend/livenessProbe/path'"),
    "bad-secret-name": ({"secrets": {"existingSecret": "Not_A_Name"}}, "at '/secrets/existingSecret'"),
    "secret-not-string": ({"secrets": {"values": {"DATABASE_URL": 5}}}, "at '/secrets/values/DATABASE_URL'"),
    "service-type": ({"frontend": {"service": {"type": "Ingress"}}}, "at '/frontend/service/type'"),
}


@pytest.mark.parametrize(("values", "message"), list(INVALID.values()), ids=list(INVALID))
def test_schema_rejects_invalid_values(chart: Chart, values: Doc, message: str) -> None:
    with pytest.raises(HelmValuesError) as rendered:
        render(chart, values)
    assert "values don't meet the specifications of the schema" in str(rendered.value)
    assert message in str(rendered.value)
    with pytest.raises(HelmValuesError) as checked:
        chart.validate_schema(values)
    assert message in str(checked.value)


# --- install into the sandbox -----------------------------------------------------------------------


def assert_subset(want: Any, got: Any, path: str) -> None:
    """``want`` (as rendered) is contained in ``got`` (as stored): the server may only add fields,
    and writes quantities in their canonical form (``1000m`` is stored as ``1``)."""
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        for key, value in want.items():
            assert key in got, f"{path}.{key} missing"
            assert_subset(value, got[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            assert_subset(w, g, f"{path}[{i}]")
    elif ".resources." in path and isinstance(want, str):
        assert got == canonical_string(want), f"{path}: {got!r} != {want!r}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"



@pytest.fixture(scope="module")
def helm(sandbox: Sandbox) -> Config:
    return Config(kubeconfig_path=str(sandbox.kubeconfig), namespace=NS)


def test_install_upgrade_uninstall(helm: Config, kubectl: Kubectl, chart: Chart) -> None:
    try:
        release = helm.install(str(CHART), RELEASE, namespace=NS, create_namespace=True, timeout=60)
        assert release["status"] == "deployed" and release["revision"] == 1

        expected = index(render(chart))
        for (kind, name), doc in expected.items():
            live = kubectl.json("get", kind.lower(), name, "-n", NS)
            assert live["metadata"]["labels"] == doc["metadata"]["labels"], (kind, name)
            assert live["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE
        backend = kubectl.json("get", "deploy", "todo-backend", "-n", NS)
        assert backend["spec"]["replicas"] == 2
        assert container(backend)["image"] == "todo-backend:v1.0"
        # everything rendered is stored as rendered (the server only adds defaults)
        for name in ("todo-backend", "todo-frontend"):
            live = kubectl.json("get", "deploy", name, "-n", NS)
            assert_subset(expected[("Deployment", name)]["spec"], live["spec"], f"{name}.spec")
            assert_subset(expected[("Service", name)]["spec"], kubectl.json("get", "svc", name, "-n", NS)["spec"],
                          f"svc/{name}.spec")
        frontend_svc = kubectl.json("get", "svc", "todo-frontend", "-n", NS)
        assert frontend_svc["spec"]["type"] == "NodePort"
        assert frontend_svc["spec"]["ports"][0]["nodePort"] == 30001
        assert kubectl.json("get", "svc", "todo-backend", "-n", NS)["spec"]["type"] == "ClusterIP"
        assert kubectl.json("get", "cm", "todo-app-config", "-n", NS)["data"] == \
            expected[("ConfigMap", "todo-app-config")]["data"]
        assert kubectl.json("get", "secret", "todo-app-secrets", "-n", NS).get("data", {}) == {}
        old_checksum = backend["spec"]["template"]["metadata"]["annotations"]["checksum/secret"]

        # upgrade: the proxy, a secret value and 3 replicas; the pod template's checksum changes
        upgraded = helm.upgrade(str(CHART), RELEASE, {
            "proxy": {"enabled": True},
            "backend": {"replicaCount": 3},
            "secrets": {"values": {"DATABASE_URL": "postgresql://u:p@db.example/todo"}},
        }, namespace=NS, timeout=60)
        assert upgraded["revision"] == 2
        backend = kubectl.json("get", "deploy", "todo-backend", "-n", NS)
        assert backend["spec"]["replicas"] == 3
        assert backend["spec"]["template"]["metadata"]["annotations"]["checksum/secret"] != old_checksum
        secret = kubectl.json("get", "secret", "todo-app-secrets", "-n", NS)
        assert base64.b64decode(secret["data"]["DATABASE_URL"]).decode() == "postgresql://u:p@db.example/todo"
        proxy = kubectl.json("get", "deploy", "todo-https-proxy", "-n", NS)
        assert proxy["spec"]["replicas"] == 1
        proxy_svc = kubectl.json("get", "svc", "todo-https-proxy", "-n", NS)
        assert proxy_svc["spec"]["ports"][0]["nodePort"] == 30003
        assert "proxy_pass http://todo-frontend:3000;" in \
            kubectl.json("get", "cm", "todo-https-proxy-nginx", "-n", NS)["data"]["default.conf"]
    finally:
        with contextlib.suppress(HelmError):
            helm.uninstall(RELEASE, timeout=60)
    listed = kubectl("get", "deploy,svc,cm,secret", "-n", NS, "-l", f"app.kubernetes.io/instance={RELEASE}",
                     "-o", "name")
    assert listed.strip() == ""
    assert kubectl.run("get", "deploy", "todo-backend", "-n", NS, check=False).returncode != 0
