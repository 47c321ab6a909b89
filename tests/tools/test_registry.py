"""The tool registry: every tool the issue names, with its risk class, a docstring that
describes each argument, and a JSON schema every provider accepts."""

from __future__ import annotations

from typing import Any

import pytest

from tools.catalog import REGISTRY
from tools.errors import UnknownTool
from tools.registry import Tool

READ = {"list_namespaces", "list_resources", "get_resource", "describe_resource", "get_events", "get_logs",
        "rollout_status", "rollout_history", "check_health", "diagnose", "helm_list", "helm_status",
        "helm_history", "helm_get_values", "can_i"}
WRITE = {"scale", "rollout_restart", "rollout_undo", "set_image", "set_env", "set_resources", "autoscale",
         "create_namespace", "apply_manifest", "helm_install", "helm_upgrade", "helm_rollback", "cordon",
         "uncordon"}
DESTRUCTIVE = {"delete_resource", "delete_namespace", "helm_uninstall", "drain"}


def test_every_tool_with_its_risk_class() -> None:
    by_risk = {risk: {t.name for t in REGISTRY if t.risk == risk} for risk in ("read", "write", "destructive")}
    assert by_risk == {"read": READ, "write": WRITE, "destructive": DESTRUCTIVE}


@pytest.mark.parametrize("tool", list(REGISTRY), ids=lambda t: t.name)
def test_docstring_describes_the_tool_and_every_argument(tool: Tool) -> None:
    assert len(tool.summary) >= 40, "say what it does and when to use it"
    fields = set(tool.input_model.model_fields)
    aliases = {f.alias for f in tool.input_model.model_fields.values() if f.alias}
    undocumented = fields - set(tool.args_doc) - {n for n in fields if tool.input_model.model_fields[n].alias
                                                  in tool.args_doc}
    assert not undocumented, f"Args: must describe {sorted(undocumented)}"
    assert set(tool.args_doc) <= fields | aliases, "Args: describes arguments that do not exist"


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


@pytest.mark.parametrize("tool", list(REGISTRY), ids=lambda t: t.name)
def test_schema_is_self_contained_and_described(tool: Tool) -> None:
    import jsonschema

    schema = tool.schema()
    assert schema["name"] == tool.name and schema["description"].startswith(tool.summary[:20])
    params = schema["parameters"]
    jsonschema.Draft202012Validator.check_schema(params)
    assert params["type"] == "object" and params["additionalProperties"] is False
    for node in _walk(params):
        assert "$ref" not in node and "$defs" not in node and "title" not in node
        assert {"type": "null"} not in node.get("anyOf", []), "optional fields are plain types with a default"
    for name, prop in params["properties"].items():
        assert prop.get("description"), f"{name} has no description"
    required = set(params.get("required", []))
    for name in required:
        assert name in params["properties"]


def test_writes_say_so_in_their_description() -> None:
    assert REGISTRY.get("scale").schema()["description"].endswith("(changes the cluster)")
    assert REGISTRY.get("drain").schema()["description"].endswith("(destructive)")


def test_schemas_by_risk_and_unknown_names() -> None:
    reads = {s["name"] for s in REGISTRY.schemas(("read",))}
    assert reads == READ
    with pytest.raises(UnknownTool, match="did you mean get_logs"):
        REGISTRY.get("get_log")
