"""How a pod is doing, as kubectl's STATUS, READY and RESTARTS columns tell it."""

from __future__ import annotations

from typing import Any


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list((pod.get("status") or {}).get("containerStatuses") or [])


def ready(pod: dict[str, Any]) -> tuple[int, int]:
    """(ready containers, containers)."""
    specs = (pod.get("spec") or {}).get("containers") or []
    return sum(1 for c in containers(pod) if c.get("ready")), len(specs)


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def restarts(pod: dict[str, Any]) -> int:
    return sum(int(c.get("restartCount", 0)) for c in containers(pod))


def reason(pod: dict[str, Any]) -> str:
    """kubectl's STATUS: a waiting or terminated container's reason, else the phase."""
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    result = str(status.get("reason") or status.get("phase") or "Unknown")
    for init in status.get("initContainerStatuses") or []:
        state = init.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing"):
            return f"Init:{state['waiting']['reason']}"
    for c in containers(pod):
        state = c.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            result = str(state["waiting"]["reason"])
        elif "terminated" in state:
            term = state["terminated"]
            result = str(term.get("reason") or f"ExitCode:{term.get('exitCode')}")
    return result
