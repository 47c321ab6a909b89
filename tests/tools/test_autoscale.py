"""autoscale: an autoscaling/v2 HPA created as kubectl autoscale creates it, updated in place
the second time, with its maximum as the replica count the policy bounds check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tools.autoscale
import tools.workloads  # noqa: F401  (registers the tools)
from sandbox.control import Sandbox
from tests.tools.conftest import Kubectl
from tests.tools.recording import RecordingCluster, applied, plan_only, recording_context, refused
from tools.context import ToolContext
from tools.errors import InvalidInput


@pytest.fixture
def rec(cluster: Sandbox) -> Iterator[tuple[ToolContext, RecordingCluster]]:
    ctx, recorder = recording_context(cluster.kubeconfig)
    yield ctx, recorder
    recorder.close()


def hpas(kc: Kubectl, ns: str) -> list[Any]:
    return list(kc.json("get", "hpa", "-n", ns)["items"])


@pytest.mark.parametrize("arguments", [
    {"name": "backend", "max": 0}, {"name": "backend", "max": 10**9}, {"name": "backend", "max": "five"},
    {"name": "backend", "min": 4, "max": 2}, {"name": "backend", "max": 3, "cpu_percent": 0},
    {"name": "backend;ls", "max": 3}, {"name": "backend", "max": 3, "kind": "daemonset"},
])
def test_bad_input_is_refused_before_anything_is_sent(rec: tuple[ToolContext, RecordingCluster],
                                                      arguments: dict[str, Any]) -> None:
    ctx, recorder = rec
    assert isinstance(refused(ctx, "autoscale", **arguments), InvalidInput)
    assert recorder.sent == []


def test_autoscale_creates_then_updates_an_hpa(rec: tuple[ToolContext, RecordingCluster], kc: Kubectl,
                                               fresh_todo: str) -> None:
    ctx, recorder = rec
    ns = fresh_todo
    change = plan_only(ctx, "autoscale", name="backend", min=2, max=5, cpu_percent=70, namespace=ns)
    assert change.command == f"kubectl autoscale deployment/todo-backend -n {ns} --min=2 --max=5 --cpu-percent=70"
    assert change.replicas == 5
    assert change.before == ""
    assert "+  maxReplicas: 5\n" in change.diff and "+        averageUtilization: 70\n" in change.diff
    assert [t.ref() for t in change.targets] == [f"HorizontalPodAutoscaler/todo-backend in {ns}",
                                                 f"Deployment/todo-backend in {ns}"]
    assert recorder.writes() == []
    assert hpas(kc, ns) == []
    result = applied(change)
    assert result.created and (result.name, result.min, result.max) == ("todo-backend", 2, 5)
    [hpa] = hpas(kc, ns)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "todo-backend"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}

    update = plan_only(ctx, "autoscale", name="backend", max=8, namespace=ns)
    assert update.command.startswith(f"kubectl patch horizontalpodautoscaler/todo-backend -n {ns} --type=merge -p ")
    assert "-  maxReplicas: 5\n+  maxReplicas: 8\n" in update.diff
    assert "-  minReplicas: 2\n+  minReplicas: 1\n" in update.diff
    assert update.replicas == 8
    assert not applied(update).created
    [hpa] = hpas(kc, ns)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 8)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 80

    scaled = plan_only(ctx, "scale", name="backend", replicas="3", namespace=ns)
    assert "HorizontalPodAutoscaler todo-backend manages its replicas" in scaled.summary
