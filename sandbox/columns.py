"""Cells of the Table columns kubectl shows, by kind (pods are in ``pod_columns``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import timefmt
from .selectors import format_selector
from .timefmt import age, human_duration, parse

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj], Any]]  # name, type, priority, cell

def _meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def _spec(o: Obj) -> Obj:
    return o.get("spec") or {}


def _status(o: Obj) -> Obj:
    return o.get("status") or {}


def _name(o: Obj) -> str:
    return str(_meta(o).get("name", ""))


def _age(o: Obj) -> str:
    return age(_meta(o).get("creationTimestamp"))


NAME: Column = ("Name", "string", 0, _name)
AGE: Column = ("Age", "string", 0, _age)


def _containers(o: Obj) -> list[Obj]:
    spec = _spec(o)
    template = (spec.get("jobTemplate") or {}).get("spec", spec).get("template") or {}
    return list((template.get("spec") or {}).get("containers") or [])


def _names(o: Obj) -> str:
    return ",".join(c.get("name", "") for c in _containers(o))


def _images(o: Obj) -> str:
    return ",".join(c.get("image", "") for c in _containers(o))


def _sel(o: Obj) -> str:
    return format_selector(_spec(o).get("selector"))


# --- workloads --------------------------------------------------------------------

WIDE_WORKLOAD: list[Column] = [
    ("Containers", "string", 1, _names),
    ("Images", "string", 1, _images),
    ("Selector", "string", 1, _sel),
]

DEPLOYMENT_COLUMNS: list[Column] = [
    NAME,
    ("Ready", "string", 0,
     lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}"),
    ("Up-to-date", "integer", 0, lambda o: _status(o).get("updatedReplicas", 0)),
    ("Available", "integer", 0, lambda o: _status(o).get("availableReplicas", 0)),
    AGE,
    *WIDE_WORKLOAD,
]

REPLICASET_COLUMNS: list[Column] = [
    NAME,
    ("Desired", "integer", 0, lambda o: _spec(o).get("replicas", 0)),
    ("Current", "integer", 0, lambda o: _status(o).get("replicas", 0)),
    ("Ready", "integer", 0, lambda o: _status(o).get("readyReplicas", 0)),
    AGE,
    *WIDE_WORKLOAD,
]

STATEFULSET_COLUMNS: list[Column] = [
    NAME,
    ("Ready", "string", 0,
     lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}"),
    AGE,
    ("Containers", "string", 1, _names),
    ("Images", "string", 1, _images),
]

DAEMONSET_COLUMNS: list[Column] = [
    NAME,
    ("Desired", "integer", 0, lambda o: _status(o).get("desiredNumberScheduled", 0)),
    ("Current", "integer", 0, lambda o: _status(o).get("currentNumberScheduled", 0)),
    ("Ready", "integer", 0, lambda o: _status(o).get("numberReady", 0)),
    ("Up-to-date", "integer", 0, lambda o: _status(o).get("updatedNumberScheduled", 0)),
    ("Available", "integer", 0, lambda o: _status(o).get("numberAvailable", 0)),
    ("Node Selector", "string", 0,
     lambda o: ",".join(f"{k}={v}" for k, v in
                        (((_spec(o).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}).items())
     or "<none>"),
    AGE,
    *WIDE_WORKLOAD,
]


def _job_status(o: Obj) -> str:
    conds = {c.get("type"): c.get("status") for c in _status(o).get("conditions") or []}
    if conds.get("Complete") == "True":
        return "Complete"
    if conds.get("Failed") == "True":
        return "Failed"
    if conds.get("Suspended") == "True":
        return "Suspended"
    return "Running"


def _job_duration(o: Obj) -> str:
    start = parse(_status(o).get("startTime"))
    if start is None:
        return ""
    end = parse(_status(o).get("completionTime")) or timefmt.now()
    return human_duration((end - start).total_seconds())


JOB_COLUMNS: list[Column] = [
    NAME,
    ("Status", "string", 0, _job_status),
    ("Completions", "string", 0,
     lambda o: f"{_status(o).get('succeeded', 0)}/{_spec(o).get('completions', 1)}"),
    ("Duration", "string", 0, _job_duration),
    AGE,
    *WIDE_WORKLOAD,
]

CRONJOB_COLUMNS: list[Column] = [
    NAME,
    ("Schedule", "string", 0, lambda o: _spec(o).get("schedule", "")),
    ("Timezone", "string", 0, lambda o: _spec(o).get("timeZone") or "<none>"),
    ("Suspend", "boolean", 0, lambda o: bool(_spec(o).get("suspend"))),
    ("Active", "integer", 0, lambda o: len(_status(o).get("active") or [])),
    ("Last Schedule", "string", 0, lambda o: age(_status(o).get("lastScheduleTime"))
     if _status(o).get("lastScheduleTime") else "<none>"),
    AGE,
    ("Containers", "string", 1, _names),
    ("Images", "string", 1, _images),
    ("Selector", "string", 1, lambda o: "<none>"),
]


# --- services and networking ------------------------------------------------------

def _ports(o: Obj) -> str:
    parts = []
    for p in _spec(o).get("ports") or []:
        text = str(p.get("port"))
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        parts.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _external_ip(o: Obj) -> str:
    spec = _spec(o)
    if spec.get("type") == "ExternalName":
        return str(spec.get("externalName", ""))
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    if spec.get("type") == "LoadBalancer":
        # kubectl's getServiceExternalIP: load balancer ingress first, then externalIPs.
        ingress = (_status(o).get("loadBalancer") or {}).get("ingress") or []
        ips = [str(i.get("ip") or i.get("hostname") or "") for i in ingress] + external
        return ",".join(ips) if ips else "<pending>"
    return ",".join(external) or "<none>"


SERVICE_COLUMNS: list[Column] = [
    NAME,
    ("Type", "string", 0, lambda o: _spec(o).get("type", "ClusterIP")),
    ("Cluster-IP", "string", 0, lambda o: _spec(o).get("clusterIP") or "<none>"),
    ("External-IP", "string", 0, _external_ip),
    ("Port(s)", "string", 0, _ports),
    AGE,
    ("Selector", "string", 1,
     lambda o: ",".join(f"{k}={v}" for k, v in sorted((_spec(o).get("selector") or {}).items()))
     or "<none>"),
]


def _endpoints(o: Obj) -> str:
    addrs = []
    for subset in o.get("subsets") or []:
        for a in subset.get("addresses") or []:
            for p in subset.get("ports") or [{}]:
                addrs.append(f"{a.get('ip')}:{p.get('port')}" if p else a.get("ip"))
    if not addrs:
        return "<none>"
    shown = ",".join(addrs[:3])
    return shown + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")


def _slice_endpoints(o: Obj) -> str:
    addresses = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        return "<unset>"
    shown = ",".join(addresses[:3])
    return shown + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")


INGRESS_COLUMNS: list[Column] = [
    NAME,
    ("Class", "string", 0, lambda o: _spec(o).get("ingressClassName") or "<none>"),
    ("Hosts", "string", 0,
     lambda o: ",".join(r.get("host", "*") for r in _spec(o).get("rules") or []) or "*"),
    ("Address", "string", 0,
     lambda o: ",".join(i.get("ip") or i.get("hostname", "")
                        for i in (_status(o).get("loadBalancer") or {}).get("ingress") or [])),
    ("Ports", "string", 0, lambda o: "80, 443" if _spec(o).get("tls") else "80"),
    AGE,
]


# --- everything else -------------------------------------------------------------

def _event_object(o: Obj) -> str:
    inv = o.get("involvedObject") or {}
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


def _event_last(o: Obj) -> str:
    stamp = o.get("lastTimestamp") or o.get("eventTime") or _meta(o).get("creationTimestamp")
    return age(stamp)


EVENT_COLUMNS: list[Column] = [
    ("Last Seen", "string", 0, _event_last),
    ("Type", "string", 0, lambda o: o.get("type", "")),
    ("Reason", "string", 0, lambda o: o.get("reason", "")),
    ("Object", "string", 0, _event_object),
    ("Subobject", "string", 1, lambda o: (o.get("involvedObject") or {}).get("fieldPath", "")),
    ("Source", "string", 1,
     lambda o: ", ".join(filter(None, [(o.get("source") or {}).get("component"),
                                        (o.get("source") or {}).get("host")]))
     or o.get("reportingComponent", "")),
    ("Message", "string", 0, lambda o: str(o.get("message", "")).strip()),
    ("First Seen", "string", 1, lambda o: age(o.get("firstTimestamp") or o.get("eventTime"))),
    ("Count", "string", 1, lambda o: str(o.get("count", 1))),
    ("Name", "string", 1, _name),
]

NAMESPACE_COLUMNS: list[Column] = [
    NAME, ("Status", "string", 0, lambda o: _status(o).get("phase", "")), AGE,
]


def _node_status(o: Obj) -> str:
    conds = {c.get("type"): c.get("status") for c in _status(o).get("conditions") or []}
    text = "Ready" if conds.get("Ready") == "True" else "NotReady"
    if _spec(o).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def _node_roles(o: Obj) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = [k[len(prefix):] for k in (_meta(o).get("labels") or {}) if k.startswith(prefix)]
    return ",".join(sorted(roles)) or "<none>"


def _node_address(kind: str) -> Callable[[Obj], str]:
    def cell(o: Obj) -> str:
        for a in _status(o).get("addresses") or []:
            if a.get("type") == kind:
                return str(a.get("address"))
        return "<none>"
    return cell


def _node_info(key: str) -> Callable[[Obj], str]:
    return lambda o: str((_status(o).get("nodeInfo") or {}).get(key, ""))


NODE_COLUMNS: list[Column] = [
    NAME,
    ("Status", "string", 0, _node_status),
    ("Roles", "string", 0, _node_roles),
    AGE,
    ("Version", "string", 0, _node_info("kubeletVersion")),
    ("Internal-IP", "string", 1, _node_address("InternalIP")),
    ("External-IP", "string", 1, _node_address("ExternalIP")),
    ("OS-Image", "string", 1, _node_info("osImage")),
    ("Kernel-Version", "string", 1, _node_info("kernelVersion")),
    ("Container-Runtime", "string", 1, _node_info("containerRuntimeVersion")),
]


def _access_modes(o: Obj) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
             "ReadWriteOncePod": "RWOP"}
    modes = _status(o).get("accessModes") or _spec(o).get("accessModes") or []
    return ",".join(short.get(m, m) for m in modes)


PVC_COLUMNS: list[Column] = [
    NAME,
    ("Status", "string", 0,
     lambda o: "Terminating" if _meta(o).get("deletionTimestamp") else _status(o).get("phase", "")),
    ("Volume", "string", 0, lambda o: _spec(o).get("volumeName", "")),
    ("Capacity", "string", 0, lambda o: (_status(o).get("capacity") or {}).get("storage", "")),
    ("Access Modes", "string", 0, _access_modes),
    ("StorageClass", "string", 0, lambda o: _spec(o).get("storageClassName") or ""),
    ("VolumeAttributesClass", "string", 0,
     lambda o: _spec(o).get("volumeAttributesClassName") or "<unset>"),
    AGE,
    ("VolumeMode", "string", 1, lambda o: _spec(o).get("volumeMode", "")),
]

PV_COLUMNS: list[Column] = [
    NAME,
    ("Capacity", "string", 0, lambda o: (_spec(o).get("capacity") or {}).get("storage", "")),
    ("Access Modes", "string", 0, _access_modes),
    ("Reclaim Policy", "string", 0, lambda o: _spec(o).get("persistentVolumeReclaimPolicy", "")),
    ("Status", "string", 0, lambda o: _status(o).get("phase", "")),
    ("Claim", "string", 0,
     lambda o: "/".join(filter(None, [(_spec(o).get("claimRef") or {}).get("namespace"),
                                      (_spec(o).get("claimRef") or {}).get("name")]))),
    ("StorageClass", "string", 0, lambda o: _spec(o).get("storageClassName", "")),
    ("VolumeAttributesClass", "string", 0,
     lambda o: _spec(o).get("volumeAttributesClassName") or "<unset>"),
    ("Reason", "string", 0, lambda o: _status(o).get("reason", "")),
    AGE,
]


def _hpa_targets(o: Obj) -> str:
    spec = _spec(o)
    current = {m.get("resource", {}).get("name"): m for m in _status(o).get("currentMetrics") or []}
    parts = []
    for metric in spec.get("metrics") or []:
        res = metric.get("resource") or {}
        target = res.get("target") or {}
        now_value = ((current.get(res.get("name")) or {}).get("resource") or {}).get("current", {})
        if target.get("type") == "Utilization" or "averageUtilization" in target:
            shown = now_value.get("averageUtilization")
            parts.append(f"{res.get('name')}: {'<unknown>' if shown is None else f'{shown}%'}/"
                         f"{target.get('averageUtilization')}%")
        else:
            shown = now_value.get("averageValue")
            parts.append(f"{res.get('name')}: {shown or '<unknown>'}/{target.get('averageValue')}")
    return ", ".join(parts) or "<none>"


HPA_COLUMNS: list[Column] = [
    NAME,
    ("Reference", "string", 0,
     lambda o: f"{(_spec(o).get('scaleTargetRef') or {}).get('kind')}/"
               f"{(_spec(o).get('scaleTargetRef') or {}).get('name')}"),
    ("Targets", "string", 0, _hpa_targets),
    ("MinPods", "string", 0, lambda o: str(_spec(o).get("minReplicas", 1))),
    ("MaxPods", "string", 0, lambda o: str(_spec(o).get("maxReplicas", ""))),
    ("Replicas", "string", 0, lambda o: str(_status(o).get("currentReplicas", 0))),
    AGE,
]


def _subjects(kind: str) -> Callable[[Obj], str]:
    def cell(o: Obj) -> str:
        found = []
        for s in o.get("subjects") or []:
            if s.get("kind") == kind:
                found.append(f"{s['namespace']}/{s['name']}" if kind == "ServiceAccount"
                             else s.get("name", ""))
        return ", ".join(found)
    return cell


def _created_at(o: Obj) -> str:
    return str(_meta(o).get("creationTimestamp", ""))


BINDING_COLUMNS: list[Column] = [
    NAME,
    ("Role", "string", 0, lambda o: f"{(o.get('roleRef') or {}).get('kind')}/"
                                    f"{(o.get('roleRef') or {}).get('name')}"),
    AGE,
    ("Users", "string", 1, _subjects("User")),
    ("Groups", "string", 1, _subjects("Group")),
    ("ServiceAccounts", "string", 1, _subjects("ServiceAccount")),
]


def _quota(o: Obj, limits: bool) -> str:
    hard = _status(o).get("hard") or _spec(o).get("hard") or {}
    used = _status(o).get("used") or {}
    keys = sorted(k for k in hard if k.startswith("limits.") == limits)
    return ", ".join(f"{k}: {used.get(k, '0')}/{hard[k]}" for k in keys)


# Columns by storage key; pods are added by ``sandbox.tables``.
COLUMNS: dict[str, list[Column]] = {
    "deployments.apps": DEPLOYMENT_COLUMNS,
    "replicasets.apps": REPLICASET_COLUMNS,
    "statefulsets.apps": STATEFULSET_COLUMNS,
    "daemonsets.apps": DAEMONSET_COLUMNS,
    "jobs.batch": JOB_COLUMNS,
    "cronjobs.batch": CRONJOB_COLUMNS,
    "services": SERVICE_COLUMNS,
    "endpoints": [NAME, ("Endpoints", "string", 0, _endpoints), AGE],
    "endpointslices.discovery.k8s.io": [
        NAME,
        ("AddressType", "string", 0, lambda o: o.get("addressType", "")),
        ("Ports", "string", 0, lambda o: ",".join(str(p.get("port")) for p in o.get("ports") or []) or "<unset>"),
        ("Endpoints", "string", 0, lambda o: _slice_endpoints(o)),
        AGE,
    ],
    "ingresses.networking.k8s.io": INGRESS_COLUMNS,
    "networkpolicies.networking.k8s.io": [
        NAME, ("Pod-Selector", "string", 0,
               lambda o: format_selector(_spec(o).get("podSelector")).replace("<none>", "")), AGE],
    "events": EVENT_COLUMNS,
    "namespaces": NAMESPACE_COLUMNS,
    "nodes": NODE_COLUMNS,
    "persistentvolumeclaims": PVC_COLUMNS,
    "persistentvolumes": PV_COLUMNS,
    "horizontalpodautoscalers.autoscaling": HPA_COLUMNS,
    "configmaps": [NAME, ("Data", "integer", 0,
                          lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})), AGE],
    "secrets": [NAME, ("Type", "string", 0, lambda o: o.get("type", "")),
                ("Data", "integer", 0, lambda o: len(o.get("data") or {})), AGE],
    "serviceaccounts": [NAME, ("Secrets", "integer", 0, lambda o: len(o.get("secrets") or [])), AGE],
    "roles.rbac.authorization.k8s.io": [NAME, ("Created At", "string", 0, _created_at)],
    "clusterroles.rbac.authorization.k8s.io": [NAME, ("Created At", "string", 0, _created_at)],
    "rolebindings.rbac.authorization.k8s.io": BINDING_COLUMNS,
    "clusterrolebindings.rbac.authorization.k8s.io": BINDING_COLUMNS,
    "poddisruptionbudgets.policy": [
        NAME,
        ("Min Available", "string", 0, lambda o: str(_spec(o).get("minAvailable", "N/A"))),
        ("Max Unavailable", "string", 0, lambda o: str(_spec(o).get("maxUnavailable", "N/A"))),
        ("Allowed Disruptions", "integer", 0, lambda o: _status(o).get("disruptionsAllowed", 0)),
        AGE,
    ],
    "storageclasses.storage.k8s.io": [
        NAME,
        ("Provisioner", "string", 0, lambda o: o.get("provisioner", "")),
        ("ReclaimPolicy", "string", 0, lambda o: o.get("reclaimPolicy", "")),
        ("VolumeBindingMode", "string", 0, lambda o: o.get("volumeBindingMode", "")),
        ("AllowVolumeExpansion", "string", 0, lambda o: str(bool(o.get("allowVolumeExpansion"))).lower()),
        AGE,
    ],
    "resourcequotas": [
        NAME, AGE,
        ("Request", "string", 0, lambda o: _quota(o, False)),
        ("Limit", "string", 0, lambda o: _quota(o, True)),
    ],
    "limitranges": [NAME, ("Created At", "string", 0, _created_at)],
}
