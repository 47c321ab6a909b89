"""Changing workloads as kubectl's verbs do. ``scale`` is here, with its replica arithmetic
("3", "+1", "x2", "50%"); the container verbs (``set_image``, ``set_env``,
``set_resources``) are in :mod:`tools.containers` and the rollout verbs (restart, undo,
status, history) in :mod:`tools.rollouts`, both imported here so that importing this module
registers every workload tool. Each write plans a :class:`~tools.registry.Change` (names
resolved, a server-side dry run for the preview); the write happens only in ``Change.apply``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from . import containers as containers  # registers set_image, set_env, set_resources
from . import rollouts as rollouts  # registers the rollout_* tools
from .cluster import MERGE_PATCH
from .context import ToolContext
from .errors import InvalidInput, KaiError
from .inputs import NamespaceName, ObjectName
from .preview import (
    ScalableKind,
    dry_run_patch,
    kubectl,
    ref,
    resolve_workload,
    target,
    to_yaml,
)
from .registry import Change, ToolInput, ToolResult, tool
from .resolve import Resolved, resolve_kind

MAX_REPLICAS = 1000
_COUNT = re.compile(r"^\d{1,4}$")
_RELATIVE = re.compile(r"^[+-]\d{1,4}$")
_FACTOR = re.compile(r"^[x*×]\s*(\d{1,3}(?:\.\d{1,3})?)$", re.I)
_PERCENT = re.compile(r"^(\d{1,5}(?:\.\d{1,3})?)\s*%$")
REPLICAS_FORMS = ("replicas must be a count (3), a change (+1, -2), a factor (x2) or a percentage of the "
                  f"current count (50%), ending between 0 and {MAX_REPLICAS}")


def _replicas(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(REPLICAS_FORMS)
    text = str(value).strip()
    if isinstance(value, int) or _COUNT.match(text):
        if not text.isdigit() or int(text) > MAX_REPLICAS:
            raise ValueError(f"{value!r}: {REPLICAS_FORMS}")
        return str(int(text))
    if _RELATIVE.match(text) or _FACTOR.match(text) or _PERCENT.match(text):
        return text
    raise ValueError(f"{value!r}: {REPLICAS_FORMS}")


Replicas = Annotated[str, BeforeValidator(_replicas)]


def target_replicas(wanted: str, current: int) -> int:
    """The replica count ``wanted`` (as :data:`Replicas` accepts it) means from ``current``."""
    if _COUNT.match(wanted):
        new = int(wanted)
    elif _RELATIVE.match(wanted):
        new = current + int(wanted)
    elif factor := _FACTOR.match(wanted):
        new = math.floor(current * float(factor.group(1)) + 0.5)
    elif percent := _PERCENT.match(wanted):
        new = max(0, math.floor(current * float(percent.group(1)) / 100 + 0.5))
    else:
        raise InvalidInput(REPLICAS_FORMS)
    if not 0 <= new <= MAX_REPLICAS:
        raise InvalidInput(f"{wanted} from {current} replicas gives {new}: {REPLICAS_FORMS}")
    return new


class ScaleInput(ToolInput):
    name: ObjectName
    replicas: Replicas
    kind: ScalableKind = "deployment"
    namespace: NamespaceName | None = None


class ScaleResult(ToolResult):
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, validate_by_name=True)

    kind: str
    name: str
    namespace: str
    from_: int = Field(alias="from")
    to: int


async def _autoscaler_of(ctx: ToolContext, found: Resolved) -> str | None:
    """The name of an HPA that targets the workload, if there is one."""
    try:
        res = await resolve_kind(ctx.cluster, "horizontalpodautoscalers")
        hpas = (await ctx.cluster.get(res.path(found.namespace)))["items"]
    except KaiError:
        return None
    for hpa in hpas:
        ref_ = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if ref_.get("kind") == found.kind and ref_.get("name") == found.name:
            return str(hpa["metadata"]["name"])
    return None


@tool(risk="write", result=ScaleResult)
async def scale(ctx: ToolContext, args: ScaleInput) -> Change:
    """Scale a Deployment, StatefulSet or ReplicaSet to a number of replicas, absolute or relative.

    Use it for "scale backend to 3", "add one frontend replica", "double the backend",
    "halve it" ("50%"). The change is previewed with a server-side dry run.

    Args:
        name: The workload's name or a part of it ("backend" finds todo-backend).
        replicas: The new count: absolute ("3"), relative ("+1", "-2"), a factor ("x2") or a
            percentage of the current count ("50%", rounded). The result must be 0 to 1000.
        kind: deployment (default), statefulset or replicaset.
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    found = await resolve_workload(ctx, args.kind, args.name, args.namespace)
    res, ns, name = found.resource, found.namespace, found.name
    current = int((found.obj.get("spec") or {}).get("replicas", 1))
    new = target_replicas(args.replicas, current)
    patch = {"spec": {"replicas": new}}
    after = await dry_run_patch(ctx.cluster, res, ns, name, patch, MERGE_PATCH)
    summary = f"scale {found.ref()} from {current} to {new} replicas"
    hpa = await _autoscaler_of(ctx, found)
    if hpa:
        summary += f" (HorizontalPodAutoscaler {hpa} manages its replicas and may change them again)"

    async def apply() -> ScaleResult:
        await ctx.cluster.request("PATCH", res.path(ns, name, "scale"), body=patch, content_type=MERGE_PATCH,
                                  idempotent=True)
        return ScaleResult.model_validate({"kind": found.kind, "name": name, "namespace": ns, "from": current,
                                           "to": new})

    return Change(summary=summary, command=kubectl("scale", ref(res, name), namespace=ns, flags=[f"--replicas={new}"]),
                  targets=[target(res, found.obj)], apply=apply, before=to_yaml(found.obj), after=to_yaml(after),
                  replicas=new)
