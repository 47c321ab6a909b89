"""Semantic validation rules of the real API server, for the common built-in kinds.

A subset of ``k8s.io/apimachinery/pkg/api/validation`` and
``k8s.io/kubernetes/pkg/apis/*/validation``, with the same field paths and
messages.  :func:`check` validates an object's metadata
(``sandbox.validation_meta``) and then runs the rule of its kind from
:data:`RULES`; the rules live in one module per concept:

* ``sandbox.validation_pods``: Pods and PodTemplates (and every pod template);
* ``sandbox.validation_workloads``: Deployments, ReplicaSets, StatefulSets,
  DaemonSets, ReplicationControllers, HorizontalPodAutoscalers;
* ``sandbox.validation_jobs``: Jobs and CronJobs;
* ``sandbox.validation_services``, ``sandbox.validation_config`` (ConfigMaps,
  Secrets), ``sandbox.validation_storage`` (PersistentVolumeClaims),
  ``sandbox.validation_rbac``.

Every rule appends :class:`~sandbox.validation_errors.FieldError` values;
``sandbox.validation`` turns them into ``Invalid``.
"""

from __future__ import annotations

from typing import Final

from sandbox.validation_config import validate_configmap, validate_secret
from sandbox.validation_errors import FieldError, Obj, Rule
from sandbox.validation_jobs import validate_cronjob, validate_job
from sandbox.validation_meta import name_rule, validate_meta
from sandbox.validation_pods import validate_pod, validate_pod_template
from sandbox.validation_rbac import validate_rbac
from sandbox.validation_services import validate_service
from sandbox.validation_storage import validate_pvc
from sandbox.validation_workloads import validate_hpa, workload

RULES: Final[dict[tuple[str, str], Rule]] = {
    ("", "Pod"): validate_pod,
    ("", "PodTemplate"): validate_pod_template,
    ("", "ReplicationController"): workload("replicationcontroller"),
    ("", "Service"): validate_service,
    ("", "ConfigMap"): validate_configmap,
    ("", "Secret"): validate_secret,
    ("", "PersistentVolumeClaim"): validate_pvc,
    ("apps", "Deployment"): workload("deployment"),
    ("apps", "ReplicaSet"): workload("deployment"),
    ("apps", "StatefulSet"): workload("statefulset"),
    ("apps", "DaemonSet"): workload("daemonset"),
    ("batch", "Job"): validate_job,
    ("batch", "CronJob"): validate_cronjob,
    ("autoscaling", "HorizontalPodAutoscaler"): validate_hpa,
    ("rbac.authorization.k8s.io", "Role"): validate_rbac,
    ("rbac.authorization.k8s.io", "ClusterRole"): validate_rbac,
    ("rbac.authorization.k8s.io", "RoleBinding"): validate_rbac,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): validate_rbac,
}
"""The rule of each ``(API group, kind)``; other kinds get only the metadata checks."""


def check(obj: Obj, group: str, kind: str, old: Obj | None) -> list[FieldError]:
    """Every semantic error of a decoded object (``old``: the stored one, on update)."""
    errs: list[FieldError] = []
    validate_meta(obj.get("metadata"), name_rule(group, kind), errs)
    rule = RULES.get((group, kind))
    if rule is not None:
        rule(obj, old, errs)
    return errs
