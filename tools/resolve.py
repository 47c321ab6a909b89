"""Names people use, resolved against the live cluster.

"deploy" → deployments.apps; "backend" → Deployment ``todo-backend`` in ``todo-app``. The
namespace comes from the caller, else the context's namespace when the name is there, else
the one namespace where it exists. Two matches raise :class:`~tools.errors.Ambiguous` with
the candidates; none raises :class:`~tools.errors.NotFound` with the closest names. Names are
checked before any request, so shell or path characters never reach the cluster.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from .cluster import ApiResource, Cluster
from .errors import Ambiguous, Forbidden, InvalidInput, NotFound

NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
LABEL_SELECTOR = re.compile(r"^[A-Za-z0-9_./\-=!,() ]*$")
PREFERRED_GROUPS = ("", "apps", "batch", "autoscaling", "networking.k8s.io", "policy", "rbac.authorization.k8s.io")
EXTRA_ALIASES = {"deploys": "deployments", "svcs": "services", "hpas": "horizontalpodautoscalers",
                 "netpols": "networkpolicies", "crd": "customresourcedefinitions"}


def check_name(name: str, what: str = "name") -> str:
    """``name`` if it is a valid object name (DNS subdomain), else InvalidInput."""
    if not name or len(name) > 253 or not NAME.match(name):
        raise InvalidInput(f"invalid {what} {name!r}: names are lower-case letters, digits, '-' and '.'")
    return name


def check_selector(selector: str) -> str:
    if not LABEL_SELECTOR.match(selector):
        raise InvalidInput(f"invalid label selector {selector!r}")
    return selector


async def resolve_kind(cluster: Cluster, kind: str) -> ApiResource:
    """The served resource for a kind as people write it: plural, singular, Kind, short
    name, or ``kind.group``."""
    wanted = kind.strip().lower()
    group: str | None = None
    if "." in wanted:
        wanted, group = wanted.split(".", 1)
        group = group.split("/", 1)[0]
    wanted = EXTRA_ALIASES.get(wanted, wanted)
    resources = await cluster.resources()
    hits = [r for r in resources if (group is None or r.group == group) and wanted in (
        r.plural, r.singular, r.kind.lower(), *r.short_names)]
    if not hits:
        names = sorted({r.plural for r in resources} | {s for r in resources for s in r.short_names})
        close = difflib.get_close_matches(wanted, names, n=3)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise InvalidInput(f"unknown kind {kind!r}{hint}")

    def rank(r: ApiResource) -> int:
        return PREFERRED_GROUPS.index(r.group) if r.group in PREFERRED_GROUPS else len(PREFERRED_GROUPS)

    return min(hits, key=rank)


@dataclass(frozen=True)
class Resolved:
    resource: ApiResource
    name: str
    namespace: str | None
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.resource.kind

    def ref(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.resource.kind} {self.name}{where}"


def _matches(query: str, name: str) -> bool:
    if name == query:
        return True
    q = query.replace(" ", "-").replace("_", "-")
    return name == q or name.startswith(q + "-") or name.endswith("-" + q) or f"-{q}-" in name


async def namespace_exists(cluster: Cluster, namespace: str) -> bool:
    from .errors import NotFound as Missing

    try:
        await cluster.get(f"/api/v1/namespaces/{check_name(namespace, 'namespace')}")
    except Missing:
        return False
    return True


async def require_namespace(cluster: Cluster, namespace: str) -> str:
    if not await namespace_exists(cluster, namespace):
        raise NotFound(f"namespace {namespace!r} not found")
    return namespace


async def resolve(cluster: Cluster, kind: str | ApiResource, name: str, namespace: str | None = None,
                  default_namespace: str | None = None) -> Resolved:
    """The one object ``name`` means. ``namespace`` given: only there (it must exist);
    otherwise the one namespace holding it, the context's ``default_namespace`` winning a tie
    (and the only place looked in when the cluster may not be listed)."""
    res = kind if isinstance(kind, ApiResource) else await resolve_kind(cluster, kind)
    query = name.strip().lower()
    if not query:
        raise InvalidInput("a name is required")
    if not NAME.match(query.replace(" ", "-")):
        check_name(query)
    if namespace is not None:
        check_name(namespace, "namespace")
    scope = namespace if res.namespaced else None
    if (scope is not None or not res.namespaced) and NAME.match(query):
        try:  # the exact name where it must be: one GET instead of a LIST
            obj = await cluster.get(res.path(scope, query))
        except NotFound:
            pass
        else:
            return Resolved(res, query, scope, {"apiVersion": res.api_version, "kind": res.kind, **obj})
    if scope is not None:
        await require_namespace(cluster, scope)
        items = (await cluster.get(res.path(scope)))["items"]
    else:
        try:
            items = (await cluster.get(res.path()))["items"]
        except Forbidden:
            if not (res.namespaced and default_namespace):
                raise
            # an identity bound to some namespaces only (kai's chart: a Role per namespace) may
            # not list the cluster: look where it may
            return await resolve(cluster, res, name, default_namespace)
    found = [(i["metadata"].get("namespace"), i["metadata"]["name"], i) for i in items]
    exact = [f for f in found if f[1] == query]
    fuzzy = exact or [f for f in found if _matches(query, f[1])]
    if len(fuzzy) > 1 and res.namespaced and namespace is None and default_namespace:
        local = [f for f in fuzzy if f[0] == default_namespace]
        fuzzy = local or fuzzy
    if len(fuzzy) == 1:
        ns, real, obj = fuzzy[0]
        # a list's items carry no kind on a real API server; what is shown and redacted needs it
        return Resolved(res, real, ns, {"apiVersion": res.api_version, "kind": res.kind, **obj})
    what = res.kind.lower()
    where = f" in namespace {namespace}" if namespace and res.namespaced else ""
    if not fuzzy:
        close = difflib.get_close_matches(query, sorted({f[1] for f in found}), n=3, cutoff=0.5)
        raise NotFound(f"no {what} named {name!r}{where}", [_label(f[0], f[1]) for f in found if f[1] in close])
    raise Ambiguous(f"{name!r} matches {len(fuzzy)} {res.plural}{where}; say which",
                    [_label(f[0], f[1]) for f in fuzzy][:20])


def _label(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name
