"""Service addresses: ClusterIPs from 10.96.0.0/12 and NodePorts from 30000-32767,
as requested when free and valid, allocated otherwise; a taken or out-of-range request
is refused with the API server's messages."""

from __future__ import annotations

import ipaddress
from typing import Any

from .store import Store
from .validation import invalid_error
from .validation_errors import FieldError

Obj = dict[str, Any]

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)


def _others(store: Store, svc: Obj) -> list[Obj]:
    meta = svc["metadata"]
    key = (meta.get("namespace", ""), meta.get("name"))
    return [s for s in store.list("services") if (s["metadata"].get("namespace", ""), s["metadata"]["name"]) != key]


def assign(store: Store, svc: Obj, old: Obj | None) -> None:
    """Fill in (or check) the ClusterIP and NodePorts of ``svc`` against every other Service."""
    spec = svc.setdefault("spec", {})
    others = _others(store, svc)
    errors: list[FieldError] = []
    kind = spec.get("type", "ClusterIP")
    old_spec = (old or {}).get("spec") or {}
    if kind != "ExternalName":
        _cluster_ip(spec, old_spec, others, errors)
    if kind in ("NodePort", "LoadBalancer"):
        _node_ports(spec, old_spec, others, errors)
    else:
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)
    if errors:
        raise invalid_error("Service", "", svc["metadata"].get("name", ""), errors)


def _cluster_ip(spec: Obj, old_spec: Obj, others: list[Obj], errors: list[FieldError]) -> None:
    wanted = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0] or old_spec.get("clusterIP")
    if wanted == "None":  # headless
        spec["clusterIP"] = "None"
        spec["clusterIPs"] = ["None"]
        return
    taken = {str((s.get("spec") or {}).get("clusterIP")) for s in others}
    if wanted and wanted != old_spec.get("clusterIP"):
        value = f'[]string{{"{wanted}"}}'
        try:
            address = ipaddress.ip_address(wanted)
        except ValueError:
            return  # validation reports a malformed address
        if address not in SERVICE_CIDR:
            errors.append(FieldError("spec.clusterIPs", "FieldValueInvalid",
                                     f"Invalid value: {value}: failed to allocate IP {wanted}: the provided IP "
                                     f"({wanted}) is not in the valid range. The range of valid IPs is {SERVICE_CIDR}"))
            return
        if wanted in taken:
            errors.append(FieldError("spec.clusterIPs", "FieldValueInvalid",
                                     f"Invalid value: {value}: failed to allocate IP {wanted}: provided IP is "
                                     f"already allocated"))
            return
    if not wanted:
        wanted = next(str(SERVICE_CIDR.network_address + n) for n in range(1, SERVICE_CIDR.num_addresses - 1)
                      if str(SERVICE_CIDR.network_address + n) not in taken)
    spec["clusterIP"] = wanted
    spec["clusterIPs"] = [wanted]


def _node_ports(spec: Obj, old_spec: Obj, others: list[Obj], errors: list[FieldError]) -> None:
    taken = {int(p["nodePort"]) for s in others for p in (s.get("spec") or {}).get("ports") or []
             if p.get("nodePort")}
    previous = {int(p["nodePort"]) for p in old_spec.get("ports") or [] if p.get("nodePort")}
    by_port = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
    mine: set[int] = set()
    for i, port in enumerate(spec.get("ports") or []):
        wanted = port.get("nodePort") or by_port.get(port.get("port"))
        if wanted:
            wanted = int(wanted)
            where = f"spec.ports[{i}].nodePort"
            if wanted not in NODE_PORTS:
                errors.append(FieldError(where, "FieldValueInvalid",
                                         f"Invalid value: {wanted}: provided port is not in the valid range. "
                                         f"The range of valid ports is 30000-32767"))
                continue
            if (wanted in taken or wanted in mine) and wanted not in previous - mine:
                errors.append(FieldError(where, "FieldValueInvalid",
                                         f"Invalid value: {wanted}: provided port is already allocated"))
                continue
        else:
            wanted = next(p for p in NODE_PORTS if p not in taken and p not in mine)
        port["nodePort"] = wanted
        mine.add(wanted)
