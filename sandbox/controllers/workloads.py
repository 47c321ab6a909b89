"""Controllers of the workload kinds beyond Deployments: StatefulSets, DaemonSets, Jobs
and CronJobs. The manager starts every controller listed here."""

from __future__ import annotations

from .base import Controller

WORKLOADS: list[type[Controller]] = []
