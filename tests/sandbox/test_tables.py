"""Unit tests of sandbox.tables and sandbox.timefmt against kubectl's printers
(pkg/printers/internalversion) and apimachinery's duration.HumanDuration."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sandbox import timefmt
from sandbox.tables import pod_reason, pod_summary, table
from sandbox.timefmt import human_duration

Obj = dict[str, Any]

NOW = dt.datetime(2024, 6, 1, 12, 0, 0, tzinfo=dt.UTC)


def ago(seconds: float) -> str:
    return timefmt.rfc3339(NOW - dt.timedelta(seconds=seconds))


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timefmt, "now", lambda: NOW)


def cells(storage: str, item: Obj, *, wide: bool = True) -> dict[str, Any]:
    t = table(storage, [item], "7")
    names = [c["name"] for c in t["columnDefinitions"]]
    row = dict(zip(names, t["rows"][0]["cells"], strict=True))
    if not wide:
        prio = {c["name"]: c["priority"] for c in t["columnDefinitions"]}
        row = {k: v for k, v in row.items() if prio[k] == 0}
    return row


# --- human durations -------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"),
    (-1.5, "0s"),        # up to a second of clock skew is "now"
    (0, "0s"),
    (5, "5s"),
    (119, "119s"),
    (120, "2m"),
    (192, "3m12s"),
    (599, "9m59s"),
    (600, "10m"),
    (47 * 60 + 30, "47m"),
    (179 * 60 + 59, "179m"),
    (3 * 3600, "3h"),
    (5 * 3600 + 3 * 60 + 9, "5h3m"),
    (8 * 3600 - 1, "7h59m"),
    (8 * 3600, "8h"),
    (47 * 3600 + 59 * 60, "47h"),
    (48 * 3600, "2d"),
    (2 * 86400 + 3 * 3600, "2d3h"),
    (7 * 86400 + 23 * 3600, "7d23h"),
    (8 * 86400, "8d"),
    (35 * 86400 + 5 * 3600, "35d"),
    (729 * 86400, "729d"),
    (730 * 86400, "2y"),
    (3 * 365 * 86400 + 10 * 86400, "3y10d"),
    (8 * 365 * 86400, "8y"),
    (20 * 365 * 86400 + 100 * 86400, "20y"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_age() -> None:
    assert timefmt.age(ago(3 * 60 + 12)) == "3m12s"
    assert timefmt.age(None) == "<unknown>"
    assert timefmt.age("garbage") == "<unknown>"


# --- pods ------------------------------------------------------------------------

def pod(*, containers: int = 1, init: list[Obj] | None = None, statuses: list[Obj] | None = None,
        init_statuses: list[Obj] | None = None, phase: str = "Running", **extra: Any) -> Obj:
    spec: Obj = {"containers": [{"name": f"c{i}", "image": "img"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    status: Obj = {"phase": phase}
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    status.update(extra.pop("status", {}))
    meta = {"name": "web-0", "namespace": "default", "creationTimestamp": ago(300), **extra.pop("meta", {})}
    return {"metadata": meta, "spec": spec, "status": status, **extra}


def running(name: str = "c0", ready: bool = True, restarts: int = 0, finished: str | None = None) -> Obj:
    cs: Obj = {"name": name, "ready": ready, "restartCount": restarts,
               "state": {"running": {"startedAt": ago(100)}}}
    if finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return cs


def waiting(reason: str, name: str = "c0", restarts: int = 0, finished: str | None = None) -> Obj:
    cs: Obj = {"name": name, "ready": False, "restartCount": restarts,
               "state": {"waiting": {"reason": reason}}}
    if finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return cs


def terminated(name: str = "c0", exit_code: int = 0, reason: str | None = None, signal: int = 0) -> Obj:
    term: Obj = {"exitCode": exit_code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


def test_running_pod_row() -> None:
    p = pod(statuses=[running()], status={"podIP": "10.1.2.3"})
    p["spec"]["nodeName"] = "node-1"
    row = cells("pods", p)
    assert row == {"Name": "web-0", "Ready": "1/1", "Status": "Running", "Restarts": "0", "Age": "5m",
                   "IP": "10.1.2.3", "Node": "node-1", "Nominated Node": "<none>",
                   "Readiness Gates": "<none>"}


def test_pending_pod_without_statuses() -> None:
    assert pod_summary(pod(containers=2, phase="Pending")) == ("0/2", "Pending", "0")


def test_crash_loop_back_off_with_restarts_ago() -> None:
    p = pod(statuses=[waiting("CrashLoopBackOff", restarts=3, finished=ago(20))])
    assert pod_summary(p) == ("0/1", "CrashLoopBackOff", "3 (20s ago)")


def test_restarts_summed_and_latest_termination_used() -> None:
    p = pod(containers=2, statuses=[running("c0", restarts=2, finished=ago(3600)),
                                    running("c1", restarts=1, finished=ago(125))])
    assert pod_summary(p) == ("2/2", "Running", "3 (2m5s ago)")


def test_restarts_without_last_state_show_the_count_only() -> None:
    assert pod_summary(pod(statuses=[running(restarts=4)]))[2] == "4"


@pytest.mark.parametrize(("status", "reason"), [
    (waiting("ImagePullBackOff"), "ImagePullBackOff"),
    (waiting("ErrImagePull"), "ErrImagePull"),
    (waiting("ContainerCreating"), "ContainerCreating"),
    (terminated(exit_code=0, reason="Completed"), "Completed"),
    (terminated(exit_code=137, reason="OOMKilled"), "OOMKilled"),
    (terminated(exit_code=2), "ExitCode:2"),
    (terminated(exit_code=0, signal=9), "Signal:9"),
])
def test_container_state_reasons(status: Obj, reason: str) -> None:
    assert pod_reason(pod(statuses=[status])) == reason


def test_first_container_reason_wins() -> None:
    # kubectl walks containers from last to first, so the first one's reason is shown.
    p = pod(containers=2, statuses=[waiting("CrashLoopBackOff", "c0"), waiting("ImagePullBackOff", "c1")])
    assert pod_reason(p) == "CrashLoopBackOff"


def test_completed_with_a_running_container_is_running_or_not_ready() -> None:
    statuses = [terminated("c0", reason="Completed"), running("c1")]
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert pod_summary(pod(containers=2, statuses=statuses, status=ready))[:2] == ("1/2", "Running")
    assert pod_reason(pod(containers=2, statuses=statuses)) == "NotReady"


def test_ready_counts_only_running_ready_containers() -> None:
    p = pod(containers=3, statuses=[running("c0"), running("c1", ready=False), waiting("Err", "c2")])
    assert pod_summary(p)[0] == "1/3"


def test_pod_level_reason_shown() -> None:
    p = pod(phase="Failed", status={"reason": "Evicted"})
    assert pod_reason(p) == "Evicted"


def test_scheduling_gated() -> None:
    p = pod(phase="Pending", status={"conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]})
    assert pod_reason(p) == "SchedulingGated"


# init containers

INIT = [{"name": "i0", "image": "x"}, {"name": "i1", "image": "y"}]


def test_init_waiting_on_the_first_of_two() -> None:
    p = pod(init=INIT, phase="Pending", init_statuses=[
        {"name": "i0", "state": {"running": {}}, "restartCount": 0},
        {"name": "i1", "state": {"waiting": {"reason": "PodInitializing"}}, "restartCount": 0}],
        statuses=[waiting("PodInitializing")])
    assert pod_summary(p) == ("0/1", "Init:0/2", "0")


def test_init_progress_after_the_first_completes() -> None:
    p = pod(init=INIT, phase="Pending", init_statuses=[
        terminated("i0", exit_code=0, reason="Completed"),
        {"name": "i1", "state": {"running": {}}, "restartCount": 0}])
    assert pod_reason(p) == "Init:1/2"


def test_init_crash_loop_and_restarts() -> None:
    p = pod(init=INIT, phase="Pending", init_statuses=[
        waiting("CrashLoopBackOff", "i0", restarts=5, finished=ago(90))],
        statuses=[waiting("PodInitializing", restarts=0)])
    assert pod_summary(p) == ("0/1", "Init:CrashLoopBackOff", "5 (90s ago)")


@pytest.mark.parametrize(("status", "reason"), [
    (terminated("i0", exit_code=1, reason="Error"), "Init:Error"),
    (terminated("i0", exit_code=3), "Init:ExitCode:3"),
    (terminated("i0", exit_code=1, signal=15), "Init:Signal:15"),
])
def test_failed_init_container(status: Obj, reason: str) -> None:
    assert pod_reason(pod(init=INIT, phase="Pending", init_statuses=[status])) == reason


def test_all_init_containers_done_shows_main_containers() -> None:
    p = pod(init=INIT, init_statuses=[terminated("i0", reason="Completed"), terminated("i1", reason="Completed")],
            statuses=[running()])
    assert pod_summary(p) == ("1/1", "Running", "0")


def test_sidecar_init_container_counts_as_a_container() -> None:
    init = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    p = pod(init=init, init_statuses=[dict(running("proxy", restarts=1, finished=ago(30)), started=True)],
            statuses=[running()])
    assert pod_summary(p) == ("2/2", "Running", "1 (30s ago)")


# deletion

def test_terminating() -> None:
    p = pod(statuses=[running()], meta={"deletionTimestamp": ago(1)})
    assert pod_reason(p) == "Terminating"


def test_terminal_pods_are_not_terminating() -> None:
    p = pod(phase="Succeeded", statuses=[terminated(reason="Completed")], meta={"deletionTimestamp": ago(1)})
    assert pod_reason(p) == "Completed"


def test_node_lost_pod_being_deleted_is_unknown() -> None:
    p = pod(status={"reason": "NodeLost"}, meta={"deletionTimestamp": ago(1)})
    assert pod_reason(p) == "Unknown"


def test_readiness_gates_column() -> None:
    p = pod(statuses=[running()], status={"conditions": [{"type": "example.com/ok", "status": "True"}]})
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/ok"}, {"conditionType": "x/y"}]
    assert cells("pods", p)["Readiness Gates"] == "1/2"


# --- services --------------------------------------------------------------------

def svc(spec: Obj, status: Obj | None = None) -> Obj:
    return {"metadata": {"name": "s", "creationTimestamp": ago(47 * 60)}, "spec": spec, "status": status or {}}


def test_cluster_ip_service_row() -> None:
    row = cells("services", svc({"type": "ClusterIP", "clusterIP": "10.96.0.10",
                                 "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                                 "selector": {"k8s-app": "dns", "app": "x"}}))
    assert row == {"Name": "s", "Type": "ClusterIP", "Cluster-IP": "10.96.0.10", "External-IP": "<none>",
                   "Port(s)": "53/UDP,53/TCP", "Age": "47m", "Selector": "app=x,k8s-app=dns"}


def test_node_port_ports() -> None:
    row = cells("services", svc({"type": "NodePort", "clusterIP": "10.0.0.1",
                                 "ports": [{"port": 80, "nodePort": 30001, "protocol": "TCP"},
                                           {"port": 443, "nodePort": 30443}]}))
    assert row["Port(s)"] == "80:30001/TCP,443:30443/TCP"
    assert row["External-IP"] == "<none>"


def test_headless_service_without_ports_or_selector() -> None:
    row = cells("services", svc({"type": "ClusterIP", "clusterIP": "None"}))
    assert (row["Cluster-IP"], row["Port(s)"], row["Selector"]) == ("None", "<none>", "<none>")


def test_load_balancer_external_ip() -> None:
    spec = {"type": "LoadBalancer", "clusterIP": "10.0.0.2", "ports": [{"port": 80, "nodePort": 31000}]}
    assert cells("services", svc(spec))["External-IP"] == "<pending>"
    status = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "lb.example.com"}]}}
    assert cells("services", svc(spec, status))["External-IP"] == "1.2.3.4,lb.example.com"
    # Load balancer addresses first, then spec.externalIPs.
    spec_ext = {**spec, "externalIPs": ["5.6.7.8"]}
    assert cells("services", svc(spec_ext, status))["External-IP"] == "1.2.3.4,lb.example.com,5.6.7.8"
    assert cells("services", svc(spec_ext))["External-IP"] == "5.6.7.8"


def test_external_ips_and_external_name() -> None:
    assert cells("services", svc({"type": "ClusterIP", "externalIPs": ["1.1.1.1", "2.2.2.2"]}))[
        "External-IP"] == "1.1.1.1,2.2.2.2"
    assert cells("services", svc({"type": "ExternalName", "externalName": "db.example.com"}))[
        "External-IP"] == "db.example.com"


# --- workloads and others --------------------------------------------------------

TEMPLATE = {"spec": {"containers": [{"name": "app", "image": "nginx:1"}, {"name": "log", "image": "fluentd"}]}}


def test_deployment_row() -> None:
    d = {"metadata": {"name": "web", "creationTimestamp": ago(2 * 86400 + 3 * 3600)},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells("deployments.apps", d) == {
        "Name": "web", "Ready": "2/3", "Up-to-date": 3, "Available": 2, "Age": "2d3h",
        "Containers": "app,log", "Images": "nginx:1,fluentd", "Selector": "app=web"}


def test_fresh_deployment_counts_are_zero() -> None:
    d = {"metadata": {"name": "web"}, "spec": {"replicas": 1}, "status": {}}
    row = cells("deployments.apps", d, wide=False)
    assert row == {"Name": "web", "Ready": "0/1", "Up-to-date": 0, "Available": 0, "Age": "<unknown>"}


def test_job_row() -> None:
    job = {"metadata": {"name": "j", "creationTimestamp": ago(600)},
           "spec": {"completions": 1, "template": TEMPLATE},
           "status": {"succeeded": 1, "startTime": ago(600), "completionTime": ago(600 - 192),
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    row = cells("jobs.batch", job, wide=False)
    assert row == {"Name": "j", "Status": "Complete", "Completions": "1/1", "Duration": "3m12s", "Age": "10m"}


def test_cronjob_uses_job_template_containers() -> None:
    cj = {"metadata": {"name": "cj", "creationTimestamp": ago(35 * 86400)},
          "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": TEMPLATE}}},
          "status": {"lastScheduleTime": ago(125)}}
    row = cells("cronjobs.batch", cj)
    assert (row["Schedule"], row["Suspend"], row["Active"], row["Last Schedule"], row["Age"],
            row["Containers"]) == ("*/5 * * * *", False, 0, "2m5s", "35d", "app,log")


def test_node_row() -> None:
    node = {"metadata": {"name": "n1", "creationTimestamp": ago(5 * 3600 + 3 * 60),
                         "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.30.0"},
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}]}}
    row = cells("nodes", node)
    assert (row["Status"], row["Roles"], row["Age"], row["Version"], row["Internal-IP"], row["External-IP"]) == (
        "Ready,SchedulingDisabled", "control-plane", "5h3m", "v1.30.0", "172.18.0.2", "<none>")


def test_event_row() -> None:
    ev = {"metadata": {"name": "e1"}, "type": "Warning", "reason": "BackOff", "lastTimestamp": ago(20),
          "involvedObject": {"kind": "Pod", "name": "web-0"}, "message": "Back-off restarting\n"}
    row = cells("events", ev, wide=False)
    assert row == {"Last Seen": "20s", "Type": "Warning", "Reason": "BackOff", "Object": "pod/web-0",
                   "Message": "Back-off restarting"}


def test_unknown_resources_get_name_and_age() -> None:
    t = table("widgets.example.com", [{"metadata": {"name": "w", "creationTimestamp": ago(5)}}], "9")
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Age"]
    assert t["rows"][0]["cells"] == ["w", "5s"]


# --- the Table object ------------------------------------------------------------

def test_table_shape_and_embedded_objects() -> None:
    item = pod(statuses=[running()])
    t = table("pods", [item], "42", continue_token="abc")
    assert (t["kind"], t["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert t["metadata"] == {"resourceVersion": "42", "continue": "abc"}
    name_col = t["columnDefinitions"][0]
    assert (name_col["name"], name_col["type"], name_col["format"], name_col["priority"]) == (
        "Name", "string", "name", 0)
    assert {c["name"]: c["priority"] for c in t["columnDefinitions"]}["IP"] == 1
    assert t["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                      "metadata": item["metadata"]}
    assert table("pods", [item], "42", include="Object")["rows"][0]["object"] is item
    assert table("pods", [item], "42", include="None")["rows"][0]["object"] is None
    assert "continue" not in table("pods", [], "1")["metadata"]
