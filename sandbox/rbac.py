"""Who is asking, and may they: authentication by bearer token, impersonation,
and authorization from the RBAC objects stored in the sandbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

Obj = dict[str, Any]

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return MASTERS in self.groups


ADMIN = User("kai-admin", (MASTERS, AUTHENTICATED))


@dataclass(frozen=True)
class Attributes:
    """What a request does, as the authorizer sees it."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # non-resource requests

    @property
    def is_resource(self) -> bool:
        return not self.path


class ObjectSource(Protocol):
    def list(self, storage: str, namespace: str | None = None) -> list[Obj]: ...

    def get(self, storage: str, namespace: str, name: str) -> Obj | None: ...


RBAC = "rbac.authorization.k8s.io"


def _matches(values: Iterable[str], wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values)


def _rule_allows(rule: Obj, attrs: Attributes) -> bool:
    if not _matches(rule.get("verbs") or [], attrs.verb):
        return False
    if not attrs.is_resource:
        urls = rule.get("nonResourceURLs") or []
        return any(u == attrs.path or u == "*" or (u.endswith("*") and attrs.path.startswith(u[:-1]))
                   for u in urls)
    if not _matches(rule.get("apiGroups") or [], attrs.group):
        return False
    wanted = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = rule.get("resources") or []
    ok = any(
        r == "*" or r == wanted or (attrs.subresource and r == f"*/{attrs.subresource}")
        or (r.endswith("/*") and attrs.subresource and r[:-2] == attrs.resource)
        for r in resources
    )
    if not ok:
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _subject_matches(subject: Obj, user: User, binding_ns: str) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return bool(subject.get("name") == user.name)
    if kind == "Group":
        return subject.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user.name == f"system:serviceaccount:{ns}:{subject.get('name')}"
    return False


def _role_rules(source: ObjectSource, ref: Obj, namespace: str) -> list[Obj]:
    if ref.get("kind") == "ClusterRole":
        role = source.get(f"clusterroles.{RBAC}", "", str(ref.get("name")))
    else:
        role = source.get(f"roles.{RBAC}", namespace, str(ref.get("name")))
    return list((role or {}).get("rules") or [])


def allowed(source: ObjectSource, user: User, attrs: Attributes) -> tuple[bool, str]:
    """Whether RBAC allows ``attrs`` for ``user``, and why."""
    if user.is_admin:
        return True, "system:masters"
    if not attrs.is_resource and AUTHENTICATED in user.groups and attrs.verb == "get" and (
        attrs.path in ("/api", "/apis", "/version", "/healthz", "/readyz", "/livez")
        or attrs.path.startswith(("/api/", "/apis/", "/openapi/"))
    ):
        return True, "system:discovery"
    for binding in source.list(f"clusterrolebindings.{RBAC}"):
        if any(_subject_matches(s, user, "") for s in binding.get("subjects") or []):
            for rule in _role_rules(source, binding.get("roleRef") or {}, ""):
                if _rule_allows(rule, attrs):
                    name = binding["metadata"]["name"]
                    return True, f'RBAC: allowed by ClusterRoleBinding "{name}"'
    if attrs.namespace:
        for binding in source.list(f"rolebindings.{RBAC}", attrs.namespace):
            if any(_subject_matches(s, user, attrs.namespace) for s in binding.get("subjects") or []):
                for rule in _role_rules(source, binding.get("roleRef") or {}, attrs.namespace):
                    if _rule_allows(rule, attrs):
                        name = binding["metadata"]["name"]
                        return True, f'RBAC: allowed by RoleBinding "{name}/{attrs.namespace}"'
    return False, ""


def forbidden_message(user: User, attrs: Attributes) -> str:
    """The message a real API server gives a request RBAC denies."""
    if not attrs.is_resource:
        return f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    what = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return (f'{subject} is forbidden: User "{user.name}" cannot {attrs.verb} resource "{what}" '
            f'in API group "{attrs.group}" {scope}')


def review(source: ObjectSource, user: User, spec: Obj) -> Obj:
    """The status of a SelfSubjectAccessReview with ``spec`` asked by ``user``."""
    res = spec.get("resourceAttributes")
    if res:
        attrs = Attributes(
            verb=str(res.get("verb", "")), group=str(res.get("group", "")),
            resource=str(res.get("resource", "")), subresource=str(res.get("subresource", "")),
            namespace=str(res.get("namespace", "")), name=str(res.get("name", "")),
        )
    else:
        non = spec.get("nonResourceAttributes") or {}
        attrs = Attributes(verb=str(non.get("verb", "")), path=str(non.get("path", "")))
    ok, reason = allowed(source, user, attrs)
    status: Obj = {"allowed": ok}
    if reason:
        status["reason"] = reason
    return status


def _cluster_role(name: str, rules: list[Obj], labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults",
                                          **(labels or {})}}
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}


_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_VIEW_RESOURCES = [
    ("", ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "pods/log", "pods/status",
          "replicationcontrollers", "services", "serviceaccounts", "events", "limitranges",
          "resourcequotas", "namespaces"]),
    ("apps", ["deployments", "deployments/scale", "replicasets", "replicasets/scale",
              "statefulsets", "statefulsets/scale", "daemonsets"]),
    ("batch", ["jobs", "cronjobs"]),
    ("autoscaling", ["horizontalpodautoscalers"]),
    ("networking.k8s.io", ["ingresses", "networkpolicies"]),
    ("policy", ["poddisruptionbudgets"]),
]


def bootstrap_objects() -> list[Obj]:
    """The default ClusterRoles and the binding of system:masters, as a new cluster has."""
    view = [{"apiGroups": [g], "resources": r, "verbs": _READ} for g, r in _VIEW_RESOURCES]
    edit = [
        *view,
        *({"apiGroups": [g], "resources": [x for x in r if x != "namespaces"], "verbs": _WRITE}
          for g, r in _VIEW_RESOURCES),
        {"apiGroups": [""], "resources": ["secrets"], "verbs": _READ + _WRITE},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    ]
    admin = [*edit, {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": _READ + _WRITE}]
    return [
        _cluster_role("cluster-admin", [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ]),
        _cluster_role("admin", admin, {"kubernetes.io/bootstrapping": "rbac-defaults"}),
        _cluster_role("edit", edit),
        _cluster_role("view", view),
        _cluster_role("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
             "verbs": ["create"]},
        ]),
        {
            "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:basic-user",
                         "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "system:basic-user"},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": AUTHENTICATED}],
        },
        {
            "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "cluster-admin",
                         "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": MASTERS}],
        },
    ]
