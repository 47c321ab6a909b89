"""Label and field selectors, parsed as the API server parses them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest

Obj = dict[str, Any]

_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# The lexer of k8s.io/apimachinery/pkg/labels: operators and parentheses, or identifiers
# (anything else up to whitespace or one of those symbols).
_TOKEN = re.compile(r"\s*(?:(?P<op>!=|==|=|!|\(|\)|,|>|<)|(?P<ident>[^\s=!(),<>]+))")


def _label_key_error(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) > 2:
        return f"invalid label key \"{key}\": a qualified name must consist of alphanumeric " \
               "characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'"
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            return f"invalid label key \"{key}\": prefix part must be non-empty"
        if len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            return f"invalid label key \"{key}\": prefix part must be a lowercase RFC 1123 subdomain"
    if not name:
        return f"invalid label key \"{key}\": name part must be non-empty"
    if len(name) > 63:
        return f"invalid label key \"{key}\": name part must be no more than 63 characters"
    if not _QUALIFIED_NAME.fullmatch(name):
        return f"invalid label key \"{key}\": name part must consist of alphanumeric characters, " \
               "'-', '_' or '.', and must start and end with an alphanumeric character"
    return None


def _label_value_error(value: str) -> str | None:
    if len(value) > 63:
        return f"invalid label value: \"{value}\": must be no more than 63 characters"
    if not _LABEL_VALUE.fullmatch(value):
        return f"invalid label value: \"{value}\": a valid label must be an empty string or consist " \
               "of alphanumeric characters, '-', '_' or '.', and must start and end with an " \
               "alphanumeric character"
    return None


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # = == != in notin exists !exists > <
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "==", "in"):
            return present and value in self.values
        if self.op in (">", "<"):
            if not present or value is None or not _INTEGER.fullmatch(value) or len(self.values) != 1:
                return False
            have, want = int(value), int(self.values[0])
            return have > want if self.op == ">" else have < want
        # != and notin match objects without the label too
        return not present or value not in self.values

    def __str__(self) -> str:
        """As ``labels.Requirement.String()``: values of a set sorted."""
        if self.op == "exists":
            return self.key
        if self.op == "!exists":
            return "!" + self.key
        values = ",".join(sorted(self.values)) if len(self.values) > 1 else "".join(self.values)
        if self.op in ("in", "notin"):
            return f"{self.key} {self.op} ({values})"
        return f"{self.key}{self.op}{values}"


def new_requirement(key: str, op: str, values: tuple[str, ...]) -> Requirement:
    """``labels.NewRequirement``: the key, values and their count validated."""
    errors = [e for e in [_label_key_error(key)] if e]
    if op in ("in", "notin") and not values:
        errors.append("for 'in', 'notin' operators, values set can't be empty")
    elif op in ("=", "==", "!=") and len(values) != 1:
        errors.append("exact-match compatibility requires one single value")
    elif op in ("exists", "!exists") and values:
        errors.append("values set must be empty for exists and does not exist")
    elif op in (">", "<"):
        if len(values) != 1:
            errors.append("for 'Gt', 'Lt' operators, exactly one value is required")
        errors += [f"for 'Gt', 'Lt' operators, the value must be an integer: \"{v}\""
                   for v in values if not _INTEGER.fullmatch(v)]
    errors += [e for e in map(_label_value_error, values) if e]
    if errors:
        raise BadRequest("unable to parse requirement: " + "; ".join(errors))
    return Requirement(key, op, values)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, literal) pairs: kind is "op", "ident" or "end"."""
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip():
                raise BadRequest(f"unable to parse requirement: found '{text[pos:]}', expected: identifier")
            out.append(("end", ""))
            return out
        pos = m.end()
        out.append(("op", m.group("op")) if m.group("op") else ("ident", m.group("ident")))


def parse_label_selector(text: str) -> list[Requirement]:
    """``app=web,tier in (a,b),!legacy`` → requirements, as ``labels.Parse`` reads them;
    BadRequest when malformed."""
    toks = _tokens(text)
    pos = 0

    def fail(message: str) -> BadRequest:
        return BadRequest(f"unable to parse requirement: {message}")

    def peek() -> tuple[str, str]:
        return toks[pos]

    def take() -> tuple[str, str]:
        nonlocal pos
        tok = toks[pos]
        pos = min(pos + 1, len(toks) - 1)
        return tok

    reqs: list[Requirement] = []
    if peek()[0] == "end":
        return reqs
    while True:
        kind, lit = take()
        negated = (kind, lit) == ("op", "!")
        if negated:
            kind, lit = take()
        if kind != "ident":
            raise fail(f"found '{lit}', expected: identifier")
        key = lit
        if error := _label_key_error(key):
            raise fail(error)
        after = peek()
        if negated:
            reqs.append(new_requirement(key, "!exists", ()))
        elif after[0] == "end" or after == ("op", ","):
            reqs.append(new_requirement(key, "exists", ()))
        else:
            kind, lit = take()
            if kind == "ident" and lit in ("in", "notin"):
                reqs.append(new_requirement(key, lit, _parse_set(take, peek, fail)))
            elif kind == "op" and lit in ("=", "==", "!=", ">", "<"):
                nxt = peek()
                if nxt[0] == "end" or nxt == ("op", ","):
                    value = ""
                else:
                    vkind, value = take()
                    if vkind != "ident":
                        raise fail(f"found '{value}', expected: identifier")
                reqs.append(new_requirement(key, lit, (value,)))
            else:
                raise fail(f"found '{lit}', expected: in, notin, =, ==, !=, gt, lt")
        kind, lit = take()
        if kind == "end":
            return reqs
        if (kind, lit) != ("op", ","):
            raise BadRequest(f"found '{lit}', expected: ',' or 'end of string'")
        if peek()[0] != "ident" and peek() != ("op", "!"):
            raise BadRequest(f"found '{peek()[1]}', expected: identifier after ','")


def _parse_set(take: Callable[[], tuple[str, str]], peek: Callable[[], tuple[str, str]],
               fail: Callable[[str], BadRequest]) -> tuple[str, ...]:
    """``(a,b)``; empty members, as in ``()`` or ``(a,)``, are the empty value."""
    kind, lit = take()
    if (kind, lit) != ("op", "("):
        raise fail(f"found '{lit}', expected: '('")
    values: list[str] = []
    expect_value = True
    while True:
        kind, lit = take()
        if kind == "ident" and expect_value:
            values.append(lit)
            expect_value = False
        elif (kind, lit) == ("op", ","):
            if expect_value:
                values.append("")
            expect_value = True
        elif (kind, lit) == ("op", ")"):
            if expect_value:
                values.append("")
            break
        else:
            raise fail(f"found '{lit}', expected: ',', ')' or identifier")
    return tuple(sorted(set(values)))


def labels_match(reqs: list[Requirement], obj: Obj) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


_SELECTOR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}


def selector_from_match_labels(selector: Obj | None) -> list[Requirement] | None:
    """A LabelSelector object (matchLabels/matchExpressions) → requirements, sorted by key
    as ``LabelSelectorAsSelector`` leaves them; None matches nothing."""
    if selector is None:
        return None
    reqs = [new_requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = _SELECTOR_OPS.get(expr.get("operator", ""))
        if op is None:
            raise BadRequest(f"\"{expr.get('operator', '')}\" is not a valid label selector operator")
        reqs.append(new_requirement(str(expr.get("key", "")), op, tuple(expr.get("values") or ())))
    return sorted(reqs, key=lambda r: r.key)


def format_selector(selector: Obj | None) -> str:
    """A LabelSelector as kubectl prints it (``metav1.FormatLabelSelector``):
    ``app=web,tier in (a,b)``, requirements sorted by key; ``<none>`` when empty."""
    if not selector:
        return "<none>"
    try:
        reqs = selector_from_match_labels(selector) or []
    except BadRequest:
        return "<error>"
    return ",".join(map(str, reqs)) or "<none>"


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
        "spec.hostNetwork": lambda o: str(bool((o.get("spec") or {}).get("hostNetwork"))).lower(),
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
        # events.k8s.io/v1 names of the same fields
        "regarding.kind": lambda o: o.get("involvedObject", {}).get("kind", ""),
        "regarding.name": lambda o: o.get("involvedObject", {}).get("name", ""),
        "regarding.namespace": lambda o: o.get("involvedObject", {}).get("namespace", ""),
        "regarding.uid": lambda o: o.get("involvedObject", {}).get("uid", ""),
        "reportingController":
            lambda o: o.get("reportingComponent") or (o.get("source") or {}).get("component", ""),
        "deprecatedSource": lambda o: (o.get("source") or {}).get("component", ""),
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
