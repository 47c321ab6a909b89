"""Checks of a run: the cluster's state afterwards (objects by jsonpath, Helm releases) and the
answer's wording. Each check is a :class:`Check` with what was expected and what was found."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tools.cluster import Cluster
from tools.context import ToolContext
from tools.errors import KaiError, NotFound
from tools.resolve import resolve_kind

from . import jsonpath
from .task import StateCheck, Task


@dataclass(frozen=True)
class Check:
    kind: str  # call | order | forbidden | state | answer | verifier | expect
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ok": self.ok, "detail": self.detail}


def _equal(expected: Any, values: list[Any]) -> bool:
    if len(values) != 1:
        return jsonpath.render(values) == str(expected)
    value = values[0]
    if isinstance(expected, bool) or isinstance(value, bool):
        return str(expected).lower() == str(value).lower()
    if isinstance(expected, int | float) and not isinstance(value, dict | list):
        try:
            return float(value) == float(expected)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, dict | list):
        return bool(expected == value)
    return str(value) == str(expected)


async def _object(cluster: Cluster, check: StateCheck, namespace: str) -> dict[str, Any] | None:
    assert check.object is not None
    kind, _, name = check.object.partition("/")
    resource = await resolve_kind(cluster, kind)
    try:
        obj: dict[str, Any] = await cluster.get(resource.path(namespace if resource.namespaced else None, name))
    except NotFound:
        return None
    return obj


async def state(cluster: Cluster, task: Task, check: StateCheck) -> Check:
    namespace = check.namespace or task.namespace
    try:
        if check.release is not None:
            return await _release(cluster, check, namespace)
        obj = await _object(cluster, check, namespace)
    except KaiError as exc:
        return Check("state", False, f"{check.label()}: {exc.message}")
    gone = obj is None or bool(obj.get("metadata", {}).get("deletionTimestamp"))
    if check.absent and not check.path:
        return Check("state", gone, check.label() + ("" if gone else ": it is still there"))
    if obj is None:
        return Check("state", False, f"{check.label()}: not found")
    if not check.path:
        return Check("state", True, check.label())
    try:
        values = jsonpath.find(obj, check.path)
    except KaiError as exc:
        return Check("state", False, f"{check.label()}: {exc.message}")
    shown = jsonpath.render(values)
    if check.absent:  # the path has no value
        return Check("state", not values, check.label() + ("" if not values else f": found {shown}"))
    if check.has_equals:
        ok = bool(values) and _equal(check.equals, values)
    elif check.matches is not None:  # a path with no value reads as "" (a limit removed is not 256Mi)
        ok = re.search(check.matches, shown) is not None
    else:
        ok = bool(values)
    return Check("state", ok, check.label() + ("" if ok else f": found {shown or 'nothing'}"))


async def _release(cluster: Cluster, check: StateCheck, namespace: str) -> Check:
    assert check.release is not None
    ctx = ToolContext(cluster)
    try:
        info = await ctx.helm.status(check.release, namespace)
    except NotFound:
        return Check("state", False, f"{check.label()}: no such release")
    finally:
        ctx.close_helm()
    problems = []
    if check.revision is not None and info.revision != check.revision:
        problems.append(f"revision {info.revision}")
    if check.status is not None and info.status != check.status:
        problems.append(f"status {info.status}")
    return Check("state", not problems, check.label() + (f": found {', '.join(problems)}" if problems else ""))


def answer(task: Task, text: str) -> list[Check]:
    """``expect.answer``: regexes (case-insensitive) the answer must and must not match."""
    checks = [Check("answer", re.search(p, text, re.IGNORECASE) is not None, f"answer matches /{p}/")
              for p in task.expect.contains]
    checks += [Check("answer", re.search(p, text, re.IGNORECASE) is None, f"answer does not match /{p}/")
               for p in task.expect.not_contains]
    return checks


def bench_expect(task: Task, output: str) -> list[Check]:
    """k8s-bench's ``expect``: plain substrings the agent's output must (not) contain."""
    checks = [Check("expect", text in output, f"output contains {text!r}") for text in task.expect.contains]
    checks += [Check("expect", text not in output, f"output does not contain {text!r}")
               for text in task.expect.not_contains]
    return checks
