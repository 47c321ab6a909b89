"""Services, as ``ValidateService`` and ``ValidateServiceUpdate`` check them.

The type, ports (named when there are several, unique names, numbers,
protocols, target ports, node ports only for NodePort and LoadBalancer
Services, in 30000-32767), the cluster IP (and that it may not change) and the
selector's label syntax.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from sandbox.validation_errors import FieldError, Obj, forbidden, immutable, invalid, not_supported, required, unique
from sandbox.validation_meta import validate_labels
from sandbox.validation_names import dns1123_label
from sandbox.validation_ports import port_name, validate_port_number, validate_protocol

_SERVICE_TYPES: Final = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _validate_port(port: Obj, p: str, kind: str, errs: list[FieldError]) -> None:
    if "port" in port:
        validate_port_number(port["port"], f"{p}.port", errs)
    validate_protocol(port.get("protocol"), f"{p}.protocol", errs)
    target = port.get("targetPort")
    if isinstance(target, int) and target != 0:
        validate_port_number(target, f"{p}.targetPort", errs)
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


def _validate_ports(ports: list[Any], kind: str, errs: list[FieldError]) -> None:
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if not name:
            if len(ports) > 1:
                errs.append(required(f"{p}.name"))
        else:
            errs.extend(invalid(f"{p}.name", name, m) for m in dns1123_label(name))
            unique(name, names, f"{p}.name", errs)
        _validate_port(port, p, kind, errs)


def validate_service(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
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
    _validate_ports(ports, kind, errs)
    cluster_ip = spec.get("clusterIP")
    if cluster_ip and cluster_ip != "None":
        try:
            ipaddress.ip_address(cluster_ip)
        except ValueError:
            errs.append(
                invalid("spec.clusterIP", cluster_ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
            )
    validate_labels(spec.get("selector"), "spec.selector", errs)
    if old is not None and kind != "ExternalName":
        old_spec = old.get("spec") or {}
        old_ip = old_spec.get("clusterIP")
        if old_ip and cluster_ip and old_spec.get("type") != "ExternalName":
            immutable(cluster_ip, old_ip, "spec.clusterIP", errs)
