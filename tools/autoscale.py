"""``autoscale``: create or update the autoscaling/v2 HorizontalPodAutoscaler of a workload,
as ``kubectl autoscale`` creates one (named after the workload, scaling on CPU).

An HPA that already targets the workload is updated in place (its other metrics kept, its
CPU target set); otherwise a new one is created. The policy's replica bounds check the
maximum (``Change.replicas``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, model_validator

from .cluster import MERGE_PATCH, ApiResource
from .context import ToolContext
from .errors import InvalidInput
from .inputs import NamespaceName, ObjectName
from .preview import (
    ScalableKind,
    dry_run_create,
    dry_run_patch,
    kubectl,
    ref,
    resolve_workload,
    target,
    to_yaml,
)
from .registry import Change, Target, ToolInput, ToolResult, tool
from .workloads import MAX_REPLICAS


class AutoscaleInput(ToolInput):
    name: ObjectName
    max: int = Field(ge=1, le=MAX_REPLICAS)
    min: int = Field(default=1, ge=1, le=MAX_REPLICAS)
    cpu_percent: int = Field(default=80, ge=1, le=1000)
    kind: ScalableKind = "deployment"
    namespace: NamespaceName | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AutoscaleInput:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is more than max ({self.max})")
        return self


class AutoscaleResult(ToolResult):
    name: str
    namespace: str
    target: str
    min: int
    max: int
    cpu_percent: int
    created: bool


async def hpa_resource(ctx: ToolContext) -> ApiResource:
    for res in await ctx.cluster.resources():
        if res.group == "autoscaling" and res.version == "v2" and res.plural == "horizontalpodautoscalers":
            return res
    raise InvalidInput("this cluster does not serve autoscaling/v2 HorizontalPodAutoscalers")


def cpu_metric(percent: int) -> dict[str, Any]:
    return {"type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}}}


def _is_cpu(metric: dict[str, Any]) -> bool:
    return metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu"


@tool(risk="write", result=AutoscaleResult)
async def autoscale(ctx: ToolContext, args: AutoscaleInput) -> Change:
    """Make a workload scale itself with CPU load: create or update its HorizontalPodAutoscaler.

    Use it for "autoscale the backend between 2 and 5 replicas at 80% CPU". An autoscaler
    that already targets the workload is updated; else one named after the workload is created.

    Args:
        name: The workload's name or a part of it ("backend" finds todo-backend).
        max: The most replicas the autoscaler may set (1 to 1000).
        min: The fewest replicas (default 1, at most max).
        cpu_percent: The average CPU use, in percent of the pods' CPU requests, to keep (default 80).
        kind: deployment (default), statefulset or replicaset.
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    found = await resolve_workload(ctx, args.kind, args.name, args.namespace)
    ns, workload = str(found.namespace), found.obj
    hpa_res = await hpa_resource(ctx)
    existing = None
    for hpa in (await ctx.cluster.get(hpa_res.path(ns)))["items"]:
        aim = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if aim.get("kind") == found.kind and aim.get("name") == found.name:
            existing = hpa
            break
    spec: dict[str, Any] = {"minReplicas": args.min, "maxReplicas": args.max}
    aimed = f"{found.kind} {found.name}"
    if existing is not None:
        name = str(existing["metadata"]["name"])
        metrics = [m for m in (existing.get("spec") or {}).get("metrics") or [] if not _is_cpu(m)]
        spec["metrics"] = [*metrics, cpu_metric(args.cpu_percent)]
        patch = {"spec": spec}
        after = await dry_run_patch(ctx.cluster, hpa_res, ns, name, patch, MERGE_PATCH)
        command = kubectl("patch", f"horizontalpodautoscaler/{name}", namespace=ns,
                          flags=["--type=merge", "-p", json.dumps(patch, separators=(",", ":"))])
        summary = f"update HorizontalPodAutoscaler {name} of {aimed} in namespace {ns}"
        targets = [target(hpa_res, existing), target(found.resource, workload)]
    else:
        name = found.name
        spec["scaleTargetRef"] = {"apiVersion": str(workload.get("apiVersion") or found.resource.api_version),
                                  "kind": found.kind, "name": found.name}
        spec["metrics"] = [cpu_metric(args.cpu_percent)]
        body = {"apiVersion": hpa_res.api_version, "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name, "namespace": ns}, "spec": spec}
        after = await dry_run_create(ctx.cluster, hpa_res, ns, body)
        command = kubectl("autoscale", ref(found.resource, found.name), namespace=ns,
                          flags=[f"--min={args.min}", f"--max={args.max}", f"--cpu-percent={args.cpu_percent}"])
        summary = f"create HorizontalPodAutoscaler {name} for {aimed} in namespace {ns}"
        targets = [Target(kind="HorizontalPodAutoscaler", name=name, namespace=ns), target(found.resource, workload)]
    summary += f": {args.min} to {args.max} replicas at {args.cpu_percent}% CPU"

    async def apply() -> AutoscaleResult:
        if existing is not None:
            await ctx.cluster.request("PATCH", hpa_res.path(ns, name), body=patch, content_type=MERGE_PATCH,
                                      idempotent=True)
        else:
            await ctx.cluster.request("POST", hpa_res.path(ns), body=body)
        return AutoscaleResult(name=name, namespace=ns, target=aimed, min=args.min, max=args.max,
                               cpu_percent=args.cpu_percent, created=existing is None)

    return Change(summary=summary, command=command, targets=targets, apply=apply, before=to_yaml(existing),
                  after=to_yaml(after), replicas=args.max, idempotent=existing is not None)
