"""The pods of a Job: built from its template as the Job controller builds them (labels,
controller reference, and for Indexed Jobs the completion index as a label, an
annotation, the JOB_COMPLETION_INDEX variable and the hostname), and what the
controller reads back from them (indexes, failures, restarts)."""

from __future__ import annotations

from typing import Any

from .. import objects, timefmt
from .ownership import controller_ref

Obj = dict[str, Any]

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_UID = "controller-uid"
LEGACY_NAME = "job-name"
INDEX = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"
TRACKING = "batch.kubernetes.io/job-tracking"


def job_labels(job: Obj) -> dict[str, str]:
    """The labels the API server gives a Job's template when it generates the selector."""
    meta = job["metadata"]
    return {CONTROLLER_UID: meta["uid"], JOB_NAME: meta["name"], LEGACY_UID: meta["uid"],
            LEGACY_NAME: meta["name"]}


def is_indexed(job: Obj) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def pod_index(pod: Obj) -> int | None:
    meta = pod.get("metadata") or {}
    text = (meta.get("labels") or {}).get(INDEX) or (meta.get("annotations") or {}).get(INDEX)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def new_pod(job: Obj, index: int | None) -> Obj:
    """The pod to create for ``job`` (for completion ``index`` of an Indexed Job)."""
    meta = job["metadata"]
    template = objects.copy((job.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    if not (job.get("spec") or {}).get("manualSelector"):
        for key, value in job_labels(job).items():
            labels.setdefault(key, value)
    annotations = dict(tmeta.get("annotations") or {})
    spec = template.get("spec") or {}
    pod_meta: Obj = {"generateName": f"{meta['name']}-", "labels": labels,
                     "ownerReferences": [controller_ref(job)]}
    if index is not None:
        pod_meta["generateName"] = f"{meta['name']}-{index}-"
        labels[INDEX] = str(index)
        annotations[INDEX] = str(index)
        spec["hostname"] = f"{meta['name']}-{index}"
        for key in ("initContainers", "containers"):
            for container in spec.get(key) or []:
                env = [e for e in container.get("env") or [] if e.get("name") != INDEX_ENV]
                env.insert(0, {"name": INDEX_ENV, "valueFrom": {"fieldRef": {
                    "apiVersion": "v1", "fieldPath": f"metadata.labels['{INDEX}']"}}})
                container["env"] = env
    if annotations:
        pod_meta["annotations"] = annotations
    return {"metadata": pod_meta, "spec": spec}


def restarts(pods: list[Obj]) -> int:
    """Container restarts of the pods still running or pending (for restartPolicy OnFailure)."""
    total = 0
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") not in ("Running", "Pending"):
            continue
        for key in ("initContainerStatuses", "containerStatuses"):
            total += sum(int(s.get("restartCount", 0)) for s in status.get(key) or [])
    return total


def finished_at(pod: Obj) -> str:
    """When a terminated pod's last container finished (its deletion or creation time else)."""
    times = [str(((s.get("state") or {}).get("terminated") or {}).get("finishedAt") or "")
             for s in (pod.get("status") or {}).get("containerStatuses") or []]
    times = [t for t in times if t]
    if times:
        return max(times)
    meta = pod["metadata"]
    return str(meta.get("deletionTimestamp") or meta.get("creationTimestamp") or timefmt.rfc3339())


def format_indexes(indexes: set[int]) -> str:
    """Completed indexes as the API writes them: ``1,3-5,7``."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = prev = None
    for n in [*ordered, None]:
        if start is not None and prev is not None and (n is None or n != prev + 1):
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return ",".join(parts)


def parse_indexes(text: str | None) -> set[int]:
    found: set[int] = set()
    for part in (text or "").split(","):
        first, dash, last = part.partition("-")
        if first.isdigit() and (not dash or last.isdigit()):
            found.update(range(int(first), int(last if dash else first) + 1))
    return found
