"""RBAC: Roles, ClusterRoles and their bindings, as ``k8s.io/kubernetes/pkg/apis/rbac/validation`` checks them.

Resource rules need an API group, a namespaced Role may not grant
non-resource URLs; a binding's ``roleRef`` names a (Cluster)Role of the RBAC
group and may not change; subjects are Users, Groups or ServiceAccounts (with
a namespace, in a ClusterRoleBinding).
"""

from __future__ import annotations

from typing import Final

from sandbox.validation_errors import FieldError, Obj, invalid, not_supported, required

_GROUP: Final = "rbac.authorization.k8s.io"
_SUBJECT_KINDS: Final = ("Group", "ServiceAccount", "User")


def validate_rbac(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    kind = obj.get("kind")
    for i, rule in enumerate(obj.get("rules") or []):
        if rule.get("resources") and not rule.get("apiGroups"):
            errs.append(required(f"rules[{i}].apiGroups", "resource rules must supply at least one api group"))
        if rule.get("nonResourceURLs") and kind == "Role":
            errs.append(
                invalid(
                    f"rules[{i}].nonResourceURLs",
                    rule["nonResourceURLs"],
                    "namespaced rules cannot apply to non-resource URLs",
                )
            )
    ref = obj.get("roleRef")
    if isinstance(ref, dict):
        allowed = ("ClusterRole",) if kind == "ClusterRoleBinding" else ("Role", "ClusterRole")
        if ref.get("kind") not in allowed:
            errs.append(not_supported("roleRef.kind", ref.get("kind", ""), allowed))
        if ref.get("apiGroup") != _GROUP:
            errs.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), (_GROUP,)))
        if old is not None and old.get("roleRef") and ref != old.get("roleRef"):
            errs.append(invalid("roleRef", ref, "cannot change roleRef"))
    for i, subject in enumerate(obj.get("subjects") or []):
        subject_kind = subject.get("kind")
        if subject_kind not in _SUBJECT_KINDS:
            errs.append(not_supported(f"subjects[{i}].kind", subject_kind or "", _SUBJECT_KINDS))
        elif subject_kind == "ServiceAccount" and not subject.get("namespace") and kind == "ClusterRoleBinding":
            errs.append(required(f"subjects[{i}].namespace"))
