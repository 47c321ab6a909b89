"""Workload controllers: Deployments, ReplicaSets, StatefulSets, DaemonSets, ReplicationControllers, HPAs.

``k8s.io/kubernetes/pkg/apis/apps/validation`` (and the ReplicationController
and HorizontalPodAutoscaler rules): non-negative counts, a non-empty selector
that matches the pod template's labels and may not change, the template
itself (restart policy ``Always``), the Deployment strategy and the
StatefulSet pod management policy.  Jobs and CronJobs are in
``sandbox.validation_jobs``.
"""

from __future__ import annotations

from typing import Any, Final

from sandbox.validation_errors import (
    FieldError,
    Obj,
    Rule,
    forbidden,
    go_labels,
    go_selector,
    immutable,
    invalid,
    non_negative,
    not_supported,
)
from sandbox.validation_meta import selector_empty, selector_matches, validate_selector
from sandbox.validation_pods import validate_template

_STRATEGIES: Final = ("Recreate", "RollingUpdate")
_POD_MANAGEMENT_POLICIES: Final = ("OrderedReady", "Parallel")


def workload(what: str) -> Rule:
    """The rule of a workload kind: ``deployment`` (also ReplicaSets), ``statefulset``,
    ``daemonset`` or ``replicationcontroller`` (as the kind appears in messages)."""

    def rule(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        for field in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
            non_negative(spec, field, "spec", errs)
        selector = spec.get("selector")
        template = spec.get("template")
        if what == "replicationcontroller":
            selector = {"matchLabels": selector} if isinstance(selector, dict) and selector else None
            if selector is None and isinstance(template, dict):  # defaulted from the template
                selector = {"matchLabels": (template.get("metadata") or {}).get("labels") or {}}
        elif isinstance(selector, dict):
            validate_selector(selector, "spec.selector", errs)
            if selector_empty(selector):
                errs.append(
                    invalid(
                        "spec.selector",
                        selector,
                        f"empty selector is invalid for {what}",
                        formatted=go_selector(selector),
                    )
                )
        if isinstance(template, dict):
            _template_matches(selector, template, errs)
            claims = frozenset(
                (c.get("metadata") or {}).get("name", "") for c in spec.get("volumeClaimTemplates") or []
            )
            validate_template(template, "spec.template", errs, ("Always",), claims)
        if what == "deployment":
            _deployment_strategy(spec.get("strategy"), errs)
        if what == "statefulset":
            policy = spec.get("podManagementPolicy")
            if policy is not None and policy not in _POD_MANAGEMENT_POLICIES:
                errs.append(not_supported("spec.podManagementPolicy", policy, _POD_MANAGEMENT_POLICIES))
        if old is not None and what != "replicationcontroller":
            old_selector = (old.get("spec") or {}).get("selector")
            immutable(selector, old_selector, "spec.selector", errs, formatted=go_selector(selector))

    return rule


def _template_matches(selector: Any, template: Obj, errs: list[FieldError]) -> None:
    """The selector must select the template's pods (an empty one is reported on its own)."""
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(selector, dict) and selector_empty(selector):
        return
    if not selector_matches(selector, labels):
        errs.append(
            invalid(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
                formatted=go_labels(labels),
            )
        )


def _int_or_percent(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].lstrip("-").isdigit():
        return int(value[:-1])
    return None


def _deployment_strategy(strategy: Any, errs: list[FieldError]) -> None:
    if not isinstance(strategy, dict):
        return
    kind = strategy.get("type")
    if kind is not None and kind not in _STRATEGIES:
        errs.append(not_supported("spec.strategy.type", kind, _STRATEGIES))
    rolling = strategy.get("rollingUpdate")
    if not isinstance(rolling, dict):
        return
    path = "spec.strategy.rollingUpdate"
    if kind == "Recreate":
        errs.append(forbidden(path, "may not be specified when strategy `type` is 'Recreate'"))
        return
    values = {f: _int_or_percent(rolling.get(f)) for f in ("maxUnavailable", "maxSurge")}
    for field, number in values.items():
        if number is not None and number < 0:
            errs.append(invalid(f"{path}.{field}", rolling[field], "must be greater than or equal to 0"))
    if isinstance(rolling.get("maxUnavailable"), str) and (values["maxUnavailable"] or 0) > 100:
        errs.append(invalid(f"{path}.maxUnavailable", rolling["maxUnavailable"], "must not be greater than 100%"))
    if values["maxUnavailable"] == 0 and values["maxSurge"] == 0:
        errs.append(
            invalid(f"{path}.maxUnavailable", rolling["maxUnavailable"], "may not be 0 when `maxSurge` is 0")
        )


def validate_hpa(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    """HorizontalPodAutoscaler: ``1 <= minReplicas <= maxReplicas``."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        errs.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if isinstance(high, int):
        if high < 1:
            errs.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
        elif isinstance(low, int) and high < low:
            errs.append(invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
