"""Pods and pod templates, as ``ValidatePodSpec`` and ``ValidatePodTemplateSpec`` check them (the common part).

Containers (names unique across init and app containers, an image, ports,
requests within limits, mounts of declared volumes), volume names and the
restart policy.  Workload kinds validate their templates with
:func:`validate_template`, narrowing the allowed restart policies.
"""

from __future__ import annotations

from typing import Any, Final

from sandbox.validation_errors import FieldError, Obj, invalid, not_found, not_supported, required, unique
from sandbox.validation_meta import validate_labels_and_annotations
from sandbox.validation_names import dns1123_label
from sandbox.validation_ports import port_name, validate_port_number, validate_protocol
from sandbox.validation_quantity import parse_quantity

RESTART_POLICIES: Final = ("Always", "Never", "OnFailure")


def _validate_ports(ports: Any, path: str, errs: list[FieldError]) -> None:
    names: set[str] = set()
    for i, port in enumerate(ports or []):
        p = f"{path}[{i}]"
        name = port.get("name")
        if name:
            errs.extend(invalid(f"{p}.name", name, m) for m in port_name(name))
            unique(name, names, f"{p}.name", errs)
        number = port.get("containerPort", 0)
        if number == 0:
            errs.append(required(f"{p}.containerPort"))
        else:
            validate_port_number(number, f"{p}.containerPort", errs)
        host = port.get("hostPort", 0)
        if host:
            validate_port_number(host, f"{p}.hostPort", errs)
        validate_protocol(port.get("protocol"), f"{p}.protocol", errs)


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
                invalid(f"{path}.requests", request, f"must be less than or equal to {name} limit of {limits[name]}")
            )


def _validate_containers(spec: Obj, path: str, errs: list[FieldError], claims: frozenset[str]) -> None:
    volumes = claims | {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(group) or []):
            p = f"{path}.{group}[{i}]"
            name = container.get("name") or ""
            if not name:
                errs.append(required(f"{p}.name"))
            else:
                errs.extend(invalid(f"{p}.name", name, m) for m in dns1123_label(name))
                unique(name, names, f"{p}.name", errs)
            if not container.get("image"):
                errs.append(required(f"{p}.image"))
            _validate_ports(container.get("ports"), f"{p}.ports", errs)
            _validate_resources(container.get("resources"), f"{p}.resources", errs)
            for j, mount in enumerate(container.get("volumeMounts") or []):
                mount_name = mount.get("name")
                if mount_name and mount_name not in volumes:
                    errs.append(not_found(f"{p}.volumeMounts[{j}].name", mount_name))


def _validate_volumes(volumes: Any, path: str, errs: list[FieldError]) -> None:
    seen: set[str] = set()
    for i, volume in enumerate(volumes or []):
        p = f"{path}[{i}].name"
        name = volume.get("name") or ""
        if not name:
            errs.append(required(p))
            continue
        errs.extend(invalid(p, name, m) for m in dns1123_label(name))
        unique(name, seen, p, errs)


def validate_pod_spec(
    spec: Any,
    path: str,
    errs: list[FieldError],
    restart: tuple[str, ...] | None = RESTART_POLICIES,
    claims: frozenset[str] = frozenset(),
) -> None:
    """``ValidatePodSpec`` (the common part): containers, volumes, restart policy.

    ``restart``: the allowed restart policies, an absent one being allowed
    (``None``: the caller checks the policy).  ``claims``: names of a
    StatefulSet's volume claim templates, mountable too.
    """
    if not isinstance(spec, dict):
        return
    if not spec.get("containers"):
        errs.append(required(f"{path}.containers"))
    _validate_volumes(spec.get("volumes"), f"{path}.volumes", errs)
    _validate_containers(spec, path, errs, claims)
    policy = spec.get("restartPolicy")
    if restart is not None and policy is not None and policy not in restart:
        errs.append(not_supported(f"{path}.restartPolicy", policy, restart))


def validate_template(
    template: Any,
    path: str,
    errs: list[FieldError],
    restart: tuple[str, ...] | None,
    claims: frozenset[str] = frozenset(),
) -> None:
    """``ValidatePodTemplateSpec``: the template's labels and annotations, then its pod spec."""
    if not isinstance(template, dict):
        return
    validate_labels_and_annotations(template.get("metadata") or {}, f"{path}.metadata", errs)
    validate_pod_spec(template.get("spec"), f"{path}.spec", errs, restart, claims)


def validate_pod(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    validate_pod_spec(obj.get("spec"), "spec", errs)


def validate_pod_template(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    validate_template(obj.get("template"), "template", errs, RESTART_POLICIES)
