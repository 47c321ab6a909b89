"""Nodes out of and back into service: ``cordon``, ``uncordon`` (writes) and ``drain``
(destructive), as kubectl does them.

``drain`` cordons the node, then evicts its pods through the eviction subresource (so
PodDisruptionBudgets are honoured) and waits a bounded time for them to go. As kubectl, it
never evicts mirror pods nor DaemonSet pods (their controller would put them back), and
refuses, unless told otherwise, to evict DaemonSet pods without ``ignore_daemonsets``, pods
with emptyDir data without ``delete_emptydir_data``, and pods no controller recreates
without ``force``. Refusals are found while planning, before anything is written.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import Field

from .budget import fit_items, more_note
from .cluster import MERGE_PATCH, ApiResource
from .context import ToolContext
from .errors import InvalidInput, KaiError, NotFound
from .inputs import ObjectName
from .preview import DRY_RUN, dry_run_patch, kubectl, plural, target, to_yaml
from .registry import Change, Target, ToolInput, ToolResult, tool
from .resolve import Resolved, resolve, resolve_kind

MIRROR = "kubernetes.io/config.mirror"


class NodeInput(ToolInput):
    name: ObjectName


class NodeResult(ToolResult):
    name: str
    unschedulable: bool
    changed: bool


async def _node(ctx: ToolContext, name: str) -> Resolved:
    return await resolve(ctx.cluster, await resolve_kind(ctx.cluster, "nodes"), name)


def _cordoned(node: dict[str, Any]) -> bool:
    return bool((node.get("spec") or {}).get("unschedulable"))


async def _plan_cordon(ctx: ToolContext, name: str, cordon: bool) -> Change:
    found = await _node(ctx, name)
    res, node = found.resource, found.name
    already = _cordoned(found.obj) == cordon
    patch = {"spec": {"unschedulable": True if cordon else None}}
    after = await dry_run_patch(ctx.cluster, res, None, node, patch, MERGE_PATCH)
    verb = "cordon" if cordon else "uncordon"

    async def apply() -> NodeResult:
        if not already:
            await ctx.cluster.request("PATCH", res.path(None, node), body=patch, content_type=MERGE_PATCH,
                                      idempotent=True)
        return NodeResult(name=node, unschedulable=cordon, changed=not already)

    state = "already cordoned" if cordon else "already schedulable"
    summary = f"{verb} node {node}" + (f" ({state}: nothing to do)" if already else
                                       (": no new pods will be scheduled on it" if cordon else
                                        ": pods may be scheduled on it again"))
    return Change(summary=summary, command=kubectl(verb, node), targets=[target(res, found.obj)], apply=apply,
                  before=to_yaml(found.obj), after=to_yaml(after))


@tool(risk="write", result=NodeResult)
async def cordon(ctx: ToolContext, args: NodeInput) -> Change:
    """Mark a node unschedulable: its pods keep running, no new pod is placed on it.

    Use it before maintenance of a node (see drain to also move its pods away).

    Args:
        name: The node's name or a part of it.
    """
    return await _plan_cordon(ctx, args.name, True)


@tool(risk="write", result=NodeResult)
async def uncordon(ctx: ToolContext, args: NodeInput) -> Change:
    """Mark a node schedulable again, after cordon or drain.

    Args:
        name: The node's name or a part of it.
    """
    return await _plan_cordon(ctx, args.name, False)


# --- drain ------------------------------------------------------------------------------------


class DrainInput(ToolInput):
    name: ObjectName
    ignore_daemonsets: bool = False
    delete_emptydir_data: bool = False
    force: bool = False
    timeout_seconds: int = Field(default=60, ge=0, le=600)


class DrainResult(ToolResult):
    name: str
    cordoned: bool
    evicted: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    still_terminating: list[str] = Field(default_factory=list)
    more: str | None = None


def _label(pod: dict[str, Any]) -> str:
    return f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"


def _controller(pod: dict[str, Any]) -> dict[str, Any] | None:
    for owner in pod["metadata"].get("ownerReferences") or []:
        if owner.get("controller"):
            return dict(owner)
    return None


@dataclass
class Sorted:
    evict: list[dict[str, Any]]
    skip: list[str]  # "ns/name (reason)"
    refusals: dict[str, list[str]]  # why → pods


def sort_pods(pods: list[dict[str, Any]], args: DrainInput) -> Sorted:
    """Which pods a drain evicts, leaves, or cannot evict without a flag (kubectl's filters)."""
    out = Sorted([], [], {})
    for pod in pods:
        meta, label = pod["metadata"], _label(pod)
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        owner = _controller(pod)
        if meta.get("deletionTimestamp"):
            out.skip.append(f"{label} (already terminating)")
        elif MIRROR in (meta.get("annotations") or {}):
            out.skip.append(f"{label} (mirror pod)")
        elif owner is not None and owner.get("kind") == "DaemonSet":
            if args.ignore_daemonsets:
                out.skip.append(f"{label} (DaemonSet)")
            else:
                out.refusals.setdefault("DaemonSet-managed pods (set ignore_daemonsets)", []).append(label)
        elif (not finished and not args.delete_emptydir_data
              and any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or [])):
            out.refusals.setdefault("pods with local storage (set delete_emptydir_data)", []).append(label)
        elif owner is None and not finished and not args.force:
            out.refusals.setdefault("pods that declare no controller (set force)", []).append(label)
        else:
            out.evict.append(pod)
    return out


def eviction(pod: dict[str, Any]) -> dict[str, Any]:
    meta = pod["metadata"]
    return {"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}


def _eviction_path(pod: dict[str, Any]) -> str:
    meta = pod["metadata"]
    return f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/eviction"


async def _pods_on(ctx: ToolContext, node: str) -> list[dict[str, Any]]:
    found = await ctx.cluster.get("/api/v1/pods", fieldSelector=f"spec.nodeName={node}")
    return list(found.get("items") or [])


def _listing(node: dict[str, Any], pods: list[str]) -> str:
    return to_yaml(node) + "---\n" + yaml.safe_dump({"pods": sorted(pods)}, default_flow_style=False)


async def _evict(ctx: ToolContext, pods: list[dict[str, Any]], dry_run: bool) -> dict[str, str]:
    """Evict ``pods`` (one by one, as kubectl); the pods that could not be, with why."""
    failed: dict[str, str] = {}
    for pod in pods:
        try:
            await ctx.cluster.request("POST", _eviction_path(pod), body=eviction(pod),
                                      query=DRY_RUN if dry_run else None, idempotent=not dry_run)
        except NotFound:
            continue  # gone already
        except KaiError as exc:
            failed[_label(pod)] = exc.message
    return failed


async def _wait_gone(ctx: ToolContext, node: str, uids: set[str], timeout: float) -> list[str]:
    """The evicted pods still there after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in await _pods_on(ctx, node) if p["metadata"].get("uid") in uids]
        if not left or time.monotonic() >= deadline:
            return [_label(p) for p in left]
        await asyncio.sleep(min(0.5, max(deadline - time.monotonic(), 0.0)))


@tool(risk="destructive", result=DrainResult)
async def drain(ctx: ToolContext, args: DrainInput) -> Change:
    """Take a node out of service: cordon it, then evict its pods so their controllers recreate them elsewhere.

    Use it before node maintenance. DaemonSet and mirror pods stay. Pods whose loss cannot be
    undone are refused unless a flag allows them; uncordon the node afterwards.

    Args:
        name: The node's name or a part of it.
        ignore_daemonsets: Leave DaemonSet pods in place instead of refusing to drain (as kubectl's flag).
        delete_emptydir_data: Also evict pods with emptyDir volumes, whose data is lost.
        force: Also evict pods no controller recreates (bare pods), which are gone for good.
        timeout_seconds: How long to wait for evicted pods to terminate, 0 to 600 (default 60).
    """
    found = await _node(ctx, args.name)
    res: ApiResource = found.resource
    node = found.name
    pods = await _pods_on(ctx, node)
    sorted_ = sort_pods(pods, args)
    if sorted_.refusals:
        reasons = "; ".join(f"cannot evict {why}: {', '.join(who[:10])}" + (f" … {len(who) - 10} more"
                                                                              if len(who) > 10 else "")
                            for why, who in sorted_.refusals.items())
        raise InvalidInput(f"cannot drain node {node}: {reasons}")
    patch = {"spec": {"unschedulable": True}}
    after = await dry_run_patch(ctx.cluster, res, None, node, patch, MERGE_PATCH)
    refused_now = await _evict(ctx, sorted_.evict, dry_run=True)
    evicted = [_label(p) for p in sorted_.evict]
    staying = [_label(p) for p in pods if _label(p) not in evicted]
    flags = [f for f, on in (("--ignore-daemonsets", args.ignore_daemonsets),
                             ("--delete-emptydir-data", args.delete_emptydir_data), ("--force", args.force)) if on]
    summary = f"drain node {node}: cordon it and evict {plural(len(evicted), 'pod')}"
    if evicted:
        summary += f" ({', '.join(evicted[:10])}{' …' if len(evicted) > 10 else ''})"
    if sorted_.skip:
        summary += f"; leave {', '.join(sorted_.skip[:10])}{' …' if len(sorted_.skip) > 10 else ''}"
    if refused_now:
        summary += f"; evictions refused now: {', '.join(f'{k} ({v})' for k, v in list(refused_now.items())[:5])}"
    targets = [target(res, found.obj)] + [Target(kind="Pod", name=p["metadata"]["name"],
                                                 namespace=p["metadata"]["namespace"],
                                                 labels=dict(p["metadata"].get("labels") or {})) for p in sorted_.evict]

    async def apply() -> DrainResult:
        await ctx.cluster.request("PATCH", res.path(None, node), body=patch, content_type=MERGE_PATCH,
                                  idempotent=True)
        failed = await _evict(ctx, sorted_.evict, dry_run=False)
        uids = {str(p["metadata"].get("uid")) for p in sorted_.evict if _label(p) not in failed}
        left = await _wait_gone(ctx, node, uids, args.timeout_seconds)
        done = [label for label in evicted if label not in failed]
        lists = [done, sorted_.skip, [f"{k}: {v}" for k, v in failed.items()], left]
        share = max(ctx.budget // (2 * len(lists)), 50)
        fitted = [fit_items(items, share, str) for items in lists]
        return DrainResult(name=node, cordoned=True, evicted=fitted[0][0], skipped=fitted[1][0], failed=fitted[2][0],
                           still_terminating=fitted[3][0], more=more_note(sum(n for _, n in fitted), "pods not listed"))

    return Change(summary=summary, command=kubectl("drain", node, flags=flags), targets=targets, apply=apply,
                  before=_listing(found.obj, [_label(p) for p in pods]), after=_listing(after, staying),
                  idempotent=True)
