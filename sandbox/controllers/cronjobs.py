"""The CronJob controller (v2): creates a Job ``<cronjob>-<scheduled unix minutes>`` at
each activation of ``spec.schedule`` in ``spec.timeZone``, honouring
``concurrencyPolicy`` (Allow, Forbid, Replace), ``startingDeadlineSeconds`` and
``suspend``; keeps ``status.active``, ``lastScheduleTime`` and ``lastSuccessfulTime``;
and deletes finished Jobs beyond the history limits.

The schedule runs in simulated time: a CronJob's clock reads its creation time when it
is created and then runs ``speed`` times faster than the wall clock, so ``*/1 * * * *``
fires every 6 wall seconds at speed 10. Job names and the scheduled-timestamp
annotation carry the simulated activation time; ``lastScheduleTime`` is the wall time
at which it fired, so ages printed by kubectl stay true."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .. import timefmt
from ..errors import AlreadyExists, NotFound
from ..registry import DeleteOptions, WriteOptions
from ..store import Change
from . import cron
from .base import Controller, Key
from .events import Recorder
from .kinds import CRONJOBS, JOBS
from .ownership import controller_ref
from .workload_common import controlled, has_condition, later, owner_keys, write_status

Obj = dict[str, Any]
COMPONENT = "cronjob-controller"
SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TOO_MANY_MISSED = 100


def _finished(job: Obj) -> str | None:
    """"Complete" or "Failed" for a finished Job."""
    for kind in ("Complete", "Failed"):
        if has_condition(job, kind):
            return kind
    return None


class CronJobController(Controller):
    watches = ("cronjobs.batch", "jobs.batch")
    primary = "cronjobs.batch"
    resync = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = Recorder(self.registry)
        self._last: dict[str, dt.datetime] = {}  # cronjob uid -> last simulated activation

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == "jobs.batch":
            return owner_keys(change, "CronJob")
        return list(super().keys_for(change))

    # --- simulated time --------------------------------------------------------------

    def _origin(self, cronjob: Obj) -> dt.datetime:
        return timefmt.parse(cronjob["metadata"].get("creationTimestamp")) or timefmt.now()

    def sim_now(self, cronjob: Obj) -> dt.datetime:
        origin = self._origin(cronjob)
        return origin + (timefmt.now() - origin) * self.clock.speed

    def to_wall(self, cronjob: Obj, when: dt.datetime) -> dt.datetime:
        origin = self._origin(cronjob)
        return origin + (when - origin) / self.clock.speed

    def to_sim(self, cronjob: Obj, when: dt.datetime) -> dt.datetime:
        origin = self._origin(cronjob)
        return origin + (when - origin) * self.clock.speed

    def _last_activation(self, cronjob: Obj, jobs: list[Obj]) -> dt.datetime | None:
        """The latest simulated activation: remembered, read from Job names, or from the status."""
        name = cronjob["metadata"]["name"]
        found = [self._last[cronjob["metadata"]["uid"]]] if cronjob["metadata"]["uid"] in self._last else []
        for job in jobs:
            suffix = job["metadata"]["name"][len(name) + 1:]
            if job["metadata"]["name"].startswith(f"{name}-") and suffix.isdigit():
                found.append(dt.datetime.fromtimestamp(int(suffix) * 60, dt.UTC))
        wall = timefmt.parse((cronjob.get("status") or {}).get("lastScheduleTime"))
        if wall is not None:
            # the wall time was truncated to the second: up to ``speed`` simulated seconds early
            sim = self.to_sim(cronjob, wall) + dt.timedelta(seconds=min(self.clock.speed, 59.0))
            found.append(sim.replace(second=0, microsecond=0))
        return max(found) if found else None

    # --- the loop ----------------------------------------------------------------------

    def reconcile(self, namespace: str, name: str) -> None:
        cronjob = self.store.get("cronjobs.batch", namespace, name)
        if cronjob is None or cronjob["metadata"].get("deletionTimestamp"):
            return
        key = (namespace, name)
        spec = cronjob.get("spec") or {}
        jobs = controlled(self.store.list("jobs.batch", namespace), cronjob)
        status = self._track(cronjob, jobs)
        jobs = self._cleanup(cronjob, jobs)
        if spec.get("suspend"):
            self._write(cronjob, status)
            return
        try:
            schedule = cron.parse(str(spec.get("schedule", "")))
            tz = cron.zone(spec.get("timeZone"))
        except cron.CronError as exc:
            if "time zone" in str(exc):
                self.events.record(cronjob, "Warning", "UnknownTimeZone", str(exc), COMPONENT)
            else:
                self.events.record(cronjob, "Warning", "UnparseableSchedule",
                                   f"unparseable schedule: {spec.get('schedule')!r} : {exc}", COMPONENT)
            self._write(cronjob, status)
            return
        now = self.sim_now(cronjob)
        last = self._last_activation(cronjob, jobs) or self.to_sim(cronjob, self._origin(cronjob))
        recent, missed = cron.most_recent(schedule, last, now, tz)
        if recent is not None:
            if missed > TOO_MANY_MISSED:
                self.events.record(cronjob, "Warning", "TooManyMissedTimes",
                                   "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
                                   "or check clock skew", COMPONENT)
            self._run(cronjob, status, jobs, recent, now)
        self._write(cronjob, status)
        upcoming = cron.next_after(schedule, now, tz)
        later(self, key, (upcoming - now).total_seconds())

    def _run(self, cronjob: Obj, status: Obj, jobs: list[Obj], when: dt.datetime, now: dt.datetime) -> None:
        spec = cronjob.get("spec") or {}
        meta = cronjob["metadata"]
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and (now - when).total_seconds() > int(deadline):
            self.events.record(cronjob, "Warning", "MissSchedule",
                               f"Missed scheduled time to start a job: {timefmt.rfc3339(when)}", COMPONENT)
            self._last[meta["uid"]] = when
            return
        active = [j for j in jobs if not _finished(j) and not j["metadata"].get("deletionTimestamp")]
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            self.events.record(cronjob, "Normal", "JobAlreadyActive",
                               "Not starting job because prior execution is running and concurrency policy "
                               "is Forbid", COMPONENT)
            return
        if policy == "Replace":
            for job in active:
                try:
                    self.registry.delete(JOBS, meta["namespace"], job["metadata"]["name"],
                                         DeleteOptions(propagation="Background"))
                except NotFound:
                    continue
                self.events.record(cronjob, "Normal", "SuccessfulDelete", f"Deleted job {job['metadata']['name']}",
                                   COMPONENT)
                status["active"] = [r for r in status.get("active") or [] if r.get("uid") !=
                                    job["metadata"]["uid"]]
        name = f"{meta['name']}-{int(when.timestamp()) // 60}"
        try:
            job = self.registry.create(JOBS, meta["namespace"], self._job(cronjob, name, when),
                                       WriteOptions()).obj
            self.events.record(cronjob, "Normal", "SuccessfulCreate", f"Created job {name}", COMPONENT)
        except AlreadyExists:
            job = self.store.get("jobs.batch", meta["namespace"], name) or {}
        self._last[meta["uid"]] = when
        status["lastScheduleTime"] = timefmt.rfc3339(self.to_wall(cronjob, when))
        if job and not any(r.get("uid") == job["metadata"]["uid"] for r in status.get("active") or []) \
                and not _finished(job):
            status["active"] = [*(status.get("active") or []), _reference(job)]

    def _job(self, cronjob: Obj, name: str, when: dt.datetime) -> Obj:
        template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
        tmeta = template.get("metadata") or {}
        tz = cron.zone((cronjob.get("spec") or {}).get("timeZone"))
        annotations = {**(tmeta.get("annotations") or {}),
                       SCHEDULED: when.astimezone(tz).isoformat().replace("+00:00", "Z")}
        body: Obj = {"metadata": {"name": name, "annotations": annotations,
                                  "ownerReferences": [controller_ref(cronjob)]},
                     "spec": template.get("spec") or {}}
        if tmeta.get("labels"):
            body["metadata"]["labels"] = dict(tmeta["labels"])
        return body

    # --- status and history ------------------------------------------------------------

    def _track(self, cronjob: Obj, jobs: list[Obj]) -> Obj:
        """The status from the Jobs: which are active, when one last succeeded."""
        old = cronjob.get("status") or {}
        status: Obj = {k: v for k, v in old.items() if k in ("lastScheduleTime", "lastSuccessfulTime")}
        by_uid = {j["metadata"]["uid"]: j for j in jobs}
        active = []
        for ref in old.get("active") or []:
            job = by_uid.get(str(ref.get("uid")))
            if job is None:
                continue
            outcome = _finished(job)
            if outcome:
                self.events.record(cronjob, "Normal", "SawCompletedJob",
                                   f"Saw completed job: {job['metadata']['name']}, condition: {outcome}", COMPONENT)
                continue
            active.append(ref)
        known = {r["uid"] for r in active}
        active += [_reference(j) for j in jobs if not _finished(j) and j["metadata"]["uid"] not in known
                   and not j["metadata"].get("deletionTimestamp")]
        if active:
            status["active"] = active
        succeeded = [str((j.get("status") or {}).get("completionTime") or "") for j in jobs
                     if _finished(j) == "Complete"]
        latest = max([s for s in succeeded if s] + [str(status.get("lastSuccessfulTime") or "")])
        if latest:
            status["lastSuccessfulTime"] = latest
        return status

    def _cleanup(self, cronjob: Obj, jobs: list[Obj]) -> list[Obj]:
        spec = cronjob.get("spec") or {}
        gone: set[str] = set()
        for outcome, field, default in (("Complete", "successfulJobsHistoryLimit", 3),
                                        ("Failed", "failedJobsHistoryLimit", 1)):
            limit = spec.get(field, default)
            if limit is None:
                continue
            done = sorted((j for j in jobs if _finished(j) == outcome),
                          key=lambda j: str((j.get("status") or {}).get("startTime")
                                            or j["metadata"].get("creationTimestamp", "")))
            for job in done[: max(0, len(done) - int(limit))]:
                try:
                    self.registry.delete(JOBS, job["metadata"]["namespace"], job["metadata"]["name"],
                                         DeleteOptions(propagation="Background"))
                except NotFound:
                    continue
                gone.add(job["metadata"]["uid"])
                self.events.record(cronjob, "Normal", "SuccessfulDelete",
                                   f"Deleted job {job['metadata']['name']}", COMPONENT)
        return [j for j in jobs if j["metadata"]["uid"] not in gone]

    def _write(self, cronjob: Obj, status: Obj) -> None:
        write_status(self.registry, CRONJOBS, cronjob, status)


def _reference(job: Obj) -> Obj:
    meta = job["metadata"]
    return {"kind": "Job", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
            "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion", "")}
