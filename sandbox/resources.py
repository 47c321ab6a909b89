"""The resource types the sandbox serves, as discovery advertises them.

One :class:`ResourceType` per (group, version, plural). Storage is shared by the
versions of one resource (``storage_key``): autoscaling/v1 and v2
HorizontalPodAutoscalers are one set of objects, so are core and
events.k8s.io Events; ``sandbox.conversion`` translates between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

READ = ("get", "list", "watch")
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION = ("create", "delete", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    storage: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> str:
        """Versions of one resource share storage under this key."""
        return self.storage or (f"{self.plural}.{self.group}" if self.group else self.plural)

    @property
    def qualified(self) -> str:
        """``deployments.apps`` as the API server names it in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    verbs: tuple[str, ...] = ALL_VERBS,
    short: tuple[str, ...] = (),
    cats: tuple[str, ...] = (),
    sub: tuple[str, ...] = (),
    storage: str = "",
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        verbs=verbs,
        short_names=short,
        categories=cats,
        subresources=sub,
        storage=storage,
    )


ALL = ("all",)

RESOURCES: tuple[ResourceType, ...] = (
    _r("", "v1", "namespaces", "Namespace", namespaced=False, short=("ns",),
       verbs=NO_COLLECTION, sub=("status", "finalize")),
    _r("", "v1", "pods", "Pod", short=("po",), cats=ALL,
       sub=("status", "log", "eviction", "exec", "attach", "portforward", "binding")),
    _r("", "v1", "services", "Service", short=("svc",), cats=ALL, sub=("status",),
       verbs=ALL_VERBS),
    _r("", "v1", "endpoints", "Endpoints", short=("ep",)),
    _r("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _r("", "v1", "secrets", "Secret"),
    _r("", "v1", "events", "Event", short=("ev",), storage="events"),
    _r("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",)),
    _r("", "v1", "nodes", "Node", namespaced=False, short=("no",), sub=("status",)),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",),
       sub=("status",)),
    _r("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short=("pv",),
       sub=("status",)),
    _r("", "v1", "resourcequotas", "ResourceQuota", short=("quota",), sub=("status",)),
    _r("", "v1", "limitranges", "LimitRange", short=("limits",)),
    _r("apps", "v1", "deployments", "Deployment", short=("deploy",), cats=ALL,
       sub=("scale", "status")),
    _r("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), cats=ALL,
       sub=("scale", "status")),
    _r("apps", "v1", "statefulsets", "StatefulSet", short=("sts",), cats=ALL,
       sub=("scale", "status")),
    _r("apps", "v1", "daemonsets", "DaemonSet", short=("ds",), cats=ALL, sub=("status",)),
    _r("batch", "v1", "jobs", "Job", cats=ALL, sub=("status",)),
    _r("batch", "v1", "cronjobs", "CronJob", short=("cj",), cats=ALL, sub=("status",)),
    _r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
       short=("hpa",), cats=ALL, sub=("status",), storage="horizontalpodautoscalers.autoscaling"),
    _r("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
       short=("hpa",), cats=ALL, sub=("status",), storage="horizontalpodautoscalers.autoscaling"),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", short=("ing",), sub=("status",)),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=("netpol",)),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
       namespaced=False),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=("pdb",),
       sub=("status",)),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False,
       short=("sc",)),
    _r("events.k8s.io", "v1", "events", "Event", short=("ev",), storage="events"),
    _r("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
       namespaced=False, verbs=("create",)),
    # computed, never stored: simulated usage (see Registry.providers)
    _r("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", verbs=("get", "list")),
    _r("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", namespaced=False, verbs=("get", "list")),
)

# Subresources advertised in discovery: (parent plural, sub) -> (group, version, kind, verbs).
SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "status": ("", "", "", ("get", "patch", "update")),
    "log": ("", "", "Pod", ("get",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "finalize": ("", "", "", ("update",)),
    "exec": ("", "", "PodExecOptions", ("create", "get")),
    "attach": ("", "", "PodAttachOptions", ("create", "get")),
    "portforward": ("", "", "PodPortForwardOptions", ("create", "get")),
    "binding": ("", "", "Binding", ("create",)),
}

# Versions each group prefers, first one is the preferred version.
GROUP_VERSIONS: dict[str, tuple[str, ...]] = {}
for _res in RESOURCES:
    _versions = GROUP_VERSIONS.setdefault(_res.group, ())
    if _res.version not in _versions:
        GROUP_VERSIONS[_res.group] = (*_versions, _res.version)


@dataclass
class _Index:
    by_gvr: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    by_gvk: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)


@cache
def _index() -> _Index:
    index = _Index()
    for res in RESOURCES:
        index.by_gvr[(res.group, res.version, res.plural)] = res
        index.by_gvk.setdefault((res.group, res.version, res.kind), res)
    return index


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """The resource served at ``/apis/<group>/<version>/<plural>``, if any."""
    return _index().by_gvr.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The resource whose objects have this apiVersion and kind."""
    group, _, version = api_version.rpartition("/")
    return _index().by_gvk.get((group, version, kind))


def served_versions(group: str) -> tuple[str, ...]:
    return GROUP_VERSIONS.get(group, ())


def in_group_version(group: str, version: str) -> list[ResourceType]:
    return [r for r in RESOURCES if r.group == group and r.version == version]


def storage_version(res: ResourceType) -> ResourceType:
    """The version objects of ``res`` are kept in (the first one listed)."""
    for other in RESOURCES:
        if other.storage_key == res.storage_key:
            return other
    return res


def storage_resource(storage: str) -> ResourceType:
    """The resource (in its storage version) whose objects are kept under ``storage``."""
    plural, _, group = storage.partition(".")
    for version in ("v1", "v2"):
        res = lookup(group, version, plural)
        if res is not None:
            return storage_version(res)
    raise KeyError(f"no resource stores {storage}")
