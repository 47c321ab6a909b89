"""Rollouts as ``kubectl rollout`` sees them: ``rollout_restart`` and ``rollout_undo``
(writes, planned with a server-side dry run), ``rollout_status`` and ``rollout_history``
(reads). A Deployment's history is its ReplicaSets, each with the revision annotation the
deployment controller writes; undo copies the chosen revision's pod template back into the
Deployment with the JSON patch kubectl sends.
"""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from .budget import fit_items, more_note, render
from .cluster import JSON_PATCH, STRATEGIC_PATCH, Cluster
from .context import ToolContext
from .errors import InvalidInput, NotFound, trim
from .inputs import NamespaceName, ObjectName
from .preview import (
    TemplateKind,
    dry_run_patch,
    kubectl,
    ref,
    resolve_workload,
    selector_string,
    target,
    to_yaml,
)
from .registry import Change, ToolInput, ToolResult, tool

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
HASH_LABEL = "pod-template-hash"
# Annotations of a Deployment that an undo keeps (kubectl's annotationsToSkip).
KEPT_ON_UNDO = ("kubectl.kubernetes.io/last-applied-configuration", REVISION,
                "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
                "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to")


# --- restart -------------------------------------------------------------------------------


class RolloutRestartInput(ToolInput):
    name: ObjectName
    kind: TemplateKind = "deployment"
    namespace: NamespaceName | None = None


class RolloutRestartResult(ToolResult):
    kind: str
    name: str
    namespace: str
    restarted_at: str


@tool(risk="write", result=RolloutRestartResult)
async def rollout_restart(ctx: ToolContext, args: RolloutRestartInput) -> Change:
    """Restart every pod of a Deployment, StatefulSet or DaemonSet with a rolling update.

    Use it after a ConfigMap or Secret changed, or for "restart the backend". It stamps the
    pod template with kubectl's restartedAt annotation, so the pods are replaced gradually.

    Args:
        name: The workload's name or a part of it ("backend" finds todo-backend).
        kind: deployment (default), statefulset or daemonset.
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    found = await resolve_workload(ctx, args.kind, args.name, args.namespace)
    res, ns, name = found.resource, found.namespace, found.name
    if (found.obj.get("spec") or {}).get("paused"):
        raise InvalidInput(f"cannot restart the paused {found.ref()}: resume its rollout first")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    after = await dry_run_patch(ctx.cluster, res, ns, name, patch, STRATEGIC_PATCH)

    async def apply() -> RolloutRestartResult:
        await ctx.cluster.request("PATCH", res.path(ns, name), body=patch, content_type=STRATEGIC_PATCH,
                                  idempotent=True)
        return RolloutRestartResult(kind=found.kind, name=name, namespace=str(ns), restarted_at=stamp)

    return Change(summary=f"restart the pods of {found.ref()} (rolling)",
                  command=kubectl("rollout", "restart", ref(res, name), namespace=ns),
                  targets=[target(res, found.obj)], apply=apply, before=to_yaml(found.obj), after=to_yaml(after))


# --- history (shared by undo) -------------------------------------------------------------


def revision_of(obj: dict[str, Any]) -> int:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "")
    return int(value) if str(value).isdigit() else 0


async def replica_sets(cluster: Cluster, deployment: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The ReplicaSets the Deployment controls, by revision."""
    meta = deployment["metadata"]
    selector = selector_string((deployment.get("spec") or {}).get("selector"))
    found = await cluster.get(f"/apis/apps/v1/namespaces/{meta['namespace']}/replicasets", labelSelector=selector)
    owned: dict[int, dict[str, Any]] = {}
    for rs in found.get("items") or []:
        owners = (rs.get("metadata") or {}).get("ownerReferences") or []
        if any(o.get("uid") == meta.get("uid") and o.get("controller") for o in owners) and revision_of(rs):
            owned[revision_of(rs)] = rs
    return owned


def images_of(template: dict[str, Any]) -> list[str]:
    spec = template.get("spec") or {}
    return [str(c.get("image", "")) for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    labels = (out.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return out


class RolloutUndoInput(ToolInput):
    name: ObjectName
    revision: int | None = Field(default=None, ge=1, le=2**31)
    namespace: NamespaceName | None = None


class RolloutUndoResult(ToolResult):
    name: str
    namespace: str
    from_revision: int
    to_revision: int
    images: list[str]


@tool(risk="write", result=RolloutUndoResult)
async def rollout_undo(ctx: ToolContext, args: RolloutUndoInput) -> Change:
    """Roll a Deployment back to its previous revision, or to a given one.

    Use it for "roll back the backend" or "go back to revision 2" (see rollout_history for
    the revisions). The chosen revision's pod template is copied back into the Deployment,
    as kubectl rollout undo does; the rollback is itself a new revision.

    Args:
        name: The Deployment's name or a part of it ("backend" finds todo-backend).
        revision: The revision to go back to; by default the one before the current.
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    found = await resolve_workload(ctx, "deployment", args.name, args.namespace)
    res, ns, name, deploy = found.resource, found.namespace, found.name, found.obj
    if (deploy.get("spec") or {}).get("paused"):
        raise InvalidInput(f"cannot roll back the paused {found.ref()}: resume its rollout first")
    history = await replica_sets(ctx.cluster, deploy)
    known = ", ".join(str(r) for r in sorted(history)) or "none"
    current = revision_of(deploy) or max(history, default=0)
    if args.revision is not None:
        if args.revision not in history:
            raise NotFound(f"no revision {args.revision} of {found.ref()} (revisions: {known})",
                           [str(r) for r in sorted(history)])
        wanted = args.revision
    else:
        older = sorted(r for r in history if r != current)
        if not older:
            raise NotFound(f"no rollout history to go back to for {found.ref()} (revisions: {known})")
        wanted = older[-1]
    template = _without_hash((history[wanted].get("spec") or {}).get("template") or {})
    if template == _without_hash((deploy.get("spec") or {}).get("template") or {}):
        raise InvalidInput(f"{found.ref()} already runs the template of revision {wanted}: nothing to undo")
    annotations = {k: v for k, v in ((deploy["metadata"].get("annotations") or {}).items()) if k in KEPT_ON_UNDO}
    annotations.update({k: v for k, v in (history[wanted]["metadata"].get("annotations") or {}).items()
                        if k not in KEPT_ON_UNDO})
    patch = [{"op": "replace", "path": "/spec/template", "value": template},
             {"op": "add", "path": "/metadata/annotations", "value": annotations}]
    after = await dry_run_patch(ctx.cluster, res, ns, name, patch, JSON_PATCH)
    images = images_of(template)
    flags = [f"--to-revision={wanted}"] if args.revision is not None else []

    async def apply() -> RolloutUndoResult:
        await ctx.cluster.request("PATCH", res.path(ns, name), body=patch, content_type=JSON_PATCH, idempotent=True)
        return RolloutUndoResult(name=name, namespace=str(ns), from_revision=current, to_revision=wanted,
                                 images=images)

    return Change(summary=f"roll {found.ref()} back from revision {current} to revision {wanted} "
                          f"({', '.join(images)})",
                  command=kubectl("rollout", "undo", ref(res, name), namespace=ns, flags=flags),
                  targets=[target(res, deploy)], apply=apply, before=to_yaml(deploy), after=to_yaml(after),
                  images=images)


class RolloutHistoryInput(ToolInput):
    name: ObjectName
    namespace: NamespaceName | None = None


class Revision(BaseModel):
    revision: int
    change_cause: str | None = None
    images: list[str]
    pods: int
    created: str | None = None


class RolloutHistoryResult(ToolResult):
    name: str
    namespace: str
    current_revision: int
    revisions: list[Revision]
    more: str | None = None


@tool(risk="read")
async def rollout_history(ctx: ToolContext, args: RolloutHistoryInput) -> RolloutHistoryResult:
    """List the revisions of a Deployment, oldest first, each with its change cause and images.

    Use it before rollout_undo to pick a revision, or for "what versions of the backend ran?".

    Args:
        name: The Deployment's name or a part of it ("backend" finds todo-backend).
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    found = await resolve_workload(ctx, "deployment", args.name, args.namespace)
    history = await replica_sets(ctx.cluster, found.obj)
    revisions = []
    for number in sorted(history, reverse=True):
        rs = history[number]
        meta = rs["metadata"]
        revisions.append(Revision(revision=number, change_cause=(meta.get("annotations") or {}).get(CHANGE_CAUSE),
                                  images=images_of((rs.get("spec") or {}).get("template") or {}),
                                  pods=int((rs.get("status") or {}).get("replicas") or 0),
                                  created=meta.get("creationTimestamp")))
    kept, left = fit_items(revisions, max(ctx.budget - 100, 100), render)
    return RolloutHistoryResult(name=found.name, namespace=str(found.namespace),
                                current_revision=revision_of(found.obj) or max(history, default=0),
                                revisions=list(reversed(kept)), more=more_note(left, "older revisions"))


# --- status --------------------------------------------------------------------------------


class RolloutStatusInput(ToolInput):
    name: ObjectName
    kind: TemplateKind = "deployment"
    namespace: NamespaceName | None = None
    wait_seconds: int = Field(default=0, ge=0, le=60)


class Condition(BaseModel):
    type: str
    status: str
    reason: str | None = None
    message: str | None = None


class RolloutStatusResult(ToolResult):
    kind: str
    name: str
    namespace: str
    desired: int
    updated: int
    ready: int
    available: int
    complete: bool
    message: str
    conditions: list[Condition] = Field(default_factory=list)


def progress(kind: str, obj: dict[str, Any]) -> tuple[bool, str, tuple[int, int, int, int]]:
    """(complete, kubectl's status line, (desired, updated, ready, available))."""
    name, spec, status = obj["metadata"]["name"], obj.get("spec") or {}, obj.get("status") or {}
    observed = int(obj["metadata"].get("generation") or 0) <= int(status.get("observedGeneration") or 0)
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        ready, available = int(status.get("numberReady") or 0), int(status.get("numberAvailable") or 0)
    else:
        desired, updated = int(spec.get("replicas", 1)), int(status.get("updatedReplicas") or 0)
        ready, available = int(status.get("readyReplicas") or 0), int(status.get("availableReplicas") or 0)
    counts = (desired, updated, ready, available)
    word = "daemon set" if kind == "DaemonSet" else kind.lower()
    what = f'{word} "{name}"'
    if not observed:
        return False, f"Waiting for {word} spec update to be observed...", counts
    if kind == "Deployment":
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
                return False, f"{what} exceeded its progress deadline", counts
        total = int(status.get("replicas") or 0)
        if updated < desired:
            return False, f"Waiting for {what} rollout to finish: {updated} out of {desired} new replicas have " \
                          "been updated...", counts
        if total > updated:
            return False, f"Waiting for {what} rollout to finish: {total - updated} old replicas are pending " \
                          "termination...", counts
        if available < updated:
            return False, f"Waiting for {what} rollout to finish: {available} of {updated} updated replicas " \
                          "are available...", counts
        return True, f"{what} successfully rolled out", counts
    if kind == "StatefulSet":
        if ready < desired:
            return False, f"Waiting for {desired - ready} pods to be ready...", counts
        if status.get("updateRevision") != status.get("currentRevision"):
            return False, f"waiting for statefulset rolling update to complete {updated} pods at revision " \
                          f"{status.get('updateRevision')}...", counts
        return True, f"statefulset rolling update complete {ready} pods at revision {status.get('currentRevision')}", \
            counts
    if updated < desired:
        return False, f"Waiting for {what} rollout to finish: {updated} out of {desired} new pods have been " \
                      "updated...", counts
    if available < desired:
        return False, f"Waiting for {what} rollout to finish: {available} of {desired} updated pods are " \
                      "available...", counts
    return True, f"{what} successfully rolled out", counts


@tool(risk="read")
async def rollout_status(ctx: ToolContext, args: RolloutStatusInput) -> RolloutStatusResult:
    """Tell how the rollout of a Deployment, StatefulSet or DaemonSet is going, as kubectl rollout status.

    Use it after a change ("is the backend rolled out?"). It answers at once, or waits up
    to wait_seconds for the rollout to complete.

    Args:
        name: The workload's name or a part of it ("backend" finds todo-backend).
        kind: deployment (default), statefulset or daemonset.
        namespace: The namespace; by default the context's, else the one where the name exists.
        wait_seconds: How long to wait for the rollout to complete, 0 (default, answer now) to 60.
    """
    found = await resolve_workload(ctx, args.kind, args.name, args.namespace)
    obj, path = found.obj, found.resource.path(found.namespace, found.name)
    deadline = time.monotonic() + args.wait_seconds
    complete, message, counts = progress(found.kind, obj)
    while not complete and time.monotonic() < deadline:
        await asyncio.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
        obj = await ctx.cluster.get(path)
        complete, message, counts = progress(found.kind, obj)
    conditions = [Condition(type=str(c.get("type")), status=str(c.get("status")), reason=c.get("reason"),
                            message=trim(str(c["message"]), 200) if c.get("message") else None)
                  for c in (obj.get("status") or {}).get("conditions") or []]
    desired, updated, ready, available = counts
    return RolloutStatusResult(kind=found.kind, name=found.name, namespace=str(found.namespace), desired=desired,
                               updated=updated, ready=ready, available=available, complete=complete, message=message,
                               conditions=conditions)
