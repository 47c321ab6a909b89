"""Jobs and CronJobs, as ``k8s.io/kubernetes/pkg/apis/batch/validation`` checks them.

A Job's pod template must say how failed pods restart, ``OnFailure`` or
``Never``: an absent ``restartPolicy`` is refused as the real server refuses
it (``Required value: valid values: "OnFailure", "Never"``), any other value
is ``Unsupported``.  Counts may not be negative, and a Job's selector and
template may not change.  A CronJob's schedule is checked for its five fields
(or a ``@`` macro), and its ``jobTemplate.spec`` as a Job's spec.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sandbox.validation_errors import (
    FieldError,
    Obj,
    go_quoted,
    go_selector,
    immutable,
    invalid,
    non_negative,
    not_supported,
    required,
)
from sandbox.validation_meta import validate_selector
from sandbox.validation_pods import validate_template

_JOB_RESTART: Final = ("OnFailure", "Never")
_JOB_COUNTS: Final = ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished")
_CRON_COUNTS: Final = ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")
_CONCURRENCY_POLICIES: Final = ("Allow", "Forbid", "Replace")
_CRON_MACROS: Final = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


def _restart_policy(template: Obj, path: str, errs: list[FieldError]) -> None:
    """The template's restart policy: required, and ``OnFailure`` or ``Never``."""
    spec = template.get("spec")
    policy = spec.get("restartPolicy") if isinstance(spec, dict) else None
    field = f"{path}.spec.restartPolicy"
    if not policy:
        errs.append(required(field, f"valid values: {go_quoted(_JOB_RESTART)}"))
    elif policy not in _JOB_RESTART:
        errs.append(not_supported(field, policy, _JOB_RESTART))


def _job_spec(spec: Any, path: str, errs: list[FieldError]) -> None:
    if not isinstance(spec, dict):
        return
    for field in _JOB_COUNTS:
        non_negative(spec, field, path, errs)
    selector = spec.get("selector")
    if isinstance(selector, dict):
        validate_selector(selector, f"{path}.selector", errs)
    template = spec.get("template")
    if isinstance(template, dict):
        validate_template(template, f"{path}.template", errs, None)
        _restart_policy(template, f"{path}.template", errs)


def validate_job(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    spec = obj.get("spec")
    _job_spec(spec, "spec", errs)
    if old is None or not isinstance(spec, dict):
        return
    old_spec = old.get("spec") or {}
    selector = spec.get("selector")
    immutable(selector, old_spec.get("selector"), "spec.selector", errs, formatted=go_selector(selector))
    immutable(
        spec.get("template"),
        old_spec.get("template"),
        "spec.template",
        errs,
        formatted="core.PodTemplateSpec{...}",
    )


def _schedule(schedule: str, errs: list[FieldError]) -> None:
    body = re.sub(r"^(CRON_)?TZ=\S+\s+", "", schedule.strip())
    fields = body.split()
    if schedule.startswith(("TZ=", "CRON_TZ=")):
        errs.append(
            invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
        )
    elif not (body in _CRON_MACROS or body.startswith("@every ")) and len(fields) != 5:
        errs.append(invalid("spec.schedule", schedule, f"expected exactly 5 fields, found {len(fields)}: {body}"))


def validate_cronjob(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    schedule = spec.get("schedule")
    if isinstance(schedule, str):
        _schedule(schedule, errs)
    policy = spec.get("concurrencyPolicy")
    if policy is not None and policy not in _CONCURRENCY_POLICIES:
        errs.append(not_supported("spec.concurrencyPolicy", policy, _CONCURRENCY_POLICIES))
    for field in _CRON_COUNTS:
        non_negative(spec, field, "spec", errs)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        _job_spec(job_template.get("spec"), "spec.jobTemplate.spec", errs)
