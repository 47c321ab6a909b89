"""The plan helpers without a cluster: preview YAML (cleaned, Secrets and secret-named env
values redacted), kubectl lines quoted, and every write and rollout tool of these modules
documented for the model and schema-ready."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

import tools.autoscale
import tools.containers
import tools.manifests
import tools.nodes
import tools.rollouts
import tools.workloads
from tools.inputs import NamespaceName, ObjectName
from tools.preview import clean, kubectl, plural, selector_string, to_yaml
from tools.registry import REGISTRY

MODULES = (tools.workloads, tools.containers, tools.rollouts, tools.autoscale, tools.manifests, tools.nodes)
OURS = sorted(t.name for t in REGISTRY if t.fn.__module__ in {m.__name__ for m in MODULES})


def test_the_tools_of_these_modules() -> None:
    assert OURS == ["apply_manifest", "autoscale", "cordon", "create_namespace", "delete_namespace",
                    "delete_resource", "drain", "rollout_history", "rollout_restart", "rollout_status",
                    "rollout_undo", "scale", "set_env", "set_image", "set_resources", "uncordon"]
    risks = {t.name: t.risk for t in REGISTRY if t.name in OURS}
    assert {n for n, r in risks.items() if r == "destructive"} == {"delete_namespace", "delete_resource", "drain"}
    assert {n for n, r in risks.items() if r == "read"} == {"rollout_history", "rollout_status"}


@pytest.mark.parametrize("name", OURS)
def test_every_argument_is_described_and_the_schema_is_flat(name: str) -> None:
    item = REGISTRY.get(name)
    assert set(item.args_doc) == set(item.input_model.model_fields), name
    assert 40 <= len(item.summary) < 400
    schema = item.schema()
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and '"title"' not in text and '{"type": "null"}' not in text
    assert set(schema["parameters"]["properties"]) == set(item.input_model.model_fields)
    for prop in schema["parameters"]["properties"].values():
        assert prop.get("description")


SECRET: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Secret",
    "metadata": {"name": "s", "namespace": "n", "resourceVersion": "9", "managedFields": [{"manager": "x"}],
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"data":{"k":"c2VjcmV0"}}'}},
    "data": {"k": "c2VjcmV0"}, "stringData": {"t": "plain-secret"},
}


def test_secrets_are_redacted_and_noise_dropped() -> None:
    text = to_yaml(SECRET)
    assert "c2VjcmV0" not in text and "plain-secret" not in text and "secret" not in text.replace("Secret", "")
    assert "k: '<redacted: 6 bytes>'" in text and "t: '<redacted: 12 bytes>'" in text
    assert "managedFields" not in text and "resourceVersion" not in text and "annotations" not in text
    assert SECRET["data"] == {"k": "c2VjcmV0"}  # the object itself is untouched


def test_env_values_named_like_secrets_are_redacted_in_templates() -> None:
    deploy = {"kind": "Deployment", "metadata": {"name": "d", "generation": 4}, "status": {"replicas": 1},
              "spec": {"template": {"spec": {"containers": [{"name": "c", "env": [
                  {"name": "API_TOKEN", "value": "tok-123"}, {"name": "LOG_LEVEL", "value": "debug"},
                  {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "p"}}}]}]}}}}
    out = clean(deploy)
    env = out["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "API_TOKEN", "value": "<redacted: 7 bytes>"}
    assert env[1]["value"] == "debug" and "valueFrom" in env[2]
    assert "status" not in out and "generation" not in out["metadata"]
    assert clean(deploy, status=True)["status"] == {"replicas": 1}
    assert to_yaml(None) == ""


def test_kubectl_lines_are_shell_quoted() -> None:
    assert kubectl("scale", "deployment/web", namespace="prod", flags=["--replicas=3"]) == \
        "kubectl scale deployment/web -n prod --replicas=3"
    assert kubectl("set", "env", "deployment/web", "GREETING=hello world; rm -rf /") == \
        "kubectl set env deployment/web 'GREETING=hello world; rm -rf /'"


def test_selectors_and_plurals() -> None:
    selector = {"matchLabels": {"b": "2", "a": "1"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]},
                                     {"key": "old", "operator": "DoesNotExist"}]}
    assert selector_string(selector) == "a=1,b=2,tier in (web,api),!old"
    assert selector_string(None) == ""
    assert [plural(1, "Pod"), plural(2, "Pod"), plural(2, "NetworkPolicy"), plural(3, "Ingress"),
            plural(2, "Gateway")] == ["1 Pod", "2 Pods", "2 NetworkPolicies", "3 Ingresses", "2 Gateways"]


@pytest.mark.parametrize("bad", ["", "a;b", "../x", "a/b", "$(id)", "x" * 254, "a\nb", "`id`"])
def test_names_with_shell_or_path_characters_fail_validation(bad: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(ObjectName).validate_python(bad)
    with pytest.raises(ValidationError):
        TypeAdapter(NamespaceName).validate_python(bad)


def test_names_as_people_write_them_pass() -> None:
    assert TypeAdapter(ObjectName).validate_python(" Todo Backend ") == "Todo Backend"
    assert TypeAdapter(NamespaceName).validate_python("todo-app") == "todo-app"
    with pytest.raises(ValidationError):
        TypeAdapter(NamespaceName).validate_python("Todo")
