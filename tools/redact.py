"""Secret values never leave: every Secret's data is replaced by its length, in objects,
in manifests given to tools, and in arguments written to the audit trail."""

from __future__ import annotations

import base64
import copy
import re
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SENSITIVE_KEY = re.compile(r"(pass(word)?|secret|token|api[-_]?key|credential|private[-_]?key)", re.I)


def _length(value: Any, encoded: bool) -> str:
    text = str(value)
    if encoded:
        try:
            return f"<redacted: {len(base64.b64decode(text, validate=True))} bytes>"
        except ValueError:
            pass
    return f"<redacted: {len(text.encode())} bytes>"


def redacted(value: str) -> str:
    """What a secret value becomes: its length."""
    return f"<redacted: {len(value.encode())} bytes>"


def _mask_env(node: Any) -> bool:
    """Mask, in place, literal values of env vars named like a password, token or secret;
    whether any was."""
    found = False
    if isinstance(node, dict):
        env = node.get("env")
        if isinstance(env, list):
            for var in env:
                if (isinstance(var, dict) and isinstance(var.get("value"), str)
                        and SENSITIVE_KEY.search(str(var.get("name", "")))):
                    var["value"] = redacted(var["value"])
                    found = True
        for value in node.values():
            found = _mask_env(value) or found
    elif isinstance(node, list):
        for value in node:
            found = _mask_env(value) or found
    return found


def redact_object(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with a Secret's ``data``/``stringData`` values replaced by their
    length, and in any other object the literal values of env vars named like a password,
    token or secret (with the last-applied annotation, which holds them too, masked)."""
    if isinstance(obj.get("items"), list):
        # a real API server leaves kind out of a list's items: a SecretList's items are Secrets
        kind = str(obj.get("kind") or "")
        item_kind = kind[: -len("List")] if kind.endswith("List") and kind != "List" else None
        out = dict(obj)
        out["items"] = [redact_object({"kind": item_kind, **i} if item_kind and "kind" not in i else i)
                        if isinstance(i, dict) else i for i in obj["items"]]
        return out
    out = copy.deepcopy(obj)
    if obj.get("kind") == "Secret":
        for key, encoded in (("data", True), ("stringData", False)):
            if isinstance(out.get(key), dict):
                out[key] = {k: _length(v, encoded) for k, v in out[key].items()}
    elif not _mask_env(out.get("spec")):
        return obj
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = "<redacted>"
    return out


def redact_manifest(text: str) -> str:
    """A YAML stream with every Secret in it redacted (text that does not parse is kept
    only when it names no Secret)."""
    import yaml

    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return "<redacted: unparsable manifest>" if re.search(r"kind:\s*Secret", text) else text
    if not any(isinstance(d, dict) and d.get("kind") == "Secret" for d in docs):
        return text
    return yaml.safe_dump_all([redact_object(d) if isinstance(d, dict) else d for d in docs], sort_keys=False)


def redact_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """Tool arguments fit for the audit trail: manifests with Secrets redacted; values under a
    key that names a password, token, key or secret (at any depth: everything under
    ``secrets:`` too) replaced by their length; ``--set`` style ``path=value`` strings whose
    path names one likewise."""

    def walk(key: str, value: Any, sensitive: bool) -> Any:
        sensitive = sensitive or bool(SENSITIVE_KEY.search(key))
        if isinstance(value, dict):
            return {k: walk(str(k), v, sensitive) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(key, v, sensitive) for v in value]
        if value is None or isinstance(value, bool) or value == "":
            return value
        if sensitive:
            return _length(value, False)
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str):
            if key == "manifest" or "kind: Secret" in value:
                return redact_manifest(value)
            path, eq, setting = value.partition("=")
            if eq and SENSITIVE_KEY.search(path) and "\n" not in path:
                return f"{path}={_length(setting, False)}"
        return value

    return {k: walk(k, v, False) for k, v in arguments.items()}


