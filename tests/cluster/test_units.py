"""Unit tests of the admission plugins, quota usage, the HPA's arithmetic and metrics."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from sandbox.admission import limitranges, quotas
from sandbox.admission.quantity import amount, format_quantity, pod_totals, pretty
from sandbox.controllers import hpa
from sandbox.errors import Forbidden
from sandbox.metrics import Load, Metrics, Usage, jitter
from sandbox.resources import lookup

PODS = lookup("", "v1", "pods")


@pytest.mark.parametrize(("text", "shown"), [
    ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("1536Mi", "1536Mi"), ("2000m", "2"), ("0.5", "500m"),
    ("1000", "1k"), ("1500", "1500"), ("100m", "100m"), ("0", "0"), ("1e3", "1k"), ("512", "512"),
])
def test_quantities_print_canonically(text: str, shown: str) -> None:
    assert str(amount(text)) == shown


def test_sums_keep_binary_format() -> None:
    assert str(amount("512Mi") + amount("512Mi")) == "1Gi"
    assert format_quantity(Fraction(3, 2)) == "1500m"
    assert pretty({"b": amount("1"), "a": amount("2Gi")}) == "a=2Gi,b=1"


def test_pod_totals_take_the_larger_init_container() -> None:
    spec = {"containers": [{"resources": {"requests": {"cpu": "100m"}}}, {"resources": {"limits": {"cpu": "200m"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "1"}}}]}
    requests, limits = pod_totals(spec)
    assert str(requests["cpu"]) == "1" and str(limits["cpu"]) == "200m"


def _pod(resources: dict[str, Any], name: str = "x") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "n"},
            "spec": {"containers": [{"name": "app", "resources": resources}]}, "status": {"qosClass": "BestEffort"}}


def test_limitrange_item_defaults() -> None:
    item = limitranges.default_item({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1Mi"}})
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "1Mi"}


def test_limitrange_messages() -> None:
    items = [{"type": "Container", "min": {"cpu": "100m"}, "max": {"memory": "1Gi"}},
             {"type": "Pod", "max": {"cpu": "1"}}]
    pod = _pod({"requests": {"cpu": "50m"}, "limits": {"cpu": "2"}})
    assert limitranges.validate_pod(pod, items) == [
        "minimum cpu usage per Container is 100m, but request is 50m",
        "maximum memory usage per Container is 1Gi.  No limit is specified",
        "maximum cpu usage per Pod is 1, but limit is 2",
    ]
    assert PODS is not None
    error = limitranges.forbidden(PODS, pod, ["a", "b", "a"])
    assert isinstance(error, Forbidden) and error.message == 'pods "x" is forbidden: [a, b]'


def test_limitrange_keeps_what_is_given() -> None:
    pod = _pod({"limits": {"cpu": "300m"}})
    limitranges.mutate_pod(pod, [{"type": "Container", "default": {"cpu": "1", "memory": "64Mi"},
                                  "defaultRequest": {"cpu": "100m", "memory": "32Mi"}}])
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "300m", "memory": "64Mi"}, "requests": {"cpu": "300m", "memory": "32Mi"}}
    assert pod["metadata"]["annotations"][limitranges.ANNOTATION] == (
        "LimitRanger plugin set: memory request for container app; memory limit for container app")


def test_claim_limits() -> None:
    claim = {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}
    items = [{"type": "PersistentVolumeClaim", "max": {"storage": "10Gi"}, "min": {"storage": "1Gi"}}]
    assert limitranges.validate_claim(claim, items) == [
        "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"]


def test_quota_usage_of_pods_and_claims() -> None:
    pod = _pod({"limits": {"cpu": "1", "memory": "1Gi"}})
    used = quotas.usage("pods", pod)
    assert {k: str(v) for k, v in used.items()} == {
        "count/pods": "1", "pods": "1", "requests.cpu": "1", "cpu": "1", "requests.memory": "1Gi",
        "memory": "1Gi", "limits.cpu": "1", "limits.memory": "1Gi"}
    done = {**pod, "status": {"phase": "Succeeded"}}
    assert set(quotas.usage("pods", done)) == {"count/pods"}
    claim = {"spec": {"storageClassName": "standard", "resources": {"requests": {"storage": "5Gi"}}}}
    assert str(quotas.usage("persistentvolumeclaims", claim)[
        "standard.storageclass.storage.k8s.io/requests.storage"]) == "5Gi"
    assert str(quotas.usage("deployments.apps", {})["count/deployments.apps"]) == "1"


def test_quota_constraints_message() -> None:
    pod = {"spec": {"containers": [{"name": "b", "resources": {}}, {"name": "a", "resources": {
        "limits": {"cpu": "1"}}}]}}
    assert quotas._missing(pod, ["limits.memory", "limits.cpu"]) == (
        "limits.cpu for: b; limits.memory for: a,b")


def test_quota_scopes() -> None:
    quota = {"spec": {"scopes": ["BestEffort"]}}
    assert quotas.matches(quota, "pods", _pod({}))
    assert not quotas.matches(quota, "pods", _pod({"requests": {"cpu": "1"}}))
    assert not quotas.matches(quota, "configmaps", {})


def test_hpa_replicas_with_tolerance() -> None:
    usage = {"a": 20.0, "b": 20.0}
    requests = {"a": 10.0, "b": 10.0}
    ratio, percent, average = hpa._ratio(usage, requests, 50, True)
    assert (ratio, percent, average) == (4.0, 200, 20.0)
    assert hpa._replicas(ratio, usage, requests, [], [], 2, 50, True) == 8
    assert hpa._replicas(1.05, usage, requests, [], [], 2, 50, True) == 2  # within 10%
    # a pod without metrics counts as idle when scaling up
    assert hpa._replicas(4.0, usage, {**requests, "c": 10.0}, [], ["c"], 3, 50, True) == 8


def test_hpa_rate_limits() -> None:
    assert hpa._rate_limit(hpa.SCALE_UP, 1, [], 100.0, up=True) == 5  # max(1 + 4 pods, 200%)
    assert hpa._rate_limit(hpa.SCALE_UP, 10, [], 100.0, up=True) == 20
    assert hpa._rate_limit(hpa.SCALE_UP, 5, [(95.0, 4)], 100.0, up=True) == 5  # 1 -> 5 just happened
    assert hpa._rate_limit(hpa.SCALE_DOWN, 8, [], 100.0, up=False) == 0
    assert hpa._rate_limit({"selectPolicy": "Disabled"}, 3, [], 0.0, up=True) == 3


class _Clock:
    speed = 1.0

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_hpa_scale_down_is_stabilized() -> None:
    controller = hpa.HPAController.__new__(hpa.HPAController)
    controller.recommendations = {}
    clock = _Clock()
    controller.clock = clock  # type: ignore[assignment]
    key = ("n", "x")
    assert controller._stabilize(key, {}, 4, 4)[0] == 4
    clock.now += 60
    desired, (reason, _) = controller._stabilize(key, {}, 4, 1)
    assert (desired, reason) == (4, "ScaleDownStabilized")
    clock.now += 301
    assert controller._stabilize(key, {}, 4, 1) == (1, ("ReadyForNewScale", "recommended size matches current size"))


def test_metrics_load_and_jitter() -> None:
    metrics = Metrics.__new__(Metrics)
    metrics.loads = []
    metrics.set_load("n", {"app": "web"}, 3.0)
    metrics.set_load("n", {"app": "web"}, 5.0)  # replaces
    assert metrics.loads == [Load("n", {"app": "web"}, 5.0)]
    assert metrics.load_of("n", {"app": "web", "x": "y"}) == 5.0
    assert metrics.load_of("other", {"app": "web"}) == 1.0
    metrics.set_load("n", {"app": "web"}, 1.0)
    assert metrics.loads == []
    assert jitter("a", 1) == jitter("a", 1) and 0.9 <= jitter("b", 2) <= 1.1
    assert Usage(2.5, 3 * 2**20).as_resources() == {"cpu": "2500000n", "memory": "3072Ki"}
