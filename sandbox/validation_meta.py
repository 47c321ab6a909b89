"""Object metadata and label selectors, as ``ValidateObjectMeta`` and ``ValidateLabelSelector`` check them.

Names (or ``generateName``) by the rule of their kind (:func:`name_rule`),
namespaces, label and annotation syntax, selector expressions, and whether a
selector matches a label set.
"""

from __future__ import annotations

from typing import Any, Final

from sandbox.validation_errors import FieldError, Obj, forbidden, invalid, required, too_long
from sandbox.validation_names import (
    NameFn,
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    label_value,
    path_segment,
    qualified_name,
)

_ANNOTATIONS_MAX_BYTES: Final = 262144
_NAME_REQUIRED: Final = "name or generateName is required"


# ---------------------------------------------------------------------------
# Labels, annotations and names


def validate_labels(labels: Any, field: str, errs: list[FieldError]) -> None:
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        errs.extend(invalid(field, key, m) for m in qualified_name(key))
        if isinstance(value, str):
            errs.extend(invalid(field, value, m) for m in label_value(value))


def validate_annotations(annotations: Any, field: str, errs: list[FieldError]) -> None:
    if not isinstance(annotations, dict):
        return
    for key in annotations:
        errs.extend(invalid(field, key, m) for m in qualified_name(key.lower()))
    size = sum(len(k) + len(v) for k, v in annotations.items() if isinstance(v, str))
    if size > _ANNOTATIONS_MAX_BYTES:
        errs.append(too_long(field, _ANNOTATIONS_MAX_BYTES))


def validate_labels_and_annotations(meta: Obj, path: str, errs: list[FieldError]) -> None:
    """The labels and annotations of ``meta`` (at ``path``: ``metadata``, ``spec.template.metadata``)."""
    validate_labels(meta.get("labels"), f"{path}.labels", errs)
    validate_annotations(meta.get("annotations"), f"{path}.annotations", errs)


def validate_meta(meta: Any, name_fn: NameFn | None, errs: list[FieldError]) -> None:
    """``ValidateObjectMeta``: name or generateName, namespace, labels, annotations.

    ``name_fn``: the syntax of the kind's names (``None``: names are not checked).
    """
    if not isinstance(meta, dict):
        if name_fn is not None:
            errs.append(required("metadata.name", _NAME_REQUIRED))
        return
    if name_fn is not None:
        name = meta.get("name") or ""
        generate = meta.get("generateName") or ""
        if generate:
            masked = generate[:-1] + "a" if generate.endswith("-") else generate
            errs.extend(invalid("metadata.generateName", generate, m) for m in name_fn(masked))
        if name:
            errs.extend(invalid("metadata.name", name, m) for m in name_fn(name))
        elif not generate:
            errs.append(required("metadata.name", _NAME_REQUIRED))
    namespace = meta.get("namespace")
    if namespace:
        errs.extend(invalid("metadata.namespace", namespace, m) for m in dns1123_label(namespace))
    validate_labels_and_annotations(meta, "metadata", errs)


# Kinds whose metadata.name is not validated (or not required): reviews and
# other request bodies, subresources named by the URL.
_UNNAMED: Final = frozenset(
    {
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
        "SubjectAccessReview",
        "LocalSubjectAccessReview",
        "TokenReview",
        "SelfSubjectReview",
        "TokenRequest",
        "Scale",
        "Eviction",
        "Binding",
        "DeleteOptions",
        "Status",
        "WatchEvent",
        "APIGroup",
        "APIGroupList",
        "APIResourceList",
        "APIVersions",
    }
)


def name_rule(group: str, kind: str) -> NameFn | None:
    """How ``metadata.name`` of a kind is validated (``None``: it is not)."""
    if kind in _UNNAMED or kind.endswith("List"):
        return None
    if not group and kind == "Namespace":
        return dns1123_label
    if not group and kind == "Service":
        return dns1035_label
    if group == "rbac.authorization.k8s.io":
        return path_segment
    return dns1123_subdomain


# ---------------------------------------------------------------------------
# Label selectors


def validate_selector(selector: Any, field: str, errs: list[FieldError]) -> None:
    """``ValidateLabelSelector``: label syntax and expression operators."""
    if not isinstance(selector, dict):
        return
    validate_labels(selector.get("matchLabels"), f"{field}.matchLabels", errs)
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        path = f"{field}.matchExpressions[{i}]"
        operator = expr.get("operator", "")
        values = expr.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(f"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
                )
        else:
            errs.append(invalid(f"{path}.operator", operator, "not a valid selector operator"))
        key = expr.get("key", "")
        errs.extend(invalid(f"{path}.key", key, m) for m in qualified_name(key))


def selector_matches(selector: Any, labels: Any) -> bool:
    """Whether a LabelSelector matches a label set; a missing selector matches nothing."""
    if not isinstance(selector, dict):
        return False
    labels = labels if isinstance(labels, dict) else {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if (
            (op == "In" and (not present or labels[key] not in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def selector_empty(selector: Obj) -> bool:
    """A selector with neither ``matchLabels`` nor ``matchExpressions`` (it would select everything)."""
    return not selector.get("matchLabels") and not selector.get("matchExpressions")
