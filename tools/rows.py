"""Compact summaries of objects, kind by kind: the one-line row kubectl get prints (name,
ready, status, restarts, age…) and the key spec/status facts a summary or describe adds.

Everything here is pure (objects in, models out) so the tools stay thin and a result can be
checked against kubectl field by field. A Secret's values never get here: objects pass
through :func:`~tools.redact.redact_object` first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from . import podstatus
from .errors import trim

Obj = dict[str, Any]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController")


class Row(BaseModel):
    """One object as a line of ``kubectl get``: only the columns its kind has are set."""

    model_config = ConfigDict(extra="forbid")

    name: str
    namespace: str | None = None
    ready: str | None = None
    status: str | None = None
    restarts: int | None = None
    up_to_date: int | None = None
    available: int | None = None
    type: str | None = None
    cluster_ip: str | None = None
    ports: str | None = None
    node: str | None = None
    images: str | None = None
    info: str | None = None
    age: str | None = None


# --- time ------------------------------------------------------------------------------

def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration: 5s, 3m12s, 47m, 5h3m, 2d3h, 35d."""
    s = int(seconds)
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    days = hours // 24
    if days < 730:
        return f"{days}d"
    years, rest = divmod(days, 365)
    return f"{years}y{rest}d" if rest and years < 8 else f"{years}y"


def age(stamp: str | None, now: dt.datetime | None = None) -> str | None:
    """How long ago ``stamp`` (RFC 3339) was, as kubectl's AGE column says it."""
    when = parse_time(stamp)
    if when is None:
        return None
    return human_duration(((now or dt.datetime.now(dt.UTC)) - when).total_seconds())


# --- small readers ---------------------------------------------------------------------

def meta(obj: Obj) -> Obj:
    return dict(obj.get("metadata") or {})


def spec(obj: Obj) -> Obj:
    return dict(obj.get("spec") or {})


def status(obj: Obj) -> Obj:
    return dict(obj.get("status") or {})


def pod_spec(obj: Obj) -> Obj:
    """A pod's spec, or a workload's pod template spec (a CronJob's through its job template)."""
    sp = spec(obj)
    if "jobTemplate" in sp:
        sp = dict(sp["jobTemplate"].get("spec") or {})
    return dict((sp.get("template") or {}).get("spec") or {}) if "template" in sp else sp


def images(obj: Obj) -> str | None:
    return ",".join(str(c.get("image", "")) for c in pod_spec(obj).get("containers") or []) or None


def selector_string(selector: Obj | None) -> str:
    """A LabelSelector (matchLabels and matchExpressions) as the ``labelSelector`` query."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        parts = [f"{k}={v}" for k, v in sorted(selector.items())]  # a Service's plain map
    return ",".join(parts)


def owners(obj: Obj) -> list[str]:
    return [f"{o.get('kind')}/{o.get('name')}" for o in meta(obj).get("ownerReferences") or []]


def service_ports(svc: Obj) -> str | None:
    out = []
    for p in spec(svc).get("ports") or []:
        text = str(p.get("port", ""))
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or None


def condition(obj: Obj, kind: str) -> Obj | None:
    for c in status(obj).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


# --- rows kind by kind -----------------------------------------------------------------

def _pod(obj: Obj, row: Row) -> None:
    ready, total = podstatus.ready(obj)
    row.ready = f"{ready}/{total}"
    row.status = podstatus.reason(obj)
    row.restarts = podstatus.restarts(obj)
    row.node = spec(obj).get("nodeName") or None


def _deployment(obj: Obj, row: Row) -> None:
    st = status(obj)
    row.ready = f"{st.get('readyReplicas', 0) or 0}/{spec(obj).get('replicas', 1)}"
    row.up_to_date = int(st.get("updatedReplicas", 0) or 0)
    row.available = int(st.get("availableReplicas", 0) or 0)
    row.images = images(obj)
    progressing = condition(obj, "Progressing") or {}
    available = condition(obj, "Available") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        row.status = "ProgressDeadlineExceeded"
    elif available.get("status") == "False":
        row.status = str(available.get("reason") or "Unavailable")
    if spec(obj).get("paused"):
        row.status = "Paused"


def _replicas(obj: Obj, row: Row) -> None:  # StatefulSet, ReplicaSet, ReplicationController
    row.ready = f"{status(obj).get('readyReplicas', 0) or 0}/{spec(obj).get('replicas', 1)}"
    row.images = images(obj)


def _daemonset(obj: Obj, row: Row) -> None:
    st = status(obj)
    row.ready = f"{st.get('numberReady', 0) or 0}/{st.get('desiredNumberScheduled', 0) or 0}"
    row.up_to_date = int(st.get("updatedNumberScheduled", 0) or 0)
    row.available = int(st.get("numberAvailable", 0) or 0)
    row.images = images(obj)


def job_status(obj: Obj) -> str:
    for kind in ("Failed", "Complete", "Suspended"):
        if (condition(obj, kind) or {}).get("status") == "True":
            return kind
    return "Running"


def _job(obj: Obj, row: Row) -> None:
    st = status(obj)
    row.status = job_status(obj)
    row.ready = f"{st.get('succeeded', 0) or 0}/{spec(obj).get('completions', 1) or 1}"
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    if start:
        row.info = f"duration {human_duration(((end or dt.datetime.now(dt.UTC)) - start).total_seconds())}"
    row.images = images(obj)


def _cronjob(obj: Obj, row: Row) -> None:
    sp, st = spec(obj), status(obj)
    last = age(st.get("lastScheduleTime"))
    row.info = (f"schedule {sp.get('schedule')!r}, suspend {bool(sp.get('suspend'))}, "
                f"active {len(st.get('active') or [])}, last schedule {last + ' ago' if last else 'never'}")


def _service(obj: Obj, row: Row) -> None:
    sp = spec(obj)
    row.type = sp.get("type", "ClusterIP")
    row.cluster_ip = sp.get("clusterIP") or None
    row.ports = service_ports(obj)
    ingress = [i.get("ip") or i.get("hostname") for i in (status(obj).get("loadBalancer") or {}).get("ingress") or []]
    external = [*(sp.get("externalIPs") or []), *filter(None, ingress)]
    if external:
        row.info = "external " + ",".join(external)


def _node(obj: Obj, row: Row) -> None:
    ready = condition(obj, "Ready") or {}
    row.status = "Ready" if ready.get("status") == "True" else "NotReady"
    if spec(obj).get("unschedulable"):
        row.status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in meta(obj).get("labels") or {}
                   if k.startswith("node-role.kubernetes.io/"))
    version = (status(obj).get("nodeInfo") or {}).get("kubeletVersion", "")
    row.info = f"roles {','.join(roles) or '<none>'}, {version}".rstrip(", ")


def _hpa(obj: Obj, row: Row) -> None:
    sp, st = spec(obj), status(obj)
    ref = sp.get("scaleTargetRef") or {}
    row.ready = f"{st.get('currentReplicas', 0) or 0}/{st.get('desiredReplicas', 0) or 0}"
    row.info = f"{ref.get('kind')}/{ref.get('name')}, min {sp.get('minReplicas', 1)}, max {sp.get('maxReplicas')}"


def _claim(obj: Obj, row: Row) -> None:  # PVC and PV
    sp, st = spec(obj), status(obj)
    row.status = st.get("phase")
    size = (st.get("capacity") or sp.get("capacity") or {}).get("storage")
    bits = [f"volume {sp['volumeName']}" if sp.get("volumeName") else "",
            f"capacity {size}" if size else "",
            f"class {sp['storageClassName']}" if sp.get("storageClassName") else ""]
    row.info = ", ".join(b for b in bits if b) or None


def _ingress(obj: Obj, row: Row) -> None:
    hosts = [r.get("host") or "*" for r in spec(obj).get("rules") or []]
    address = [i.get("ip") or i.get("hostname") for i in (status(obj).get("loadBalancer") or {}).get("ingress") or []]
    row.info = f"hosts {','.join(hosts) or '*'}" + (f", address {','.join(filter(None, address))}" if address else "")


def _data(obj: Obj, row: Row) -> None:  # ConfigMap and Secret: how many keys, never values
    keys = len({*(obj.get("data") or {}), *(obj.get("binaryData") or {}), *(obj.get("stringData") or {})})
    if "type" in obj:
        row.type = str(obj["type"])
    row.info = f"{keys} keys"


def _event(obj: Obj, row: Row) -> None:
    row.type = obj.get("type")
    inv = obj.get("involvedObject") or {}
    row.info = trim(f"{inv.get('kind')}/{inv.get('name')} {obj.get('reason', '')}: {obj.get('message', '')}", 160)


def _phase(obj: Obj, row: Row) -> None:
    row.status = status(obj).get("phase")


ROWS: dict[str, Callable[[Obj, Row], None]] = {
    "Pod": _pod, "Deployment": _deployment, "StatefulSet": _replicas, "ReplicaSet": _replicas,
    "ReplicationController": _replicas, "DaemonSet": _daemonset, "Job": _job, "CronJob": _cronjob,
    "Service": _service, "Node": _node, "HorizontalPodAutoscaler": _hpa, "PersistentVolumeClaim": _claim,
    "PersistentVolume": _claim, "Ingress": _ingress, "ConfigMap": _data, "Secret": _data, "Event": _event,
    "Namespace": _phase,
}


def row(kind: str, obj: Obj, *, with_namespace: bool = False, now: dt.datetime | None = None) -> Row:
    """``obj`` (of ``kind``: list items carry no kind of their own) as one compact row."""
    md = meta(obj)
    out = Row(name=str(md.get("name", "")), namespace=md.get("namespace") if with_namespace else None,
              age=age(md.get("creationTimestamp"), now))
    fill = ROWS.get(kind)
    if fill is not None:
        fill(obj, out)
    return out


def status_counts(kind: str, items: list[Obj]) -> dict[str, int] | None:
    """How many objects are in each status (pods by kubectl STATUS), for kinds that have one."""
    if kind not in ROWS:
        return None
    counts: dict[str, int] = {}
    for item in items:
        value = row(kind, item).status
        if value is None:
            return None
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# --- facts: the key spec/status of one object -----------------------------------------

class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    age: str | None = None


class ContainerInfo(BaseModel):
    """A container of a pod (its state) or of a pod template (its spec)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    image: str
    init: bool | None = None
    ready: bool | None = None
    restarts: int | None = None
    state: str | None = None
    last_termination: str | None = None
    ports: str | None = None
    resources: str | None = None
    probes: str | None = None


def conditions(obj: Obj, *, only_bad: bool = False) -> list[Condition]:
    """The object's conditions; ``only_bad``: those not in their healthy state."""
    healthy_false = {"MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable", "ReplicaFailure",
                     "Failed", "Suspended"}
    out = []
    for c in status(obj).get("conditions") or []:
        kind, value = str(c.get("type", "")), str(c.get("status", ""))
        if only_bad and value == ("False" if kind in healthy_false else "True"):
            continue
        out.append(Condition(type=kind, status=value, reason=c.get("reason") or None,
                             message=trim(c["message"], 200) if c.get("message") else None,
                             age=age(c.get("lastTransitionTime") or c.get("lastUpdateTime"))))
    return out


def _state(state: Obj) -> str | None:
    if "running" in state:
        since = age((state["running"] or {}).get("startedAt"))
        return f"Running for {since}" if since else "Running"
    if "waiting" in state:
        w = state["waiting"] or {}
        return trim(f"Waiting: {w.get('reason', '')}" + (f" ({w['message']})" if w.get("message") else ""), 240)
    if "terminated" in state:
        return _terminated(state["terminated"] or {})
    return None


def _terminated(t: Obj) -> str:
    when = age(t.get("finishedAt"))
    text = f"Terminated: {t.get('reason') or 'Error'}, exit code {t.get('exitCode')}"
    text += f", {when} ago" if when else ""
    return trim(text + (f" ({t['message']})" if t.get("message") else ""), 240)


def _probe(kind: str, probe: Obj | None) -> str | None:
    if not probe:
        return None
    if "httpGet" in probe:
        how = f"http-get {probe['httpGet'].get('path', '/')} port {probe['httpGet'].get('port')}"
    elif "tcpSocket" in probe:
        how = f"tcp port {probe['tcpSocket'].get('port')}"
    elif "exec" in probe:
        how = "exec " + " ".join(str(a) for a in (probe["exec"].get("command") or []))
    else:
        how = "grpc" if "grpc" in probe else "?"
    return f"{kind} {how} delay {probe.get('initialDelaySeconds', 0)}s period {probe.get('periodSeconds', 10)}s"


def container_infos(obj: Obj) -> list[ContainerInfo]:
    """A pod's containers with their state, restarts and last termination; a workload's
    template containers with image, ports, resources and probes."""
    is_pod = "containers" in spec(obj)
    statuses = {c.get("name"): c for c in [*(status(obj).get("initContainerStatuses") or []),
                                           *(status(obj).get("containerStatuses") or [])]} if is_pod else {}
    template = pod_spec(obj)
    out = []
    for init, c in [*((True, c) for c in template.get("initContainers") or []),
                    *((False, c) for c in template.get("containers") or [])]:
        res = c.get("resources") or {}
        limits = ",".join(f"{k}={v}" for k, v in (res.get("limits") or {}).items())
        requests = ",".join(f"{k}={v}" for k, v in (res.get("requests") or {}).items())
        probes = [_probe(k, c.get(f"{k}Probe")) for k in ("liveness", "readiness", "startup")]
        info = ContainerInfo(
            name=str(c.get("name", "")), image=str(c.get("image", "")), init=True if init else None,
            ports=",".join(f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in c.get("ports") or [])
            or None,
            resources=" ".join(f"{label} {v}" for label, v in (("requests", requests), ("limits", limits)) if v)
            or None,
            probes="; ".join(p for p in probes if p) or None)
        st = statuses.get(c.get("name"))
        if st is not None:
            info.ready = bool(st.get("ready"))
            info.restarts = int(st.get("restartCount", 0) or 0)
            info.state = _state(st.get("state") or {})
            last = (st.get("lastState") or {}).get("terminated")
            info.last_termination = _terminated(last) if last else None
        out.append(info)
    return out


# --- events ----------------------------------------------------------------------------

EVENT_MESSAGE_CHARS = 200


class EventRow(BaseModel):
    """One event, as ``kubectl get events`` shows it."""

    model_config = ConfigDict(extra="forbid")

    type: str
    reason: str
    object: str | None = None
    message: str
    count: int
    last_seen: str | None = None
    namespace: str | None = None


def last_seen(event: Obj) -> str:
    """When the event last happened (RFC 3339), whichever field its reporter filled."""
    series = event.get("series") or {}
    return str(event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime")
               or event.get("firstTimestamp") or meta(event).get("creationTimestamp") or "")


def newest_first(events: list[Obj]) -> list[Obj]:
    def key(event: Obj) -> tuple[str, int]:
        version = str(meta(event).get("resourceVersion") or "0")
        return last_seen(event), int(version) if version.isdigit() else 0
    return sorted(events, key=key, reverse=True)


def event_row(event: Obj, *, with_namespace: bool = False, with_object: bool = True,
              now: dt.datetime | None = None) -> EventRow:
    inv = event.get("involvedObject") or {}
    count = int(event.get("count") or (event.get("series") or {}).get("count") or 1)
    return EventRow(type=str(event.get("type") or "Normal"), reason=str(event.get("reason") or ""),
                    object=f"{inv.get('kind', '')}/{inv.get('name', '')}" if with_object else None,
                    message=trim(str(event.get("message") or ""), EVENT_MESSAGE_CHARS), count=count,
                    last_seen=age(last_seen(event), now),
                    namespace=meta(event).get("namespace") if with_namespace else None)
