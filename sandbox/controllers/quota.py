"""The resource quota controller: keeps each ResourceQuota's ``status.hard`` (its spec)
and ``status.used`` (what the namespace's objects use of it) current, on every change
of the objects it counts and every ``resync`` seconds for the other kinds."""

from __future__ import annotations

from typing import Any

from .. import objects
from ..admission.quantity import amount
from ..admission.quotas import QUOTAS, used
from ..registry import WriteOptions
from ..resources import lookup
from ..store import Change
from .base import Controller, Key

Obj = dict[str, Any]
_RES = lookup("", "v1", "resourcequotas")
assert _RES is not None
RESOURCE_QUOTAS = _RES


class QuotaController(Controller):
    watches = (QUOTAS, "pods", "services", "configmaps", "secrets", "persistentvolumeclaims",
               "replicationcontrollers", "deployments.apps", "replicasets.apps", "statefulsets.apps",
               "jobs.batch", "cronjobs.batch")
    primary = QUOTAS
    resync = 30.0

    def keys_for(self, change: Change) -> list[Key]:
        if change.storage == QUOTAS:
            return list(super().keys_for(change))
        return [(change.namespace, q["metadata"]["name"]) for q in self.store.list(QUOTAS, change.namespace)]

    def reconcile(self, namespace: str, name: str) -> None:
        quota = self.store.get(QUOTAS, namespace, name)
        if quota is None or quota["metadata"].get("deletionTimestamp"):
            return
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        status = {"hard": {k: str(amount(v)) for k, v in hard.items()},
                  "used": {k: str(v) for k, v in used(self.store, quota).items()}}
        if (quota.get("status") or {}) == status:
            return
        updated = objects.copy(quota)
        updated["status"] = status
        self.registry.update(RESOURCE_QUOTAS, namespace, name, updated, WriteOptions(), sub="status")
