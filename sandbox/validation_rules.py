"""Semantic validation rules of the real API server, for the common built-in kinds.

A subset of ``k8s.io/apimachinery/pkg/api/validation`` and
``k8s.io/kubernetes/pkg/apis/*/validation``, with the same field paths and
messages: object names and label syntax, workload selectors and templates,
containers and ports, Services, ConfigMap and Secret keys, RBAC references,
and the immutable fields checked on update.  Every rule returns
:class:`FieldError` values; ``sandbox.validation`` turns them into ``Invalid``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any, Final, NamedTuple

Obj = dict[str, Any]


class FieldError(NamedTuple):
    """One ``field.Error``: the path, its ``details.causes`` reason and its body."""

    field: str
    reason: str
    body: str

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"


# ---------------------------------------------------------------------------
# field.Error constructors and Go value formatting


def go_value(value: Any) -> str:
    """A value as ``field.Invalid`` prints it (Go's ``%q``/``%v``/``%#v``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        items = ", ".join(f"{json.dumps(k)}:{json.dumps(value[k])}" for k in sorted(value))
        return f"map[string]string{{{items}}}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def go_labels(labels: Any) -> str:
    """A ``map[string]string`` value, ``nil`` when absent."""
    return go_value(labels) if isinstance(labels, dict) and labels else "map[string]string(nil)"


def go_selector(selector: Any) -> str:
    """A ``*metav1.LabelSelector`` as Go's ``%#v`` prints it."""
    if not isinstance(selector, dict):
        return "nil"
    labels = go_labels(selector.get("matchLabels"))
    exprs = selector.get("matchExpressions")
    if exprs:
        parts = [
            f"v1.LabelSelectorRequirement{{Key:{go_value(e.get('key', ''))}, "
            f"Operator:{go_value(e.get('operator', ''))}, Values:{_go_strings(e.get('values'))}}}"
            for e in exprs
            if isinstance(e, dict)
        ]
        expressions = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        expressions = "[]v1.LabelSelectorRequirement(nil)"
    return f"&v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{expressions}}}"


def _go_strings(values: Any) -> str:
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_value(v) for v in values) + "}"


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(field, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def invalid(field: str, value: Any, detail: str, *, formatted: str | None = None) -> FieldError:
    shown = formatted if formatted is not None else go_value(value)
    return FieldError(field, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def not_supported(field: str, value: Any, supported: Iterable[str]) -> FieldError:
    values = ", ".join(json.dumps(s) for s in supported)
    return FieldError(
        field, "FieldValueNotSupported", f"Unsupported value: {go_value(value)}: supported values: {values}"
    )


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(field, "FieldValueForbidden", f"Forbidden: {detail}")


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(field, "FieldValueDuplicate", f"Duplicate value: {go_value(value)}")


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(field, "FieldValueNotFound", f"Not found: {go_value(value)}")


# ---------------------------------------------------------------------------
# apimachinery/pkg/util/validation


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT: Final = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT: Final = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_CONFIG_KEY_FMT: Final = "[-._a-zA-Z0-9]+"
_DNS1123_LABEL_RE: Final = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE: Final = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE: Final = re.compile(_DNS1035_LABEL_FMT)
_QUALIFIED_NAME_RE: Final = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE: Final = re.compile(_LABEL_VALUE_FMT)
_CONFIG_KEY_RE: Final = re.compile(_CONFIG_KEY_FMT)
_PORT_NAME_CHARS_RE: Final = re.compile("[-a-z0-9]+")
_QUALIFIED_NAME_MSG: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)


def dns1123_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _DNS1123_LABEL_RE.fullmatch(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character",
                _DNS1123_LABEL_FMT,
                "my-name",
                "123-abc",
            )
        )
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', "
                "and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return errs


def path_segment(value: str) -> list[str]:
    """``path.IsValidPathSegmentName``, for RBAC object names."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


def qualified_name(value: str) -> list[str]:
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in dns1123_subdomain(parts[0]))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errs.append(
            "name part "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def label_value(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', "
                "and must start and end with an alphanumeric character",
                _LABEL_VALUE_FMT,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errs


def config_key(value: str) -> list[str]:
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _CONFIG_KEY_RE.fullmatch(value):
        errs.append(
            _regex_error(
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                _CONFIG_KEY_FMT,
                "key.name",
                "KEY_NAME",
                "key-name",
            )
        )
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def port_name(value: str) -> list[str]:
    """``IsValidPortName`` (an IANA_SVC_NAME)."""
    errs = [_max_len(15)] if len(value) > 15 else []
    if not _PORT_NAME_CHARS_RE.fullmatch(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


_PORT_RANGE: Final = "must be between 1 and 65535, inclusive"


def _port_ok(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


# ---------------------------------------------------------------------------
# Object meta


def validate_labels(labels: Any, field: str, errs: list[FieldError]) -> None:
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        errs.extend(invalid(field, key, m) for m in qualified_name(key))
        if isinstance(value, str):
            errs.extend(invalid(field, value, m) for m in label_value(value))


def _validate_annotations(annotations: Any, field: str, errs: list[FieldError]) -> None:
    if not isinstance(annotations, dict):
        return
    for key in annotations:
        errs.extend(invalid(field, key, m) for m in qualified_name(key.lower()))
    size = sum(len(k) + len(v) for k, v in annotations.items() if isinstance(v, str))
    if size > 262144:
        errs.append(FieldError(field, "FieldValueTooLong", "Too long: must have at most 262144 bytes"))


NameFn = Callable[[str], list[str]]


def validate_meta(meta: Obj, name_fn: NameFn | None, errs: list[FieldError]) -> None:
    """``ValidateObjectMeta``: name or generateName, namespace, labels, annotations."""
    if name_fn is not None:
        name = meta.get("name") or ""
        generate = meta.get("generateName") or ""
        if generate:
            masked = generate[:-1] + "a" if generate.endswith("-") else generate
            errs.extend(invalid("metadata.generateName", generate, m) for m in name_fn(masked))
        if name:
            errs.extend(invalid("metadata.name", name, m) for m in name_fn(name))
        elif not generate:
            errs.append(required("metadata.name", "name or generateName is required"))
    namespace = meta.get("namespace")
    if namespace:
        errs.extend(invalid("metadata.namespace", namespace, m) for m in dns1123_label(namespace))
    validate_labels(meta.get("labels"), "metadata.labels", errs)
    _validate_annotations(meta.get("annotations"), "metadata.annotations", errs)


# ---------------------------------------------------------------------------
# Label selectors


_OPERATORS: Final = ("In", "NotIn", "Exists", "DoesNotExist")


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
                errs.append(
                    required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(
                        f"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                    )
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


def _selector_empty(selector: Obj) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


# ---------------------------------------------------------------------------
# Quantities


_SUFFIXES: Final[dict[str, Fraction]] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_QUANTITY_PARTS_RE: Final = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))([a-zA-Z]*|[eE][+-]?\d+)")


def parse_quantity(value: Any) -> Fraction | None:
    """A quantity's exact value, or ``None`` if it cannot be parsed."""
    m = _QUANTITY_PARTS_RE.fullmatch(str(value))
    if not m:
        return None
    number, suffix = m.groups()
    if suffix[:1] in ("e", "E") and suffix[1:].lstrip("+-").isdigit():
        return Fraction(number) * Fraction(10) ** int(suffix[1:])
    scale = _SUFFIXES.get(suffix)
    return None if scale is None else Fraction(number) * scale


# ---------------------------------------------------------------------------
# Pods and pod templates


_PROTOCOLS: Final = ("SCTP", "TCP", "UDP")
_RESTART_POLICIES: Final = ("Always", "Never", "OnFailure")


def _validate_ports(ports: Any, path: str, errs: list[FieldError]) -> None:
    names: set[str] = set()
    for i, port in enumerate(ports or []):
        p = f"{path}[{i}]"
        name = port.get("name")
        if name:
            errs.extend(invalid(f"{p}.name", name, m) for m in port_name(name))
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        number = port.get("containerPort", 0)
        if number == 0:
            errs.append(required(f"{p}.containerPort"))
        elif not _port_ok(number):
            errs.append(invalid(f"{p}.containerPort", number, _PORT_RANGE))
        host = port.get("hostPort", 0)
        if host and not _port_ok(host):
            errs.append(invalid(f"{p}.hostPort", host, _PORT_RANGE))
        protocol = port.get("protocol")
        if protocol is not None and protocol not in _PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", protocol, _PROTOCOLS))


def _validate_resources(resources: Any, path: str, errs: list[FieldError]) -> None:
    if not isinstance(resources, dict):
        return
    limits = resources.get("limits") or {}
    for name, request in (resources.get("requests") or {}).items():
        if name not in limits:
            continue
        req, lim = parse_quantity(request), parse_quantity(limits[name])
        if req is not None and lim is not None and req > lim:
            errs.append(
                invalid(
                    f"{path}.requests",
                    request,
                    f"must be less than or equal to {name} limit of {limits[name]}",
                )
            )


def _validate_containers(spec: Obj, path: str, errs: list[FieldError], claims: frozenset[str]) -> None:
    volumes = claims | {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    names: set[str] = set()
    groups = [
        ("initContainers", spec.get("initContainers") or []),
        ("containers", spec.get("containers") or []),
    ]
    for group, containers in groups:
        for i, container in enumerate(containers):
            p = f"{path}.{group}[{i}]"
            name = container.get("name") or ""
            if not name:
                errs.append(required(f"{p}.name"))
            else:
                errs.extend(invalid(f"{p}.name", name, m) for m in dns1123_label(name))
                if name in names:
                    errs.append(duplicate(f"{p}.name", name))
                names.add(name)
            if not container.get("image"):
                errs.append(required(f"{p}.image"))
            _validate_ports(container.get("ports"), f"{p}.ports", errs)
            _validate_resources(container.get("resources"), f"{p}.resources", errs)
            for j, mount in enumerate(container.get("volumeMounts") or []):
                mount_name = mount.get("name")
                if mount_name and mount_name not in volumes:
                    errs.append(not_found(f"{p}.volumeMounts[{j}].name", mount_name))


def validate_pod_spec(
    spec: Any,
    path: str,
    errs: list[FieldError],
    restart: tuple[str, ...] = _RESTART_POLICIES,
    claims: frozenset[str] = frozenset(),
) -> None:
    """``ValidatePodSpec`` (the common part): containers, volumes, restart policy.

    ``claims``: names of a StatefulSet's volume claim templates, mountable too.
    """
    if not isinstance(spec, dict):
        return
    if not spec.get("containers"):
        errs.append(required(f"{path}.containers"))
    seen: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name") or ""
        if not name:
            errs.append(required(f"{path}.volumes[{i}].name"))
            continue
        errs.extend(invalid(f"{path}.volumes[{i}].name", name, m) for m in dns1123_label(name))
        if name in seen:
            errs.append(duplicate(f"{path}.volumes[{i}].name", name))
        seen.add(name)
    _validate_containers(spec, path, errs, claims)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in restart:
        errs.append(not_supported(f"{path}.restartPolicy", policy, restart))


def _validate_template(
    template: Any,
    path: str,
    errs: list[FieldError],
    restart: tuple[str, ...],
    claims: frozenset[str] = frozenset(),
) -> None:
    if not isinstance(template, dict):
        return
    meta = template.get("metadata") or {}
    validate_labels(meta.get("labels"), f"{path}.metadata.labels", errs)
    _validate_annotations(meta.get("annotations"), f"{path}.metadata.annotations", errs)
    validate_pod_spec(template.get("spec"), f"{path}.spec", errs, restart, claims)


def _pod(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    validate_pod_spec(obj.get("spec"), "spec", errs)


def _pod_template(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    _validate_template(obj.get("template"), "template", errs, _RESTART_POLICIES)


# ---------------------------------------------------------------------------
# Workloads


def _non_negative(spec: Obj, field: str, path: str, errs: list[FieldError]) -> None:
    value = spec.get(field)
    if isinstance(value, int) and value < 0:
        errs.append(invalid(f"{path}.{field}", value, "must be greater than or equal to 0"))


def _immutable(
    new: Any, old: Any, field: str, errs: list[FieldError], *, formatted: str | None = None
) -> None:
    if new is not None and old is not None and new != old:
        errs.append(invalid(field, new, "field is immutable", formatted=formatted))


def _workload(what: str) -> Callable[[Obj, Obj | None, list[FieldError]], None]:
    """Deployment, ReplicaSet, StatefulSet, DaemonSet (and ReplicationController)."""

    def rule(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        _non_negative(spec, "replicas", "spec", errs)
        _non_negative(spec, "minReadySeconds", "spec", errs)
        _non_negative(spec, "revisionHistoryLimit", "spec", errs)
        selector = spec.get("selector")
        template = spec.get("template")
        if what == "replicationcontroller":
            selector = {"matchLabels": selector} if isinstance(selector, dict) and selector else None
            if selector is None and isinstance(template, dict):  # defaulted from the template
                selector = {"matchLabels": (template.get("metadata") or {}).get("labels") or {}}
        elif isinstance(selector, dict):
            validate_selector(selector, "spec.selector", errs)
            if _selector_empty(selector):
                errs.append(
                    invalid(
                        "spec.selector",
                        selector,
                        f"empty selector is invalid for {what}",
                        formatted=go_selector(selector),
                    )
                )
        if isinstance(template, dict):
            labels = (template.get("metadata") or {}).get("labels")
            if not (isinstance(selector, dict) and _selector_empty(selector)) and not selector_matches(
                selector, labels
            ):
                errs.append(
                    invalid(
                        "spec.template.metadata.labels",
                        labels,
                        "`selector` does not match template `labels`",
                        formatted=go_labels(labels),
                    )
                )
            claims = frozenset(
                (c.get("metadata") or {}).get("name", "") for c in spec.get("volumeClaimTemplates") or []
            )
            _validate_template(template, "spec.template", errs, ("Always",), claims)
        if what == "deployment":
            _deployment_strategy(spec.get("strategy"), errs)
        if what == "statefulset":
            policy = spec.get("podManagementPolicy")
            if policy is not None and policy not in ("OrderedReady", "Parallel"):
                errs.append(not_supported("spec.podManagementPolicy", policy, ("OrderedReady", "Parallel")))
        if old is not None and what != "replicationcontroller":
            old_selector = (old.get("spec") or {}).get("selector")
            _immutable(selector, old_selector, "spec.selector", errs, formatted=go_selector(selector))

    return rule


def _int_or_percent(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].lstrip("-").isdigit():
        return int(value[:-1])
    return None


def _deployment_strategy(strategy: Any, errs: list[FieldError]) -> None:
    if not isinstance(strategy, dict):
        return
    kind = strategy.get("type")
    if kind is not None and kind not in ("Recreate", "RollingUpdate"):
        errs.append(not_supported("spec.strategy.type", kind, ("Recreate", "RollingUpdate")))
    rolling = strategy.get("rollingUpdate")
    if not isinstance(rolling, dict):
        return
    if kind == "Recreate":
        errs.append(
            forbidden(
                "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
            )
        )
        return
    path = "spec.strategy.rollingUpdate"
    values = {f: _int_or_percent(rolling.get(f)) for f in ("maxUnavailable", "maxSurge")}
    for field, number in values.items():
        if number is not None and number < 0:
            errs.append(invalid(f"{path}.{field}", rolling[field], "must be greater than or equal to 0"))
    if isinstance(rolling.get("maxUnavailable"), str) and (values["maxUnavailable"] or 0) > 100:
        errs.append(
            invalid(f"{path}.maxUnavailable", rolling["maxUnavailable"], "must not be greater than 100%")
        )
    if values["maxUnavailable"] == 0 and values["maxSurge"] == 0:
        errs.append(
            invalid(f"{path}.maxUnavailable", rolling["maxUnavailable"], "may not be 0 when `maxSurge` is 0")
        )


_JOB_RESTART: Final = ("OnFailure", "Never")


def _job_spec(spec: Any, path: str, errs: list[FieldError]) -> None:
    if not isinstance(spec, dict):
        return
    for field in (
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ):
        _non_negative(spec, field, path, errs)
    selector = spec.get("selector")
    if isinstance(selector, dict):
        validate_selector(selector, f"{path}.selector", errs)
    _validate_template(spec.get("template"), f"{path}.template", errs, _JOB_RESTART)


def _job(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    spec = obj.get("spec")
    _job_spec(spec, "spec", errs)
    if old is not None and isinstance(spec, dict):
        old_spec = old.get("spec") or {}
        _immutable(
            spec.get("selector"),
            old_spec.get("selector"),
            "spec.selector",
            errs,
            formatted=go_selector(spec.get("selector")),
        )
        _immutable(
            spec.get("template"),
            old_spec.get("template"),
            "spec.template",
            errs,
            formatted="core.PodTemplateSpec{...}",
        )


_CRON_MACROS: Final = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


def _cronjob(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    schedule = spec.get("schedule")
    if isinstance(schedule, str):
        body = re.sub(r"^(CRON_)?TZ=\S+\s+", "", schedule.strip())
        fields = body.split()
        if schedule.startswith(("TZ=", "CRON_TZ=")):
            errs.append(
                invalid(
                    "spec.schedule",
                    schedule,
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                )
            )
        elif not (body in _CRON_MACROS or body.startswith("@every ")) and len(fields) != 5:
            errs.append(
                invalid("spec.schedule", schedule, f"expected exactly 5 fields, found {len(fields)}: {body}")
            )
    policy = spec.get("concurrencyPolicy")
    if policy is not None and policy not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported("spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace")))
    for field in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        _non_negative(spec, field, "spec", errs)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        _job_spec(job_template.get("spec"), "spec.jobTemplate.spec", errs)


def _hpa(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        errs.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if isinstance(high, int):
        if high < 1:
            errs.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
        elif isinstance(low, int) and high < low:
            errs.append(invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))


# ---------------------------------------------------------------------------
# Services


_SERVICE_TYPES: Final = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _service(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    kind = spec.get("type", "ClusterIP")
    if kind not in _SERVICE_TYPES:
        errs.append(not_supported("spec.type", kind, _SERVICE_TYPES))
    ports = spec.get("ports") or []
    if kind == "ExternalName":
        if not spec.get("externalName"):
            errs.append(required("spec.externalName"))
    elif not ports:
        errs.append(required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if not name:
            if len(ports) > 1:
                errs.append(required(f"{p}.name"))
        else:
            errs.extend(invalid(f"{p}.name", name, m) for m in dns1123_label(name))
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        if "port" in port and not _port_ok(port["port"]):
            errs.append(invalid(f"{p}.port", port["port"], _PORT_RANGE))
        protocol = port.get("protocol")
        if protocol is not None and protocol not in _PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", protocol, _PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, int) and target != 0 and not _port_ok(target):
            errs.append(invalid(f"{p}.targetPort", target, _PORT_RANGE))
        elif isinstance(target, str) and target:
            errs.extend(invalid(f"{p}.targetPort", target, m) for m in port_name(target))
        node_port = port.get("nodePort")
        if node_port:
            if kind in ("ClusterIP", "ExternalName"):
                errs.append(forbidden(f"{p}.nodePort", f"may not be used when `type` is '{kind}'"))
            elif not 30000 <= node_port <= 32767:
                errs.append(
                    invalid(
                        f"{p}.nodePort",
                        node_port,
                        "provided port is not in the valid range. The range of valid ports is 30000-32767",
                    )
                )
    cluster_ip = spec.get("clusterIP")
    if cluster_ip and cluster_ip != "None":
        try:
            ipaddress.ip_address(cluster_ip)
        except ValueError:
            errs.append(
                invalid(
                    "spec.clusterIP",
                    cluster_ip,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                )
            )
    validate_labels(spec.get("selector"), "spec.selector", errs)
    if old is not None and kind != "ExternalName":
        old_spec = old.get("spec") or {}
        old_ip = old_spec.get("clusterIP")
        if old_ip and cluster_ip and old_spec.get("type") != "ExternalName":
            _immutable(cluster_ip, old_ip, "spec.clusterIP", errs)


# ---------------------------------------------------------------------------
# ConfigMaps and Secrets


def _validate_keys(data: Any, field: str, errs: list[FieldError]) -> None:
    for key in data or {}:
        errs.extend(invalid(f"{field}[{key}]", key, m) for m in config_key(key))


def _immutable_data(obj: Obj, old: Obj | None, fields: tuple[str, ...], errs: list[FieldError]) -> None:
    if old is None or not old.get("immutable"):
        return
    if not obj.get("immutable"):
        errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            errs.append(forbidden(field, "field is immutable when `immutable` is set"))


def _configmap(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    _validate_keys(data, "data", errs)
    _validate_keys(binary, "binaryData", errs)
    for key in data:
        if key in binary:
            errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    _immutable_data(obj, old, ("data", "binaryData"), errs)


_SECRET_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def _secret(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    data, string_data = obj.get("data") or {}, obj.get("stringData") or {}
    _validate_keys(data, "data", errs)
    _validate_keys(string_data, "stringData", errs)
    kind = obj.get("type") or "Opaque"
    for key in _SECRET_KEYS.get(kind, ()):
        if key not in data and key not in string_data:
            errs.append(required(f"data[{key}]"))
    if kind == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    if old is not None:
        _immutable(obj.get("type"), old.get("type"), "type", errs)
        _immutable_data(obj, old, ("data",), errs)


# ---------------------------------------------------------------------------
# Storage, RBAC


_ACCESS_MODES: Final = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_PVC_IMMUTABLE: Final = (
    "spec is immutable after creation except resources.requests "
    "and volumeAttributesClassName for bound claims"
)


def _pvc(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    modes = spec.get("accessModes") or []
    if not modes:
        errs.append(required("spec.accessModes", "at least 1 access mode is required"))
    for mode in modes:
        if mode not in _ACCESS_MODES:
            errs.append(not_supported("spec.accessModes", mode, _ACCESS_MODES))
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests and not spec.get("dataSource") and not spec.get("dataSourceRef"):
        errs.append(required("spec.resources[storage]"))
    if old is None:
        return
    old_spec = old.get("spec") or {}
    for key, value in spec.items():
        if key == "volumeAttributesClassName" or (key == "volumeName" and not old_spec.get(key)):
            continue
        before = old_spec.get(key)
        if key == "resources" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "requests"}
            before = {k: v for k, v in (before or {}).items() if k != "requests"}
            if not value and not before:
                continue
        if value != before:
            errs.append(forbidden("spec", _PVC_IMMUTABLE))
            return


_SUBJECT_KINDS: Final = ("Group", "ServiceAccount", "User")


def _rbac(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    for i, rule in enumerate(obj.get("rules") or []):
        if rule.get("resources") and not rule.get("apiGroups"):
            errs.append(
                required(f"rules[{i}].apiGroups", "resource rules must supply at least one api group")
            )
        if rule.get("nonResourceURLs") and obj.get("kind") == "Role":
            errs.append(
                invalid(
                    f"rules[{i}].nonResourceURLs",
                    rule["nonResourceURLs"],
                    "namespaced rules cannot apply to non-resource URLs",
                )
            )
    ref = obj.get("roleRef")
    if isinstance(ref, dict):
        allowed = ("ClusterRole",) if obj.get("kind") == "ClusterRoleBinding" else ("Role", "ClusterRole")
        if ref.get("kind") not in allowed:
            errs.append(not_supported("roleRef.kind", ref.get("kind", ""), allowed))
        if ref.get("apiGroup") != "rbac.authorization.k8s.io":
            errs.append(
                not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), ("rbac.authorization.k8s.io",))
            )
        if old is not None and old.get("roleRef") and ref != old.get("roleRef"):
            errs.append(invalid("roleRef", ref, "cannot change roleRef"))
    for i, subject in enumerate(obj.get("subjects") or []):
        kind = subject.get("kind")
        if kind not in _SUBJECT_KINDS:
            errs.append(not_supported(f"subjects[{i}].kind", kind or "", _SUBJECT_KINDS))
        elif (
            kind == "ServiceAccount"
            and not subject.get("namespace")
            and obj.get("kind") == "ClusterRoleBinding"
        ):
            errs.append(required(f"subjects[{i}].namespace"))


# ---------------------------------------------------------------------------
# Dispatch


Rule = Callable[[Obj, "Obj | None", list[FieldError]], None]

RULES: Final[dict[tuple[str, str], Rule]] = {
    ("", "Pod"): _pod,
    ("", "PodTemplate"): _pod_template,
    ("", "ReplicationController"): _workload("replicationcontroller"),
    ("", "Service"): _service,
    ("", "ConfigMap"): _configmap,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _pvc,
    ("apps", "Deployment"): _workload("deployment"),
    ("apps", "ReplicaSet"): _workload("deployment"),
    ("apps", "StatefulSet"): _workload("statefulset"),
    ("apps", "DaemonSet"): _workload("daemonset"),
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
    ("rbac.authorization.k8s.io", "Role"): _rbac,
    ("rbac.authorization.k8s.io", "ClusterRole"): _rbac,
    ("rbac.authorization.k8s.io", "RoleBinding"): _rbac,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _rbac,
}

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


def check(obj: Obj, group: str, kind: str, old: Obj | None) -> list[FieldError]:
    """Every semantic error of a decoded object (``old``: the stored one, on update)."""
    errs: list[FieldError] = []
    meta = obj.get("metadata")
    name_fn = name_rule(group, kind)
    if isinstance(meta, dict):
        validate_meta(meta, name_fn, errs)
    elif name_fn is not None:
        errs.append(required("metadata.name", "name or generateName is required"))
    rule = RULES.get((group, kind))
    if rule is not None:
        rule(obj, old, errs)
    return errs
