"""The Job controller: runs pods to completion as kube-controller-manager 1.32 does.

``parallelism`` pods at a time until ``completions`` succeed (one per index for Indexed
Jobs), replacements after a failure delayed by the exponential back-off (10 s doubling
to 6 min, simulated), ``backoffLimit`` (failed pods, or container restarts when pods
restart OnFailure) and ``activeDeadlineSeconds`` ending the Job with a FailureTarget
and then a Failed condition once its pods are gone, SuccessCriteriaMet and then
Complete on success, ``suspend`` deleting the active pods, and the TTL-after-finished
controller deleting a finished Job ``ttlSecondsAfterFinished`` later. Finished pods are
counted once each (tracked by uid, as the real controller tracks them with finalizers)."""

from __future__ import annotations

import contextlib
from typing import Any

from .. import timefmt
from ..errors import NotFound
from ..registry import DeleteOptions, WriteOptions
from ..selectors import labels_match, selector_from_match_labels
from ..store import Change
from .base import Controller, Key
from .events import Recorder
from .job_pods import (
    finished_at,
    format_indexes,
    is_indexed,
    new_pod,
    parse_indexes,
    pod_index,
    restarts,
)
from .kinds import JOBS, PODS
from .ownership import is_ready
from .workload_common import (
    condition,
    controlled,
    elapsed,
    has_condition,
    later,
    owner_keys,
    write_status,
)

Obj = dict[str, Any]
COMPONENT = "job-controller"
BACKOFF_BASE = 10.0
BACKOFF_MAX = 360.0
BACKOFF = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETED = ("CompletionsReached", "Reached expected number of succeeded pods")


class JobController(Controller):
    watches = ("jobs.batch", "pods")
    primary = "jobs.batch"
    resync = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = Recorder(self.registry)
        self._counted: dict[str, set[str]] = {}  # job uid -> uids of pods counted finished

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "pods":
            return owner_keys(change, "Job")
        return list(super().keys_for(change))

    # --- the loop ---------------------------------------------------------------------

    def reconcile(self, namespace: str, name: str) -> None:
        job = self.store.get("jobs.batch", namespace, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            self._forget(namespace, name)
            return
        if has_condition(job, "Complete") or has_condition(job, "Failed"):
            self._expire(job)
            return
        spec, old = job.get("spec") or {}, job.get("status") or {}
        pods = self._pods(job)
        succeeded, failed, done = self._count(job, pods)
        active = [p for p in pods if _active(p)]
        terminating = [p for p in pods if p["metadata"].get("deletionTimestamp") and not _finished(p)]
        conditions = list(old.get("conditions") or [])
        status: Obj = {k: v for k, v in old.items() if k in ("startTime", "completionTime")}
        suspended = bool(spec.get("suspend"))
        finishing = has_condition(job, "FailureTarget") or has_condition(job, "SuccessCriteriaMet")
        if suspended and not finishing:
            active = self._delete(job, active)
            status.pop("startTime", None)
            if not has_condition(job, "Suspended"):
                self.events.record(job, "Normal", "Suspended", "Job suspended", COMPONENT)
            conditions = _put(conditions, condition("Suspended", True, "JobSuspended", "Job suspended",
                                                    conditions, probe=True))
        else:
            if has_condition(job, "Suspended"):
                self.events.record(job, "Normal", "Resumed", "Job resumed", COMPONENT)
                conditions = _put(conditions, condition("Suspended", False, "JobResumed", "Job resumed",
                                                        conditions, probe=True))
                status.pop("startTime", None)
            status.setdefault("startTime", timefmt.rfc3339())
        failure = self._failure(job, pods, failed, status.get("startTime"))
        success = not failure and self._succeeded(job, succeeded, done, active)
        if failure:
            conditions = _put(conditions, condition("FailureTarget", True, *failure, conditions, probe=True))
            active = self._delete(job, active)
            if not active and not terminating:
                conditions = _put(conditions, condition("Failed", True, *failure, conditions, probe=True))
                self.events.record(job, "Warning", failure[0], failure[1], COMPONENT)
        elif success:
            conditions = _put(conditions, condition("SuccessCriteriaMet", True, *COMPLETED, conditions,
                                                    probe=True))
            active = self._delete(job, active)
            if not active and not terminating:
                conditions = _put(conditions, condition("Complete", True, *COMPLETED, conditions, probe=True))
                status["completionTime"] = timefmt.rfc3339()
                self.events.record(job, "Normal", "Completed", "Job completed", COMPONENT)
        elif not suspended:
            active = self._manage(job, pods, active, terminating, done)
        self._status(job, status, conditions, active, succeeded, failed, done, terminating)

    def _forget(self, namespace: str, name: str) -> None:
        live = {j["metadata"]["uid"] for j in self.store.list("jobs.batch")}
        for uid in [u for u in self._counted if u not in live]:
            del self._counted[uid]

    def _pods(self, job: Obj) -> list[Obj]:
        pods = controlled(self.store.list("pods", job["metadata"]["namespace"]), job)
        reqs = selector_from_match_labels((job.get("spec") or {}).get("selector"))
        if reqs is None:
            return pods
        return [p for p in pods if labels_match(reqs, p)]

    # --- counting --------------------------------------------------------------------

    def _count(self, job: Obj, pods: list[Obj]) -> tuple[int, int, set[int]]:
        """Succeeded and failed pods (each counted once), and the completed indexes."""
        uid = job["metadata"]["uid"]
        old = job.get("status") or {}
        succeeded, failed = int(old.get("succeeded", 0)), int(old.get("failed", 0))
        done = parse_indexes(old.get("completedIndexes"))
        finished = [p for p in pods if _finished(p) or p["metadata"].get("deletionTimestamp")]
        counted = self._counted.get(uid)
        if counted is None:  # first sight since start: the status already counts what it shows
            counted = self._counted[uid] = set()
            won = [p for p in finished if _phase(p) == "Succeeded"]
            lost = [p for p in finished if _phase(p) == "Failed"]
            succeeded, failed = max(succeeded, len(won)), max(failed, len(lost))
            counted.update(p["metadata"]["uid"] for p in won + lost)
        for pod in finished:
            pod_uid = pod["metadata"]["uid"]
            if pod_uid in counted:
                continue
            counted.add(pod_uid)
            if _phase(pod) == "Succeeded":
                succeeded += 1
            else:
                failed += 1
        if is_indexed(job):
            completions = int((job.get("spec") or {}).get("completions") or 0)
            done |= {i for p in pods if _phase(p) == "Succeeded" and (i := pod_index(p)) is not None
                     and i < completions}
            succeeded = len(done)
        return succeeded, failed, done

    def _failure(self, job: Obj, pods: list[Obj], failed: int, start: str | None) -> tuple[str, str] | None:
        prior = has_condition(job, "FailureTarget")
        if prior:
            return str(prior.get("reason", "")), str(prior.get("message", ""))
        if has_condition(job, "SuccessCriteriaMet"):
            return None
        spec = job.get("spec") or {}
        limit = int(spec.get("backoffLimit", 6))
        if failed > limit:
            return BACKOFF
        if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure":
            total = restarts([p for p in pods if _active(p)])
            if (total > 0) if limit == 0 else total >= limit:
                return BACKOFF
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None and start and not spec.get("suspend"):
            remaining = int(deadline) - elapsed(start, self.clock.speed)
            if remaining <= 0:
                return DEADLINE
            later(self, (job["metadata"]["namespace"], job["metadata"]["name"]), remaining)
        return None

    def _succeeded(self, job: Obj, succeeded: int, done: set[int], active: list[Obj]) -> bool:
        if has_condition(job, "SuccessCriteriaMet"):
            return True
        completions = (job.get("spec") or {}).get("completions")
        if is_indexed(job):
            return completions is not None and len(done) >= int(completions)
        if completions is None:  # a work queue: done once one succeeded and none is left running
            return succeeded > 0 and not active
        return succeeded >= int(completions)

    # --- pods ------------------------------------------------------------------------

    def _manage(self, job: Obj, pods: list[Obj], active: list[Obj], terminating: list[Obj],
                done: set[int]) -> list[Obj]:
        spec = job.get("spec") or {}
        parallelism = int(spec.get("parallelism", 1))
        completions = spec.get("completions")
        busy = len(active) + (len(terminating) if spec.get("podReplacementPolicy") == "Failed" else 0)
        if is_indexed(job):
            total = int(completions or 0)
            running: dict[int, list[Obj]] = {}
            for pod in active:
                index = pod_index(pod)
                if index is None or index >= total or index in done:
                    self._delete(job, [pod])
                    continue
                running.setdefault(index, []).append(pod)
            extra = [p for group in running.values() for p in _ranked(group)[:-1]]
            active = [p for p in active if p not in extra and pod_index(p) in running]
            self._delete(job, extra)
            wanted = [i for i in range(total) if i not in done and i not in running]
            room = parallelism - busy
            indexes: list[int | None] = list(wanted[:max(0, room)])
        else:
            succeeded = sum(1 for p in pods if _phase(p) == "Succeeded")
            want = parallelism if completions is None else min(parallelism, int(completions) - succeeded)
            want = max(0, want)
            if len(active) > want:
                doomed = _ranked(active)[: len(active) - want]
                self._delete(job, doomed)
                active = [p for p in active if p not in doomed]
                return active
            indexes = [None] * max(0, want - busy)
        if indexes and not self._backed_off(job, pods):
            return active
        for index in indexes:
            created = self.registry.create(PODS, job["metadata"]["namespace"], new_pod(job, index),
                                           WriteOptions()).obj
            self.events.record(job, "Normal", "SuccessfulCreate",
                               f"Created pod: {created['metadata']['name']}", COMPONENT)
            active.append(created)
        return active

    def _backed_off(self, job: Obj, pods: list[Obj]) -> bool:
        """Whether the back-off after the latest failures has passed (re-queue when not)."""
        won = [finished_at(p) for p in pods if _phase(p) == "Succeeded"]
        since = max(won) if won else ""
        lost = [finished_at(p) for p in pods if _phase(p) == "Failed" and finished_at(p) > since]
        if not lost:
            return True
        delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (len(lost) - 1))
        remaining = delay - elapsed(max(lost), self.clock.speed)
        if remaining <= 0:
            return True
        later(self, (job["metadata"]["namespace"], job["metadata"]["name"]), remaining)
        return False

    def _delete(self, job: Obj, pods: list[Obj]) -> list[Obj]:
        """Delete ``pods``; returns none of them (they are no longer active)."""
        counted = self._counted.setdefault(job["metadata"]["uid"], set())
        for pod in pods:
            counted.add(pod["metadata"]["uid"])  # pods the controller removes are no failures
            try:
                self.registry.delete(PODS, job["metadata"]["namespace"], pod["metadata"]["name"],
                                     DeleteOptions())
            except NotFound:
                continue
            self.events.record(job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                               COMPONENT)
        return []

    # --- status and TTL ---------------------------------------------------------------

    def _status(self, job: Obj, base: Obj, conditions: list[Obj], active: list[Obj], succeeded: int,
                failed: int, done: set[int], terminating: list[Obj]) -> None:
        status: Obj = {}
        if conditions:
            status["conditions"] = conditions
        status.update(base)
        if active:
            status["active"] = len(active)
        if succeeded:
            status["succeeded"] = succeeded
        if failed:
            status["failed"] = failed
        if is_indexed(job):
            status["completedIndexes"] = format_indexes(done)
        status["ready"] = sum(1 for p in active if is_ready(p))
        status["terminating"] = len(terminating)
        status["uncountedTerminatedPods"] = {}
        written = write_status(self.registry, JOBS, job, status)
        if written is not job and (has_condition(written, "Complete") or has_condition(written, "Failed")):
            self._expire(written)

    def _expire(self, job: Obj) -> None:
        """The TTL-after-finished controller: delete the Job (and its pods) once its TTL passed."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        finish = (job.get("status") or {}).get("completionTime") or \
            (has_condition(job, "Complete") or has_condition(job, "Failed") or {}).get("lastTransitionTime")
        remaining = int(ttl) - elapsed(finish, self.clock.speed)
        meta = job["metadata"]
        if remaining > 0:
            later(self, (meta["namespace"], meta["name"]), remaining)
            return
        with contextlib.suppress(NotFound):
            self.registry.delete(JOBS, meta["namespace"], meta["name"],
                                 DeleteOptions(propagation="Foreground", uid=meta["uid"]))


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _finished(pod: Obj) -> bool:
    return _phase(pod) in ("Succeeded", "Failed")


def _active(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and not _finished(pod)


def _ranked(pods: list[Obj]) -> list[Obj]:
    """Which pods go first when there are too many: unready, then the newest."""
    newest = sorted(pods, key=lambda p: str(p["metadata"].get("creationTimestamp", "")), reverse=True)
    return sorted(newest, key=is_ready)


def _put(conditions: list[Obj], entry: Obj) -> list[Obj]:
    """Replace the condition of the same type in place, or append it."""
    for i, c in enumerate(conditions):
        if c.get("type") == entry["type"]:
            return [*conditions[:i], entry, *conditions[i + 1:]]
    return [*conditions, entry]
