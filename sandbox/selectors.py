"""Label and field selectors, parsed as the API server parses them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest

Obj = dict[str, Any]

_LABEL_TOKEN = re.compile(
    r"\s*(?:(?P<notexists>!)\s*(?P<nkey>[A-Za-z0-9_./-]+)"
    r"|(?P<key>[A-Za-z0-9_./-]+)\s*(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*"
    r"(?:\((?P<set>[^)]*)\)|(?P<value>[A-Za-z0-9_.-]*)))?)\s*(?:,|$)"
)


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # = != in notin exists !exists
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        # != and notin match objects without the label too
        return not present or value not in self.values


def parse_label_selector(text: str) -> list[Requirement]:
    """``app=web,tier in (a,b),!legacy`` → requirements; BadRequest when malformed."""
    text = text.strip()
    reqs: list[Requirement] = []
    pos = 0
    while pos < len(text):
        m = _LABEL_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise BadRequest(f"unable to parse requirement: found '{text[pos:]}', expected: identifier")
        pos = m.end()
        if m.group("notexists"):
            reqs.append(Requirement(m.group("nkey"), "!exists"))
            continue
        key, op = m.group("key"), (m.group("op") or "").strip()
        if not op:
            reqs.append(Requirement(key, "exists"))
        elif op in ("in", "notin"):
            if m.group("set") is None:
                raise BadRequest(f"unable to parse requirement: found '{key}', expected: '('")
            values = tuple(v.strip() for v in m.group("set").split(",") if v.strip())
            reqs.append(Requirement(key, op, values))
        else:
            if m.group("set") is not None:
                raise BadRequest(f"unable to parse requirement: unexpected '(' after '{key}{op}'")
            reqs.append(Requirement(key, "=" if op in ("=", "==") else "!=", (m.group("value"),)))
    return reqs


def labels_match(reqs: list[Requirement], obj: Obj) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


def selector_from_match_labels(selector: Obj | None) -> list[Requirement] | None:
    """A LabelSelector object (matchLabels/matchExpressions) → requirements; None matches nothing."""
    if selector is None:
        return None
    reqs = [Requirement(k, "=", (v,)) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in selector.get("matchExpressions") or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ())))
    return reqs


def format_selector(selector: Obj | None) -> str:
    """A LabelSelector as kubectl prints it: ``app=web,tier in (a,b)``."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr["operator"]
        if op in ("In", "NotIn"):
            parts.append(f"{expr['key']} {op.lower()} ({','.join(expr.get('values') or [])})")
        elif op == "Exists":
            parts.append(expr["key"])
        else:
            parts.append(f"!{expr['key']}")
    return ",".join(parts) or "<none>"


# --- field selectors -------------------------------------------------------------

FieldGetter = Callable[[Obj], str]

_COMMON_FIELDS: dict[str, FieldGetter] = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
}

_KIND_FIELDS: dict[str, dict[str, FieldGetter]] = {
    "pods": {
        "status.phase": lambda o: (o.get("status") or {}).get("phase", ""),
        "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", ""),
        "spec.restartPolicy": lambda o: (o.get("spec") or {}).get("restartPolicy", ""),
        "spec.schedulerName": lambda o: (o.get("spec") or {}).get("schedulerName", ""),
        "spec.serviceAccountName": lambda o: (o.get("spec") or {}).get("serviceAccountName", ""),
        "status.podIP": lambda o: (o.get("status") or {}).get("podIP", ""),
        "status.nominatedNodeName": lambda o: (o.get("status") or {}).get("nominatedNodeName", ""),
    },
    "events": {
        "involvedObject.kind": lambda o: o.get("involvedObject", {}).get("kind", ""),
        "involvedObject.name": lambda o: o.get("involvedObject", {}).get("name", ""),
        "involvedObject.namespace": lambda o: o.get("involvedObject", {}).get("namespace", ""),
        "involvedObject.uid": lambda o: o.get("involvedObject", {}).get("uid", ""),
        "involvedObject.apiVersion": lambda o: o.get("involvedObject", {}).get("apiVersion", ""),
        "involvedObject.resourceVersion":
            lambda o: o.get("involvedObject", {}).get("resourceVersion", ""),
        "involvedObject.fieldPath": lambda o: o.get("involvedObject", {}).get("fieldPath", ""),
        "reason": lambda o: o.get("reason", ""),
        "reportingComponent": lambda o: o.get("reportingComponent", ""),
        "source": lambda o: (o.get("source") or {}).get("component", ""),
        "type": lambda o: o.get("type", ""),
    },
    "secrets": {"type": lambda o: o.get("type", "")},
    "namespaces": {"status.phase": lambda o: (o.get("status") or {}).get("phase", "")},
    "nodes": {"spec.unschedulable": lambda o: str(bool((o.get("spec") or {}).get("unschedulable"))).lower()},
    "replicasets": {"status.replicas": lambda o: str((o.get("status") or {}).get("replicas", 0))},
    "jobs": {"status.successful": lambda o: str((o.get("status") or {}).get("succeeded", 0))},
}


@dataclass(frozen=True)
class FieldRequirement:
    getter: FieldGetter
    negate: bool
    value: str

    def matches(self, obj: Obj) -> bool:
        return (self.getter(obj) == self.value) != self.negate


def parse_field_selector(text: str, storage: str) -> list[FieldRequirement]:
    """``status.phase=Running,metadata.name!=x`` for resources of ``storage``."""
    fields = {**_COMMON_FIELDS, **_KIND_FIELDS.get(storage.split(".")[0], {})}
    reqs: list[FieldRequirement] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", part)
        if m is None:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.group(1), m.group(2), m.group(3)
        getter = fields.get(field)
        if getter is None:
            raise BadRequest(f'field label not supported: {field}')
        reqs.append(FieldRequirement(getter, op == "!=", value))
    return reqs


def fields_match(reqs: list[FieldRequirement], obj: Obj) -> bool:
    return all(r.matches(obj) for r in reqs)
