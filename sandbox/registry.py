"""The API server's object lifecycle: create, read, update, patch, delete.

Requests arrive here already routed (resource type, namespace, name) and
decoded; answers leave as plain dicts in the served version. The rules are
those of the generic registry of kube-apiserver: defaulting, validation,
resourceVersion preconditions, generation, status subresources, dryRun,
finalizers, and deletion that cascades through ownerReferences
(``sandbox.gc``).
"""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import allocation, conversion, defaults, objects, patch, timefmt
from .collector import Collector
from .errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
)
from .options import DeleteOptions as DeleteOptions
from .options import WriteOptions as WriteOptions
from .podlogs import PodLogs
from .resources import ResourceType, lookup, storage_version
from .selectors import FieldRequirement, Requirement, fields_match, labels_match
from .store import Store
from .validation import validate

Obj = dict[str, Any]

GENERATION = {
    "deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch",
    "cronjobs.batch", "horizontalpodautoscalers.autoscaling", "poddisruptionbudgets.policy",
    "ingresses.networking.k8s.io", "networkpolicies.networking.k8s.io",
}
KEEP_STATUS_ON_CREATE = {"nodes"}  # a kubelet registers its node with a status
# Resources whose DELETE answers the deleted object rather than a Status.
RETURNS_DELETED = {"pods", "services", "serviceaccounts", "persistentvolumeclaims", "persistentvolumes",
                   "resourcequotas", "storageclasses.storage.k8s.io"}
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
NAMESPACES = "namespaces"


# An admission plugin sees every create and update after defaulting, before storing
# (dry runs included), and raises a StatusError to refuse it: (registry, resource, new, old).
Admission = Callable[["Registry", ResourceType, Obj, "Obj | None"], None]
# A computed resource (metrics.k8s.io): its objects for a namespace (None: all).
Provider = Callable[[str | None], "list[Obj]"]


@dataclass
class Result:
    obj: Obj
    created: bool = False
    warnings: list[str] = field(default_factory=list)


def not_found(res: ResourceType, name: str) -> NotFound:
    return NotFound(f'{res.qualified} "{name}" not found', name=name, kind=res.plural,
                    group=res.group)


class Registry:
    """All verbs on all resources, over one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.logs = PodLogs(store.db)
        self.collector = Collector(self)
        self.admission: list[Admission] = []
        self.providers: dict[str, Provider] = {}

    # --- reads -----------------------------------------------------------------

    def get(self, res: ResourceType, namespace: str, name: str, *, served: bool = True) -> Obj:
        """One object, in the version ``res`` serves (or as stored)."""
        if res.storage_key in self.providers:
            found = [o for o in self.providers[res.storage_key](namespace or None)
                     if o["metadata"]["name"] == name]
            if not found:
                raise not_found(res, name)
            return found[0]
        obj = self.store.get(res.storage_key, namespace, name)
        if obj is None:
            raise not_found(res, name)
        return conversion.to_served(res, obj) if served else obj

    def list(
        self,
        res: ResourceType,
        namespace: str | None,
        labels: list[Requirement] | None = None,
        fields: list[FieldRequirement] | None = None,
        *,
        served: bool = True,
    ) -> list[Obj]:
        """Objects matching the selectors, in the version ``res`` serves (or as stored);
        selectors apply to the stored form."""
        if res.storage_key in self.providers:
            items = self.providers[res.storage_key](namespace)
        else:
            items = self.store.list(res.storage_key, namespace)
        if labels:
            items = [o for o in items if labels_match(labels, o)]
        if fields:
            items = [o for o in items if fields_match(fields, o)]
        if served and storage_version(res) is not res:
            items = [conversion.to_served(res, o) for o in items]
        return items

    # --- create ----------------------------------------------------------------

    def create(self, res: ResourceType, namespace: str, body: Obj, opts: WriteOptions) -> Result:
        obj = self._typed(res, body)
        meta = objects.meta(obj)
        if res.namespaced:
            given = meta.get("namespace")
            if given and given != namespace:
                raise BadRequest("the namespace of the provided object does not match the "
                                 "namespace sent on the request")
            meta["namespace"] = namespace
            self._check_namespace_open(namespace)
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{objects.random_suffix()}"
        warnings = validate(obj, field_validation=opts.field_validation)
        name = meta["name"]
        if self.store.get(res.storage_key, meta.get("namespace", ""), name) is not None:
            raise AlreadyExists(f'{res.qualified} "{name}" already exists', name=name,
                                kind=res.plural, group=res.group)
        for key in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                    "managedFields", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = timefmt.rfc3339()
        if res.storage_key in GENERATION:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if "status" in res.subresources and res.storage_key not in KEEP_STATUS_ON_CREATE:
            obj.pop("status", None)
        stored = self._default(res, conversion.to_storage(res, obj), None)
        self._admit(res, stored, None)
        if not opts.dry_run:
            with self.store.transaction():
                self.store.put(res.storage_key, stored, created=True)
                if res.storage_key == NAMESPACES:
                    self._populate_namespace(name)
        return Result(conversion.to_served(res, stored), True, warnings)

    # --- update and patch ---------------------------------------------------------

    def update(self, res: ResourceType, namespace: str, name: str, body: Obj, opts: WriteOptions,
               sub: str = "") -> Result:
        current = self.store.get(res.storage_key, namespace, name)
        if current is None:
            raise not_found(res, name)
        obj = self._typed(res, body)
        meta = objects.meta(obj)
        if meta.get("name", name) != name:
            raise BadRequest(f"the name of the object ({meta.get('name')}) does not match the "
                             f"name on the URL ({name})")
        rv = meta.get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise self._conflict(res, name)
        return self._replace(res, current, obj, opts, sub)

    def patch(self, res: ResourceType, namespace: str, name: str, patch_type: str, body: Any,
              opts: WriteOptions, sub: str = "") -> Result:
        current = self.store.get(res.storage_key, namespace, name)
        if patch_type == patch.APPLY_PATCH:
            if not isinstance(body, dict):
                raise BadRequest("an applied configuration must be an object")
            if not opts.field_manager:
                raise BadRequest("PATCH, application/apply-patch+yaml requires fieldManager "
                                 "to be set")
            if current is None:
                if sub:
                    raise not_found(res, name)
                objects.meta(body).setdefault("name", name)
                return self.create(res, namespace, body, opts)
            served = conversion.to_served(res, current)
            merged = patch.server_side_apply(served, self._typed(res, body))
            return self._replace(res, current, merged, opts, sub)
        if current is None:
            raise not_found(res, name)
        served = conversion.to_served(res, current)
        patched = patch.apply_patch(res.kind, served, patch_type, body)
        if not isinstance(patched.get("metadata"), dict):
            raise BadRequest("metadata must be an object")
        rv = patched["metadata"].get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise self._conflict(res, name)
        return self._replace(res, current, patched, opts, sub)

    def _replace(self, res: ResourceType, current: Obj, obj: Obj, opts: WriteOptions,
                 sub: str) -> Result:
        obj = self._typed(res, obj)
        served_current = conversion.to_served(res, current)
        if sub == "status":
            # Only the status changes through the status subresource.
            status = obj.get("status")
            obj = objects.copy(served_current)
            if status is not None:
                obj["status"] = status
            else:
                obj.pop("status", None)
        elif sub == "finalize":
            finalizers = (obj.get("spec") or {}).get("finalizers") or []
            obj = objects.copy(served_current)
            obj.setdefault("spec", {})["finalizers"] = finalizers
        elif sub:
            raise MethodNotAllowed(f"the server does not allow this method on the requested "
                                   f"resource ({res.plural}/{sub})")
        meta = objects.meta(obj)
        old_meta = current["metadata"]
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                    "generation", "namespace", "name"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta.pop("managedFields", None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if not sub and "status" in res.subresources:
            if "status" in served_current:
                obj["status"] = served_current["status"]
            else:
                obj.pop("status", None)
        warnings = validate(obj, field_validation=opts.field_validation, old=served_current)
        stored = self._default(res, conversion.to_storage(res, obj), current)
        self._admit(res, stored, current)
        if res.storage_key in GENERATION and _spec_changed(stored, current):
            objects.meta(stored)["generation"] = int(old_meta.get("generation", 1)) + 1
        if stored == current:
            return Result(conversion.to_served(res, current), False, warnings)
        if opts.dry_run:
            return Result(conversion.to_served(res, stored), False, warnings)
        if old_meta.get("deletionTimestamp") and not objects.meta(stored).get("finalizers") and \
                not (res.plural == NAMESPACES and (stored.get("spec") or {}).get("finalizers")):
            gone = self.store.remove(res.storage_key, stored)
            self.collector.after_delete(res, gone, "Background")
            return Result(conversion.to_served(res, gone), False, warnings)
        self.store.put(res.storage_key, stored, created=False)
        return Result(conversion.to_served(res, stored), False, warnings)

    def _populate_namespace(self, namespace: str) -> None:
        """What the ServiceAccount controller puts in a new namespace."""
        sa = lookup("", "v1", "serviceaccounts")
        assert sa is not None
        if self.store.get(sa.storage_key, namespace, "default") is None:
            self.create(sa, namespace, {"metadata": {"name": "default"}}, WriteOptions())

    # --- scale --------------------------------------------------------------------

    def get_scale(self, res: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.store.get(res.storage_key, namespace, name)
        if obj is None:
            raise not_found(res, name)
        return scale_of(obj)

    def update_scale(self, res: ResourceType, namespace: str, name: str, scale: Obj,
                     opts: WriteOptions) -> Result:
        current = self.store.get(res.storage_key, namespace, name)
        if current is None:
            raise not_found(res, name)
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise self._conflict(res, name)
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise BadRequest("Scale.spec.replicas must be an integer")
        obj = objects.copy(conversion.to_served(res, current))
        obj["spec"]["replicas"] = replicas
        result = self._replace(res, current, obj, opts, "")
        return Result(scale_of(result.obj), False, result.warnings)

    def patch_scale(self, res: ResourceType, namespace: str, name: str, patch_type: str,
                    body: Any, opts: WriteOptions) -> Result:
        scale = self.get_scale(res, namespace, name)
        if patch_type == patch.APPLY_PATCH:
            patched = patch.merge_patch(scale, body)
        else:
            patched = patch.apply_patch("Scale", scale, patch_type, body)
        return self.update_scale(res, namespace, name, patched, opts)

    # --- delete -------------------------------------------------------------------

    def delete(self, res: ResourceType, namespace: str, name: str, opts: DeleteOptions) -> Obj:
        current = self.store.get(res.storage_key, namespace, name)
        if current is None:
            raise not_found(res, name)
        meta = current["metadata"]
        if opts.uid and opts.uid != meta.get("uid"):
            raise Conflict(f"Precondition failed: UID in precondition: {opts.uid}, UID in object "
                           f"meta: {meta.get('uid')}", name=name, kind=res.plural, group=res.group)
        if opts.resource_version and opts.resource_version != meta.get("resourceVersion"):
            raise Conflict(f"Precondition failed: ResourceVersion in precondition: "
                           f"{opts.resource_version}, ResourceVersion in object meta: "
                           f"{meta.get('resourceVersion')}", name=name, kind=res.plural,
                           group=res.group)
        if res.storage_key == NAMESPACES and name in IMMORTAL_NAMESPACES:  # NamespaceLifecycle admission
            raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                            name=name, kind=NAMESPACES)
        if opts.dry_run:
            return conversion.to_served(res, current)
        if res.plural == NAMESPACES and not res.group:
            return self.collector.terminate_namespace(current)
        if res.storage_key == "pods" and self._graceful(current, opts):
            return self._mark_pod(current, opts)
        finalizers = list(meta.get("finalizers") or [])
        if opts.propagation == "Foreground" and self.store.dependents(meta.get("uid", "")):
            finalizers = [*finalizers, "foregroundDeletion"] if "foregroundDeletion" not in finalizers \
                else finalizers
        if opts.propagation == "Orphan" and self.store.dependents(meta.get("uid", "")):
            finalizers = [*finalizers, "orphan"] if "orphan" not in finalizers else finalizers
        if finalizers:
            if meta.get("deletionTimestamp") and finalizers == meta.get("finalizers"):
                return conversion.to_served(res, current)
            marked = objects.copy(current)
            marked["metadata"]["finalizers"] = finalizers
            marked["metadata"].setdefault("deletionTimestamp", timefmt.rfc3339())
            marked["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            self.store.put(res.storage_key, marked, created=False)
            self.collector.schedule(self.collector.finish_deletion(res, marked, opts.propagation))
            return conversion.to_served(res, marked)
        gone = self.store.remove(res.storage_key, current)
        self.collector.after_delete(res, gone, opts.propagation)
        if res.storage_key in RETURNS_DELETED:
            return conversion.to_served(res, gone)
        return success_status(res, gone)

    def _graceful(self, pod: Obj, opts: DeleteOptions) -> bool:
        """A pod on a node is deleted gracefully: its kubelet stops the containers first."""
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        return bool(node) and opts.grace_period != 0 and self.store.get("nodes", "", node) is not None

    def _mark_pod(self, pod: Obj, opts: DeleteOptions) -> Obj:
        if pod["metadata"].get("deletionTimestamp"):
            return pod
        grace = opts.grace_period
        if grace is None:
            grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        marked = objects.copy(pod)
        deadline = timefmt.now() + dt.timedelta(seconds=grace)
        marked["metadata"]["deletionTimestamp"] = timefmt.rfc3339(deadline)
        marked["metadata"]["deletionGracePeriodSeconds"] = grace
        return self.store.put("pods", marked, created=False)

    def bind(self, namespace: str, name: str, node: str) -> Obj:
        """Assign a pending pod to ``node``, as a Binding does."""
        current = self.store.get("pods", namespace, name)
        if current is None:
            raise NotFound(f'pods "{name}" not found', name=name, kind="pods")
        assigned = (current.get("spec") or {}).get("nodeName")
        if assigned:
            raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already '
                           f'assigned to node "{assigned}"', name=name, kind="pods")
        pod = objects.copy(current)
        pod["spec"]["nodeName"] = node
        status = pod.setdefault("status", {})
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": timefmt.rfc3339()}]
        return self.store.put("pods", pod, created=False)

    def delete_collection(self, res: ResourceType, namespace: str | None,
                          labels: builtins.list[Requirement] | None,
                          fields: builtins.list[FieldRequirement] | None, opts: DeleteOptions) -> Obj:
        items = self.list(res, namespace, labels, fields)
        deleted = []
        for obj in items:
            meta = obj["metadata"]
            try:
                self.delete(res, meta.get("namespace", ""), meta["name"], opts)
            except NotFound:
                continue
            deleted.append(obj)
        kind = res.kind + "List"
        return {"kind": kind, "apiVersion": res.api_version,
                "metadata": {"resourceVersion": str(self.store.rv)}, "items": deleted}

    def _typed(self, res: ResourceType, body: Obj) -> Obj:
        obj = objects.copy(body)
        api_version = obj.setdefault("apiVersion", res.api_version)
        kind = obj.setdefault("kind", res.kind)
        if api_version != res.api_version:
            raise BadRequest(f"the API version in the data ({api_version}) does not match the "
                             f"expected API version ({res.api_version})")
        if kind != res.kind:
            raise BadRequest(f"the kind in the data ({kind}) does not match the expected kind "
                             f"({res.kind})")
        if not isinstance(obj.get("metadata", {}), dict):
            raise BadRequest("metadata must be an object")
        objects.meta(obj)
        return obj

    def _admit(self, res: ResourceType, obj: Obj, old: Obj | None) -> None:
        for plugin in self.admission:
            plugin(self, res, obj, old)

    def _default(self, res: ResourceType, obj: Obj, old: Obj | None) -> Obj:
        key = res.storage_key
        if key == "services":
            defaults.service(obj, old)
            allocation.assign(self.store, obj, old)
        elif key in defaults.DEFAULTERS:
            defaults.DEFAULTERS[key](obj, old)
        return obj

    def _check_namespace_open(self, namespace: str) -> None:
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise NotFound(f'namespaces "{namespace}" not found', name=namespace, kind=NAMESPACES)
        if ns["metadata"].get("deletionTimestamp"):
            raise Forbidden(f"unable to create new content in namespace {namespace} because it "
                            f"is being terminated", name=namespace, kind=NAMESPACES)

    def _conflict(self, res: ResourceType, name: str) -> Conflict:
        return Conflict(f'Operation cannot be fulfilled on {res.qualified} "{name}": the object '
                        f"has been modified; please apply your changes to the latest version and "
                        f"try again", name=name, kind=res.plural, group=res.group)


def _spec_changed(new: Obj, old: Obj) -> bool:
    skip = ("metadata", "status")
    return {k: v for k, v in new.items() if k not in skip} != \
        {k: v for k, v in old.items() if k not in skip}


def scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = (obj.get("spec") or {}).get("selector") or {}
    labels = ",".join(f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": labels},
    }


def success_status(res: ResourceType, gone: Obj) -> Obj:
    meta = gone["metadata"]
    details: Obj = {"name": meta["name"], "kind": res.plural, "uid": meta.get("uid")}
    if res.group:
        details["group"] = res.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}
