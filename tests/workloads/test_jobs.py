"""Jobs through the real kubectl: running to completion, the back-off limit, parallel
and Indexed completions, deadlines, suspension and the TTL after finishing."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Kubectl, wait_for


def job(name: str, command: str, restart: str = "Never", **spec: Any) -> str:
    template = {"spec": {"restartPolicy": restart, "containers": [
        {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", command]}]}}
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                       "spec": {**spec, "template": template}})


def job_pods(kube: Kubectl, name: str) -> list[dict[str, Any]]:
    return list(kube.json("get", "pods", "-l", f"batch.kubernetes.io/job-name={name}")["items"])


def test_a_job_runs_to_completion(kube: Kubectl) -> None:
    kube("create", "job", "hello", "--image=busybox:1.36", "--", "sh", "-c", "echo done")
    kube.run("wait", "--for=condition=complete", "job/hello", "--timeout=60s")
    found = job_pods(kube, "hello")
    assert len(found) == 1
    pod = found[0]
    labels = pod["metadata"]["labels"]
    uid = kube.json("get", "job", "hello")["metadata"]["uid"]
    assert labels["batch.kubernetes.io/controller-uid"] == labels["controller-uid"] == uid
    assert labels["job-name"] == "hello"
    assert pod["metadata"]["name"].startswith("hello-")
    assert pod["status"]["phase"] == "Succeeded"
    assert kube("logs", pod["metadata"]["name"]).strip() == "done"
    status = kube.json("get", "job", "hello")["status"]
    assert status["succeeded"] == 1 and "active" not in status
    assert status["startTime"] and status["completionTime"]
    kinds = {c["type"]: c for c in status["conditions"]}
    assert kinds["Complete"]["status"] == "True" and kinds["Complete"]["reason"] == "CompletionsReached"
    assert kinds["SuccessCriteriaMet"]["status"] == "True"
    row = kube("get", "job", "hello", "--no-headers").split()
    assert row[0] == "hello" and "1/1" in row
    events = kube("get", "events", "--field-selector", "involvedObject.name=hello")
    assert "SuccessfulCreate" in events and "Completed" in events and "Job completed" in events


def test_a_failing_job_reaches_its_backoff_limit(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=job("broken", "echo oops; exit 3", backoffLimit=1))
    kube.run("wait", "--for=condition=failed", "job/broken", "--timeout=60s")
    status = kube.json("get", "job", "broken")["status"]
    assert status["failed"] == 2
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert any(c["type"] == "FailureTarget" for c in status["conditions"])
    assert "completionTime" not in status
    assert len(job_pods(kube, "broken")) == 2
    events = kube("get", "events", "--field-selector", "involvedObject.name=broken")
    assert "BackoffLimitExceeded" in events


def test_parallel_completions(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=job("many", "echo one", completions=4, parallelism=2))
    kube.run("wait", "--for=condition=complete", "job/many", "--timeout=60s")
    assert kube.json("get", "job", "many")["status"]["succeeded"] == 4
    assert len(job_pods(kube, "many")) == 4


def test_indexed_completions(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=job("idx", "echo index $JOB_COMPLETION_INDEX", completions=3, parallelism=3,
                                       completionMode="Indexed"))
    kube.run("wait", "--for=condition=complete", "job/idx", "--timeout=60s")
    status = kube.json("get", "job", "idx")["status"]
    assert status["completedIndexes"] == "0-2" and status["succeeded"] == 3
    found = job_pods(kube, "idx")
    indexes = sorted(p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] for p in found)
    assert indexes == ["0", "1", "2"]
    for pod in found:
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        assert pod["spec"]["hostname"] == f"idx-{index}"


def test_active_deadline(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=job("slow", "sleep 3600", activeDeadlineSeconds=5))
    kube.run("wait", "--for=condition=failed", "job/slow", "--timeout=60s")
    failed = next(c for c in kube.json("get", "job", "slow")["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    assert failed["message"] == "Job was active longer than specified deadline"


def test_suspend_and_resume(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=job("later", "echo resumed", suspend=True))
    wait_for(lambda: any(c["type"] == "Suspended" and c["status"] == "True"
                         for c in kube.json("get", "job", "later").get("status", {}).get("conditions", [])))
    assert job_pods(kube, "later") == []
    kube("patch", "job", "later", "--type=merge", "-p", '{"spec":{"suspend":false}}')
    kube.run("wait", "--for=condition=complete", "job/later", "--timeout=60s")


def test_ttl_after_finished_deletes_the_job(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=job("brief", "echo bye", ttlSecondsAfterFinished=5))
    wait_for(lambda: kube.run("get", "job", "brief", check=False).returncode != 0, timeout=60)
    wait_for(lambda: job_pods(kube, "brief") == [], timeout=30)


def test_restarts_count_against_the_limit_on_failure(kube: Kubectl) -> None:
    kube("apply", "-f", "-", stdin=job("flaky", "exit 1", restart="OnFailure", backoffLimit=2))
    kube.run("wait", "--for=condition=failed", "job/flaky", "--timeout=90s")
    failed = next(c for c in kube.json("get", "job", "flaky")["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    wait_for(lambda: job_pods(kube, "flaky") == [], timeout=30)  # the restarting pod was deleted
