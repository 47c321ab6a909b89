"""May I? Kubernetes RBAC asked through a SelfSubjectAccessReview, as ``kubectl auth can-i``
does, for kai's own credentials or for a user kai impersonates."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .cluster import ApiResource, Cluster
from .context import ToolContext
from .inputs import ExactName, KindName, NamespaceName
from .registry import ToolInput, ToolResult, tool
from .resolve import resolve_kind

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
Verb = Literal["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate",
               "bind", "escalate", "use", "approve", "sign", "*"]
UserName = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9][A-Za-z0-9@._:\-]*$")]


async def access_review(cluster: Cluster, verb: str, resource: ApiResource, namespace: str | None = None,
                        name: str | None = None, subresource: str | None = None) -> tuple[bool, str]:
    """Whether the cluster's identity may ``verb`` the resource, and the authorizer's reason."""
    attributes = {"verb": verb, "group": resource.group, "resource": resource.plural,
                  "namespace": namespace if resource.namespaced else None, "name": name, "subresource": subresource}
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {k: v for k, v in attributes.items() if v is not None}}}
    answer = await cluster.request("POST", REVIEWS, body=review, idempotent=True)  # it stores nothing
    status = answer.get("status") or {}
    allowed = bool(status.get("allowed")) and not status.get("denied")
    reason = str(status.get("reason") or status.get("evaluationError") or "")
    if not reason:
        reason = "allowed" if allowed else "no RBAC rule allows it"
    return allowed, reason


class CanIInput(ToolInput):
    verb: Verb
    resource: KindName
    namespace: NamespaceName | None = None
    name: ExactName | None = None
    subresource: Annotated[str, Field(pattern=r"^[a-z]+$", max_length=40)] | None = None
    as_user: UserName | None = None


class AccessAnswer(ToolResult):
    allowed: bool
    answer: Literal["yes", "no"]
    question: str
    user: str
    reason: str


@tool(risk="read")
async def can_i(ctx: ToolContext, args: CanIInput) -> AccessAnswer:
    """Ask Kubernetes RBAC whether an action is allowed, as kubectl auth can-i does: for kai's
    own credentials, or for another user by impersonation. Use it before a change, or to explain
    a "forbidden" error.

    Args:
        verb: The API verb: get, list, watch, create, update, patch, delete, deletecollection (or impersonate,
            bind, escalate, use, "*").
        resource: The kind as people write it: pods, deploy, secrets, svc, nodes, ... (resolved against the cluster).
        namespace: Namespace of the action; defaults to the context's namespace (ignored for cluster-wide kinds).
        name: One object's exact name, when the question is about that object only.
        subresource: A subresource such as log, exec, scale or status.
        as_user: Ask for this user instead (impersonation, like kubectl --as), e.g. "alice" or
            "system:serviceaccount:ns:name".
    """
    resource = await resolve_kind(ctx.cluster, args.resource)
    namespace = (args.namespace or ctx.default_namespace) if resource.namespaced else None
    cluster = ctx.cluster
    if args.as_user:
        cluster = Cluster(kubeconfig=ctx.cluster.kubeconfig, context=ctx.cluster.context, impersonate=args.as_user,
                          retry=ctx.cluster.retry, timeout=ctx.cluster.timeout)
    try:
        allowed, reason = await access_review(cluster, args.verb, resource, namespace, args.name, args.subresource)
    finally:
        if cluster is not ctx.cluster:
            cluster.close()
    what = resource.plural + (f".{resource.group}" if resource.group else "")
    what += f"/{args.subresource}" if args.subresource else ""
    what += f" {args.name!r}" if args.name else ""
    question = f"{args.verb} {what}" + (f" in namespace {namespace}" if namespace else " (cluster-wide)")
    return AccessAnswer(allowed=allowed, answer="yes" if allowed else "no", question=question,
                        user=args.as_user or "kai's own credentials", reason=reason)
