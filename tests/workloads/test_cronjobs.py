"""CronJobs through the real kubectl, at speed 60 (a simulated minute is a wall second):
scheduled Jobs, history limits, concurrency policies, suspension, and
``kubectl create job --from=cronjob/...``."""

from __future__ import annotations

import re
import time
from typing import Any

from sandbox.controllers.manager import ClusterOptions
from tests.conftest import Kubectl, wait_for

OPTIONS = ClusterOptions(speed=60)


def jobs_of(kube: Kubectl, cronjob: str) -> list[dict[str, Any]]:
    items = kube.json("get", "jobs")["items"]
    return [j for j in items if any(r.get("name") == cronjob and r.get("kind") == "CronJob"
                                    for r in j["metadata"].get("ownerReferences") or [])]


def test_a_cronjob_creates_jobs_on_schedule(kube: Kubectl) -> None:
    kube("create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/1 * * * *", "--",
         "sh", "-c", "echo tick")
    wait_for(lambda: jobs_of(kube, "tick"), timeout=10)
    job = jobs_of(kube, "tick")[0]
    assert re.fullmatch(r"tick-\d{8,}", job["metadata"]["name"])
    owner = job["metadata"]["ownerReferences"][0]
    assert owner["controller"] is True and owner["kind"] == "CronJob"
    assert "batch.kubernetes.io/cronjob-scheduled-timestamp" in job["metadata"]["annotations"]
    kube.run("wait", "--for=condition=complete", f"job/{job['metadata']['name']}", "--timeout=30s")
    wait_for(lambda: kube.json("get", "cronjob", "tick").get("status", {}).get("lastSuccessfulTime"), timeout=10)
    status = kube.json("get", "cronjob", "tick")["status"]
    assert status["lastScheduleTime"]
    # minutes go by: names follow the scheduled minutes, and only 3 successful Jobs are kept
    wait_for(lambda: len({j["metadata"]["name"] for j in jobs_of(kube, "tick")} - {job["metadata"]["name"]}) >= 3,
             timeout=20)
    time.sleep(3)
    done = [j for j in jobs_of(kube, "tick") if any(c["type"] == "Complete" for c in
                                                     j.get("status", {}).get("conditions", []))]
    assert len(done) <= 3
    minutes = sorted(int(j["metadata"]["name"].rsplit("-", 1)[1]) for j in jobs_of(kube, "tick"))
    assert minutes == sorted(set(minutes))
    events = kube("get", "events", "--field-selector", "involvedObject.name=tick")
    assert "SuccessfulCreate" in events and "SawCompletedJob" in events
    kube("patch", "cronjob", "tick", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    time.sleep(1)
    settled = {j["metadata"]["name"] for j in jobs_of(kube, "tick")}
    time.sleep(3)
    assert {j["metadata"]["name"] for j in jobs_of(kube, "tick")} <= settled


def test_create_job_from_a_cronjob(kube: Kubectl) -> None:
    kube("create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=0 3 * * *", "--",
         "sh", "-c", "echo manual run")
    kube("create", "job", "by-hand", "--from=cronjob/nightly")
    kube.run("wait", "--for=condition=complete", "job/by-hand", "--timeout=30s")
    found = kube.json("get", "job", "by-hand")
    assert found["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    pod = kube.json("get", "pods", "-l", "batch.kubernetes.io/job-name=by-hand")["items"][0]
    assert kube("logs", pod["metadata"]["name"]).strip() == "manual run"


def test_forbid_keeps_one_job_running(kube: Kubectl) -> None:
    kube("create", "cronjob", "long", "--image=busybox:1.36", "--schedule=* * * * *", "--",
         "sh", "-c", "sleep 100000")
    kube("patch", "cronjob", "long", "--type=merge", "-p", '{"spec":{"concurrencyPolicy":"Forbid"}}')
    wait_for(lambda: jobs_of(kube, "long"), timeout=10)
    time.sleep(4)
    assert len(jobs_of(kube, "long")) == 1
    status = kube.json("get", "cronjob", "long")["status"]
    assert [a["name"] for a in status["active"]] == [jobs_of(kube, "long")[0]["metadata"]["name"]]
    kube("patch", "cronjob", "long", "--type=merge", "-p", '{"spec":{"concurrencyPolicy":"Replace"}}')
    first = jobs_of(kube, "long")[0]["metadata"]["name"]
    wait_for(lambda: first not in {j["metadata"]["name"] for j in jobs_of(kube, "long")
                                   if not j["metadata"].get("deletionTimestamp")}, timeout=10)
    kube("delete", "cronjob", "long")
