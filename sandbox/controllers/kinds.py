"""The resource types controllers write, looked up once."""

from __future__ import annotations

from ..resources import ResourceType, lookup


def _res(group: str, version: str, plural: str) -> ResourceType:
    res = lookup(group, version, plural)
    assert res is not None, plural
    return res


PODS = _res("", "v1", "pods")
NODES = _res("", "v1", "nodes")
EVENTS = _res("", "v1", "events")
SERVICES = _res("", "v1", "services")
ENDPOINTS = _res("", "v1", "endpoints")
ENDPOINT_SLICES = _res("discovery.k8s.io", "v1", "endpointslices")
CONFIGMAPS = _res("", "v1", "configmaps")
SECRETS = _res("", "v1", "secrets")
DEPLOYMENTS = _res("apps", "v1", "deployments")
REPLICASETS = _res("apps", "v1", "replicasets")
STATEFULSETS = _res("apps", "v1", "statefulsets")
DAEMONSETS = _res("apps", "v1", "daemonsets")
JOBS = _res("batch", "v1", "jobs")
CRONJOBS = _res("batch", "v1", "cronjobs")
PVCS = _res("", "v1", "persistentvolumeclaims")
