"""Controllers of the workload kinds beyond Deployments: StatefulSets, DaemonSets, Jobs
and CronJobs. The manager starts every controller listed here."""

from __future__ import annotations

from .base import Controller
from .cronjobs import CronJobController
from .daemonsets import DaemonSetController
from .jobs import JobController
from .statefulsets import StatefulSetController

WORKLOADS: list[type[Controller]] = [StatefulSetController, DaemonSetController, JobController,
                                     CronJobController]
