"""The guard: for one call by one identity, ``allow``, ``confirm`` or ``deny(reason)``.

Checks run in two steps. Before planning (:meth:`Guard.before`): the identity's role allows
the tool's risk, the mode allows writes, a namespace named in the arguments is open to
writes, the identity is within its write rate. After planning (:meth:`Guard.after`), on the
resolved :class:`~tools.registry.Change`: every namespace it touches, the bounds (replicas,
image registries, chart sources), protected objects, and Kubernetes RBAC for identities the
policy maps to a cluster user. The verdict's reason goes back to the model as the result.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .cluster import ApiResource, Cluster
from .context import ToolContext
from .policy import Policy
from .registry import Change, Tool, ToolInput

Decision = Literal["allow", "confirm", "deny"]


@dataclass(frozen=True)
class Caller:
    """Who asks: ``<source>:<id>`` (``repl:local``, ``slack:T0123/U0456``) and the session."""

    identity: str
    session: str | None = None

    @property
    def source(self) -> str:
        return self.identity.split(":", 1)[0]


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str = ""
    rule: str = ""

    @classmethod
    def deny(cls, reason: str, rule: str) -> Verdict:
        return cls("deny", reason, rule)


ALLOW = Verdict("allow")


class Guard:
    def __init__(self, policy: Policy, clock: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self.clock = clock
        self._writes: dict[str, deque[float]] = defaultdict(deque)
        self._as: dict[str, Cluster] = {}

    def before(self, tool: Tool, args: ToolInput, caller: Caller) -> Verdict:
        """What can be decided from the call alone, before anything is read."""
        policy = self.policy
        roles = policy.roles_of(caller.identity)
        if not roles:
            return Verdict.deny(f"{caller.identity} holds no role in the policy", "bindings")
        if not policy.can(caller.identity, tool.risk):
            return Verdict.deny(f"{caller.identity} ({', '.join(roles)}) may not run {tool.risk} tools "
                                f"such as {tool.name}", "roles")
        if not tool.writes:
            return ALLOW
        if policy.mode == "read-only":
            return Verdict.deny("kai is in read-only mode: no changes are made", "mode")
        namespace = getattr(args, "namespace", None)
        why = policy.namespace_denied(namespace) if isinstance(namespace, str) and namespace else None
        if why:
            return Verdict.deny(why, "namespaces")
        limit = policy.rate_limits.writes_per_minute
        window = self._writes[caller.identity]
        now = self.clock()
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= limit:
            return Verdict.deny(f"{caller.identity} made {len(window)} writes in the last minute "
                                f"(limit {limit}); try again shortly", "rate_limits")
        return ALLOW

    def after(self, tool: Tool, change: Change) -> Verdict:
        """The decision on a planned change: deny, or confirm / allow by the mode."""
        policy = self.policy
        for namespace in change.namespaces:
            why = policy.namespace_denied(namespace)
            if why:
                return Verdict.deny(why, "namespaces")
        if change.replicas is not None:
            where = next((t.namespace for t in change.targets if t.namespace), None)
            bounds = policy.replica_bounds(where)
            if not bounds.min <= change.replicas <= bounds.max:
                return Verdict.deny(f"{change.replicas} replicas is outside the allowed range "
                                    f"{bounds.min}–{bounds.max}" + (f" for namespace {where}" if where else ""),
                                    "bounds.replicas")
        for image in change.images:
            if not policy.image_allowed(image):
                return Verdict.deny(f"image {image} is not from an allowed registry "
                                    f"({', '.join(policy.bounds.image_registries)})", "bounds.image_registries")
        if change.chart is not None and not policy.chart_allowed(change.chart):
            return Verdict.deny(f"chart {change.chart} is not from an allowed source "
                                f"({', '.join(policy.bounds.chart_sources)})", "bounds.chart_sources")
        for target in change.targets:
            why = policy.protection(target.kind, target.namespace, target.name, target.labels)
            if why:
                return Verdict.deny(why, "protected")
        if policy.mode == "auto" and tool.risk == "write":
            return ALLOW
        return Verdict("confirm", "destructive changes always need an approval"
                       if tool.risk == "destructive" else "writes need an approval in confirm mode")

    def record_write(self, caller: Caller) -> None:
        """Count one write against the identity's rate limit."""
        self._writes[caller.identity].append(self.clock())

    async def rbac(self, ctx: ToolContext, tool: Tool, change: Change, caller: Caller) -> Verdict:
        """Kubernetes RBAC for the cluster user the policy maps ``caller`` to (if any)."""
        user = self.policy.impersonate.get(caller.identity)
        if not user:
            return ALLOW
        from .resolve import resolve_kind

        for target in change.targets:
            try:
                res = await resolve_kind(ctx.cluster, target.kind)
            except Exception:
                continue  # not a Kubernetes kind (a Helm release): Helm's own requests are checked
            verb = "delete" if tool.risk == "destructive" else ("patch" if target.resource_version else "create")
            allowed, reason = await self._review(ctx, user, verb, res, target.namespace, target.name)
            if not allowed:
                return Verdict.deny(f"Kubernetes RBAC: {user} cannot {verb} {res.plural} "
                                    f"{target.name}" + (f" in {target.namespace}" if target.namespace else "")
                                    + (f" ({reason})" if reason else ""), "rbac")
        return ALLOW

    async def _review(self, ctx: ToolContext, user: str, verb: str, res: ApiResource, namespace: str | None,
                      name: str) -> tuple[bool, str]:
        """``kubectl auth can-i VERB RESOURCE/NAME -n NS --as USER``: a SelfSubjectAccessReview
        sent as ``user`` (impersonation)."""
        cluster = self._as.get(user)
        if cluster is None:
            base = ctx.cluster
            cluster = Cluster(kubeconfig=base.kubeconfig, context=base.context, impersonate=user)
            self._as[user] = cluster
        attributes = {"verb": verb, "group": res.group, "resource": res.plural, "name": name}
        if res.namespaced and namespace:
            attributes["namespace"] = namespace
        review = await cluster.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}}, idempotent=True)
        status = review.get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or "")

    def close(self) -> None:
        for cluster in self._as.values():
            cluster.close()
        self._as.clear()
