"""The pod columns of ``kubectl get pods``, ported from kubectl's ``printPod``."""

from __future__ import annotations

from typing import Any

from . import timefmt
from .columns import AGE, NAME, Column, _meta, _spec, _status
from .timefmt import human_duration, parse

Obj = dict[str, Any]


def _restartable(container: Obj | None) -> bool:
    """A sidecar: an init container with ``restartPolicy: Always``."""
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def _finished(cs: Obj) -> Any:
    return parse(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))


def _terminated_reason(term: Obj, prefix: str) -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def pod_summary(o: Obj) -> tuple[str, str, str]:
    """(Ready, Status, Restarts) as kubectl's ``printPod`` computes them."""
    spec, status = _spec(o), _status(o)
    phase = status.get("phase") or ""
    reason = str(status.get("reason") or phase)
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values() if _restartable(c))
    ready = restarts = sidecar_restarts = 0
    last = sidecar_last = None
    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount", 0))
        finished = _finished(cs)
        if finished and (last is None or finished > last):
            last = finished
        sidecar = _restartable(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount", 0))
            if finished and (sidecar_last is None or finished > sidecar_last):
                sidecar_last = finished
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts, last = sidecar_restarts, sidecar_last
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount", 0))
            finished = _finished(cs)
            if finished and (last is None or finished > last):
                last = finished
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif term is not None:
                reason = _terminated_reason(term, "")
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    if _meta(o).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    shown = str(restarts)
    if restarts and last is not None:
        shown = f"{restarts} ({human_duration((timefmt.now() - last).total_seconds())} ago)"
    return f"{ready}/{total}", reason, shown


def _pod_ready(o: Obj) -> str:
    return pod_summary(o)[0]


def pod_reason(o: Obj) -> str:
    return pod_summary(o)[1]


def _restarts(o: Obj) -> str:
    return pod_summary(o)[2]


POD_COLUMNS: list[Column] = [
    NAME,
    ("Ready", "string", 0, _pod_ready),
    ("Status", "string", 0, pod_reason),
    ("Restarts", "string", 0, _restarts),
    AGE,
    ("IP", "string", 1, lambda o: _status(o).get("podIP") or "<none>"),
    ("Node", "string", 1, lambda o: _spec(o).get("nodeName") or "<none>"),
    ("Nominated Node", "string", 1, lambda o: _status(o).get("nominatedNodeName") or "<none>"),
    ("Readiness Gates", "string", 1, lambda o: _readiness_gates(o)),
]


def _readiness_gates(o: Obj) -> str:
    gates = _spec(o).get("readinessGates") or []
    if not gates:
        return "<none>"
    conds = {c.get("type"): c.get("status") for c in _status(o).get("conditions") or []}
    ready = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
    return f"{ready}/{len(gates)}"
