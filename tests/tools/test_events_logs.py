"""get_events and get_logs against the sandbox, checked against kubectl; logs bounded on a
real 10 MB container log and on 10 MB of text through the same code; bad input refused
before any request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

import tools.events  # registers get_events
import tools.logs
from sandbox.control import Sandbox
from tests.conftest import Kubectl
from tests.tools.conftest import read, wait_for
from tests.tools.recording import RecordingCluster
from tools.budget import count_tokens, render
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.errors import InvalidInput, KaiError, NotFound
from tools.registry import REGISTRY
from tools.rows import newest_first

NS = "rd-logs"
PAD = "x" * 100
BIG_LINES = 100_000

MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: big, namespace: {NS}}}
spec:
  restartPolicy: Never
  containers:
  - name: spew
    image: busybox:1.36
    command: ["sh", "-c", "printf 'line %s {PAD}\\\\n' $(seq 1 {BIG_LINES})"]
---
apiVersion: v1
kind: Pod
metadata: {{name: duo, namespace: {NS}}}
spec:
  containers:
  - name: first
    image: busybox:1.36
    command: ["sh", "-c", "echo first-1; echo first-2; echo first-3; sleep 3600"]
  - name: second
    image: busybox:1.36
    command: ["sh", "-c", "echo second-1; sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: sidecar-default
  namespace: {NS}
  annotations: {{kubectl.kubernetes.io/default-container: side}}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: ["sh", "-c", "echo app-line; sleep 3600"]
  - name: side
    image: busybox:1.36
    command: ["sh", "-c", "echo side-line; sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata: {{name: crasher, namespace: {NS}}}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo starting; echo about to fail; exit 3"]
---
apiVersion: v1
kind: Pod
metadata: {{name: puller, namespace: {NS}}}
spec:
  containers:
  - name: web
    image: nginx:no-such-tag
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: idle, namespace: {NS}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: idle}}}}
  template:
    metadata: {{labels: {{app: idle}}}}
    spec:
      containers:
      - name: app
        image: busybox:1.36
        command: ["sh", "-c", "sleep 3600"]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: once, namespace: {NS}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox:1.36
        command: ["sh", "-c", "echo job-begin; echo job-done"]
"""




@pytest.fixture(scope="module")
def mine(cluster: Sandbox, kc: Kubectl) -> Iterator[str]:
    kc("apply", "-f", "-", stdin=MANIFEST)

    def phase(pod: str) -> str:
        return str(kc.json("get", "pod", pod, "-n", NS).get("status", {}).get("phase"))

    def restarted(pod: str) -> bool:
        statuses = kc.json("get", "pod", pod, "-n", NS).get("status", {}).get("containerStatuses") or [{}]
        return bool(statuses[0].get("restartCount"))

    wait_for(lambda: phase("big") == "Succeeded", 120)
    wait_for(lambda: phase("duo") == "Running" and phase("sidecar-default") == "Running", 60)
    wait_for(lambda: restarted("crasher"), 60)
    wait_for(lambda: "ImagePull" in kc("get", "pod", "puller", "-n", NS, "--no-headers"), 60)
    wait_for(lambda: kc.json("get", "job", "once", "-n", NS).get("status", {}).get("succeeded") == 1, 60)
    yield NS
    kc("delete", "namespace", NS, "--wait=false")


@pytest.fixture
def spy(cluster: Sandbox) -> Iterator[ToolContext]:
    context = ToolContext(RecordingCluster(kubeconfig=cluster.kubeconfig))
    yield context
    context.cluster.close()


def sent(ctx: ToolContext) -> list[tuple[str, str, dict[str, str]]]:
    assert isinstance(ctx.cluster, RecordingCluster)
    return ctx.cluster.sent


def contiguous(part: list[str], whole: list[str]) -> bool:
    return any(whole[i:i + len(part)] == part for i in range(len(whole) - len(part) + 1))


def test_each_tool_documents_every_argument() -> None:
    for name in ("get_events", "get_logs"):
        item = REGISTRY.get(name)
        assert item.risk == "read" and item.summary
        assert set(item.input_model.model_fields) == set(item.args_doc), name


# --- events ---------------------------------------------------------------------------------

def test_events_of_a_namespace(ctx: ToolContext, kc: Kubectl, mine: str) -> None:
    result = read(ctx, "get_events", namespace=mine, limit=200)
    live = kc.json("get", "events", "-n", mine)["items"]
    assert result.scope == f"namespace {mine}" and result.total >= len(live) > 0
    seen = {(e["reason"], f"{e['involvedObject']['kind']}/{e['involvedObject']['name']}") for e in live}
    assert {(e.reason, e.object) for e in result.events} >= seen
    assert {"Scheduled", "Pulled", "Started", "BackOff", "Failed"} <= {e.reason for e in result.events}
    assert count_tokens(render(result)) <= ctx.budget


def test_events_come_newest_first(ctx: ToolContext, kc: Kubectl, todo: str) -> None:
    live = kc.json("get", "events", "-n", todo)["items"]  # a quiet namespace: nothing changes meanwhile
    result = read(ctx, "get_events", namespace=todo, limit=200)
    stamps = {(e["reason"], f"{e['involvedObject']['kind']}/{e['involvedObject']['name']}", e["message"][:150]):
              e["lastTimestamp"] for e in live}
    ordered = [stamps[(e.reason, e.object, e.message[:150])] for e in result.events]
    assert len(ordered) == len(live) > 1 and ordered == sorted(ordered, reverse=True)
    assert ordered[0] == max(stamps.values()) and ordered[-1] == min(stamps.values())
    rows = [{"metadata": {"resourceVersion": str(v)}, "lastTimestamp": t, "reason": r}
            for v, t, r in [(5, "2026-01-01T00:00:02Z", "b"), (9, "2026-01-01T00:00:01Z", "a"),
                            (7, "2026-01-01T00:00:02Z", "c")]]
    assert [e["reason"] for e in newest_first(rows)] == ["c", "b", "a"]  # same second: the later write first


def test_warnings_only(ctx: ToolContext, kc: Kubectl, mine: str) -> None:
    result = read(ctx, "get_events", namespace=mine, warnings_only=True, limit=200)
    live = kc.json("get", "events", "-n", mine, "--field-selector", "type=Warning")["items"]
    assert result.events and all(e.type == "Warning" for e in result.events)
    assert {(e.reason, e.object) for e in result.events} >= {
        (e["reason"], f"{e['involvedObject']['kind']}/{e['involvedObject']['name']}") for e in live}
    assert "Pod/puller" in {e.object for e in result.events}
    assert result.scope == f"warnings in namespace {mine}"


def test_events_about_one_object(ctx: ToolContext, kc: Kubectl, mine: str, todo: str) -> None:
    result = read(ctx, "get_events", kind="pod", name="puller", namespace=mine)
    live = kc.json("get", "events", "-n", mine, "--field-selector", "involvedObject.name=puller")["items"]
    assert {e.object for e in result.events} == {"Pod/puller"}
    assert {e.reason for e in result.events} == {e["reason"] for e in live}
    assert any("no-such-tag" in e.message for e in result.events)
    deploy = read(ctx, "get_events", kind="deploy", name="backend", namespace=todo)
    assert deploy.scope == f"Deployment todo-backend in namespace {todo}"
    assert [e.reason for e in deploy.events] == ["ScalingReplicaSet"]
    pods = read(ctx, "get_events", kind="pods", namespace=todo, limit=200)
    assert pods.events and all(e.object and e.object.startswith("Pod/") for e in pods.events)


def test_events_limit_and_all_namespaces(ctx: ToolContext, kc: Kubectl, mine: str, todo: str) -> None:
    two = read(ctx, "get_events", namespace=mine, limit=2)
    assert len(two.events) == 2 and two.more == f"… {two.total - 2} more events"
    everywhere = read(ctx, "get_events", all_namespaces=True, limit=200)
    assert everywhere.scope == "all namespaces"
    assert mine in {e.namespace for e in everywhere.events}  # the newest events, whatever else ran before
    everything = kc.json("get", "events", "-A")["items"]
    assert everywhere.total >= len([e for e in everything if e["metadata"]["namespace"] in (mine, todo)])
    assert all(e.namespace for e in everywhere.events) and everywhere.total >= len(everywhere.events)
    assert count_tokens(render(everywhere)) <= ctx.budget


def test_events_fit_a_small_budget(cluster: Sandbox, mine: str) -> None:
    small = ToolContext(Cluster(kubeconfig=cluster.kubeconfig), budget=200)
    try:
        result = read(small, "get_events", namespace=mine, limit=200)
    finally:
        small.cluster.close()
    assert count_tokens(render(result)) <= 200
    assert 0 < len(result.events) < result.total and result.more == f"… {result.total - len(result.events)} more events"


# --- logs -----------------------------------------------------------------------------------

def test_logs_of_a_pod_with_two_containers(ctx: ToolContext, kc: Kubectl, mine: str) -> None:
    result = read(ctx, "get_logs", name="duo", namespace=mine)
    [log] = result.logs
    assert (log.pod, log.container) == ("duo", "first")
    assert log.lines == kc("logs", "duo", "-c", "first", "-n", mine).splitlines() == ["first-1", "first-2", "first-3"]
    assert result.note and "first, second" in result.note and "showing first" in result.note
    second = read(ctx, "get_logs", name="duo", namespace=mine, container="second")
    assert second.logs[0].lines == ["second-1"] and second.note is None
    annotated = read(ctx, "get_logs", name="sidecar-default", namespace=mine)
    assert annotated.logs[0].container == "side" and annotated.logs[0].lines == ["side-line"]
    assert annotated.logs[0].lines == kc("logs", "sidecar-default", "-n", mine).splitlines()
    with pytest.raises(NotFound) as missing:
        read(ctx, "get_logs", name="duo", namespace=mine, container="third")
    assert missing.value.suggestions == ["first", "second"]


def test_tail_grep_and_since(spy: ToolContext, kc: Kubectl, mine: str) -> None:
    tail = read(spy, "get_logs", name="duo", namespace=mine, tail=2)
    assert tail.logs[0].lines == kc("logs", "duo", "-n", mine, "-c", "first", "--tail=2").splitlines()
    grep = read(spy, "get_logs", name="duo", namespace=mine, grep="first-[13]")
    assert grep.logs[0].lines == ["first-1", "first-3"]
    since = read(spy, "get_logs", name="duo", namespace=mine, since="1h30m")
    assert since.logs[0].lines == kc("logs", "duo", "-n", mine, "-c", "first", "--since=90m").splitlines()
    queries = [q for _, path, q in sent(spy) if path.endswith("/pods/duo/log")]
    assert [q.get("tailLines") for q in queries] == ["2", str(tools.logs.GREP_SCAN_LINES), "100"]
    assert queries[-1]["sinceSeconds"] == "5400" and queries[-1]["container"] == "first"


def test_previous_instance_and_prefix(ctx: ToolContext, kc: Kubectl, mine: str) -> None:
    result = read(ctx, "get_logs", name="crash", namespace=mine, previous=True)  # a pod name prefix
    [log] = result.logs
    assert log.pod == "crasher" and log.lines == ["starting", "about to fail"]
    assert log.lines == kc("logs", "crasher", "-n", mine, "--previous").splitlines()
    assert read(ctx, "get_logs", kind="po", name="crash", namespace=mine, previous=True).logs[0].pod == "crasher"
    with pytest.raises(KaiError, match="previous terminated container"):
        read(ctx, "get_logs", name="duo", namespace=mine, previous=True)


def test_logs_of_a_workload(ctx: ToolContext, kc: Kubectl, todo: str, mine: str) -> None:
    result = read(ctx, "get_logs", name="backend", namespace=todo, tail=50)
    pods = kc("get", "pods", "-n", todo, "-l", "app.kubernetes.io/component=backend", "-o", "name").split()
    assert result.source == f"Deployment todo-backend in namespace {todo}"
    assert sorted(f"pod/{log.pod}" for log in result.logs) == sorted(pods)
    for log in result.logs:
        assert log.container == "todo-backend" and log.lines
        later = kc("logs", log.pod, "-n", todo, "--tail=500").splitlines()
        assert contiguous(log.lines, later)
    assert count_tokens(render(result)) <= ctx.budget
    job = read(ctx, "get_logs", kind="job", name="once", namespace=mine)
    assert job.source == f"Job once in namespace {mine}"
    assert [log.lines for log in job.logs] == [["job-begin", "job-done"]]
    previous = read(ctx, "get_logs", name="backend", namespace=todo, previous=True)  # none has crashed
    assert len(previous.logs) == 2 and all(log.lines == [] for log in previous.logs)
    assert all(log.error and "previous terminated container" in log.error for log in previous.logs)
    idle = read(ctx, "get_logs", name="idle", namespace=mine)
    assert idle.logs == [] and idle.note == f"Deployment idle in namespace {mine} has no pods"
    with pytest.raises(InvalidInput, match="logs come from pods or workloads"):
        read(ctx, "get_logs", kind="svc", name="backend", namespace=todo)


# --- 10 MB ----------------------------------------------------------------------------------

def test_a_ten_megabyte_log_costs_only_the_budget(ctx: ToolContext, kc: Kubectl, mine: str) -> None:
    whole = kc("logs", "big", "-n", mine)
    assert len(whole.encode()) >= 10 * 2**20 and whole.count("\n") == BIG_LINES
    result = read(ctx, "get_logs", name="big", namespace=mine, tail=500)
    [log] = result.logs
    assert count_tokens(render(result)) <= ctx.budget
    assert log.lines[-1] == f"line {BIG_LINES} {PAD}" and 0 < len(log.lines) < 500
    assert log.omitted == f"… {500 - len(log.lines)} earlier lines omitted"
    assert log.lines == whole.splitlines()[-len(log.lines):]
    first = read(ctx, "get_logs", name="big", namespace=mine, grep="^line (1|100000) ")  # scans all 10 MB
    assert first.logs[0].lines == [f"line 1 {PAD}", f"line {BIG_LINES} {PAD}"]
    many = read(ctx, "get_logs", name="big", namespace=mine, grep="^line 7", tail=500)
    matching = [line for line in whole.splitlines() if line.startswith("line 7")]
    assert many.logs[0].lines == matching[-len(many.logs[0].lines):]
    assert many.logs[0].omitted == f"… {len(matching) - len(many.logs[0].lines)} earlier matching lines omitted"
    assert count_tokens(render(many)) <= ctx.budget


def test_bounding_ten_megabytes_of_text() -> None:
    text = "".join(f"2026-01-01T00:00:00Z INFO request {i} served in {i % 97} ms {PAD}\n" for i in range(90_000))
    assert len(text.encode()) >= 10 * 2**20
    for budget in (2000, 300):
        lines, left = tools.logs.bound_log(text, tail=500, budget=budget)
        assert count_tokens("\n".join(lines)) <= budget and left == 90_000 - len(lines)
        assert lines[-1].startswith("2026-01-01T00:00:00Z INFO request 89999 ")
    matched, left = tools.logs.bound_log(text, tail=500, budget=2000, grep=re.compile(r"served in 96 ms"))
    assert matched and all("served in 96 ms" in line for line in matched) and left == 927 - len(matched)
    huge = "y" * (10 * 2**20)  # one 10 MB line
    [cut], left = tools.logs.bound_log(huge, tail=100, budget=2000)
    assert left == 0 and cut.endswith(f"… (+{10 * 2**20 - tools.logs.LINE_CHARS} chars)")


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("tool", "arguments"), [
    ("get_logs", {"name": "backend", "tail": 0}),
    ("get_logs", {"name": "backend", "tail": 501}),
    ("get_logs", {"name": "backend", "grep": "(unclosed"}),
    ("get_logs", {"name": "backend", "since": "10 minutes"}),
    ("get_logs", {"name": "backend", "since": "0"}),
    ("get_logs", {"name": "a;rm -rf /"}),
    ("get_logs", {"name": "../etc/passwd"}),
    ("get_logs", {"name": "backend", "container": "x;y"}),
    ("get_logs", {"name": "backend", "namespace": "../kube-system"}),
    ("get_events", {"name": "backend"}),
    ("get_events", {"kind": "deploy", "name": "back end;ls"}),
    ("get_events", {"limit": 0}),
    ("get_events", {"limit": 201}),
    ("get_events", {"namespace": "No Such"}),
])
def test_bad_input_is_refused_before_any_request(spy: ToolContext, tool: str, arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match=f"invalid arguments for {tool}"):
        read(spy, tool, **arguments)
    assert sent(spy) == []


def test_missing_namespace_and_unknown_names(ctx: ToolContext, todo: str) -> None:
    with pytest.raises(NotFound, match="namespace 'rd-nowhere' not found"):
        read(ctx, "get_logs", name="backend", namespace="rd-nowhere")
    with pytest.raises(NotFound, match="namespace 'rd-nowhere' not found"):
        read(ctx, "get_events", namespace="rd-nowhere")
    with pytest.raises(NotFound):
        read(ctx, "get_logs", name="no-such-thing", namespace=todo)
    with pytest.raises(InvalidInput, match="unknown kind"):
        read(ctx, "get_events", kind="gizmo", name="x", namespace=todo)
