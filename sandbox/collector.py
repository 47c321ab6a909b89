"""Deletion that goes on after the DELETE request: garbage collection through
ownerReferences (Background), deletion in the Foreground and with orphaning, namespaces
that empty before they go, and picking all of it up again after a restart."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from typing import TYPE_CHECKING, Any

from . import conversion, objects, timefmt
from .errors import Forbidden, NotFound, StatusError
from .options import DeleteOptions, WriteOptions
from .resources import ResourceType, storage_resource

if TYPE_CHECKING:
    from .registry import Registry

Obj = dict[str, Any]
NAMESPACES = "namespaces"


class Collector:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._tasks: set[asyncio.Task[None]] = set()

    def dependents(self, uid: str) -> builtins.list[tuple[str, Obj]]:
        return self.registry.store.dependents(uid) if uid else []

    def after_delete(self, res: ResourceType, gone: Obj, propagation: str) -> None:
        if res.plural == "pods" and not res.group:
            self.registry.logs.forget(gone["metadata"].get("namespace", ""), gone["metadata"]["name"])
        uid = gone["metadata"].get("uid", "")
        if propagation == "Orphan":
            self._orphan(uid)
        elif self.dependents(uid):
            self.schedule(self._collect(uid))

    def _orphan(self, uid: str) -> None:
        for storage, dep in self.dependents(uid):
            updated = objects.copy(dep)
            updated["metadata"]["ownerReferences"] = [
                r for r in updated["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
            ]
            if not updated["metadata"]["ownerReferences"]:
                del updated["metadata"]["ownerReferences"]
            self.registry.store.put(storage, updated, created=False)

    async def _collect(self, uid: str) -> None:
        """Garbage-collect the dependents of the deleted owner ``uid`` (background)."""
        await asyncio.sleep(0)
        for storage, dep in self.dependents(uid):
            owners = [u for u in objects.owner_uids(dep) if u != uid and self.registry.store.by_uid(u)]
            res = storage_resource(storage)
            meta = dep["metadata"]
            if owners:
                updated = objects.copy(dep)
                updated["metadata"]["ownerReferences"] = [
                    r for r in meta.get("ownerReferences") or [] if r.get("uid") != uid]
                self.registry.store.put(storage, updated, created=False)
                continue
            with contextlib.suppress(NotFound):
                self.registry.delete(res, meta.get("namespace", ""), meta["name"], DeleteOptions())

    async def finish_deletion(self, res: ResourceType, marked: Obj, propagation: str) -> None:
        """Deletion in the foreground or with orphaning: dependents first, then the owner's finalizer."""
        uid = marked["metadata"]["uid"]
        if propagation == "Orphan":
            self._orphan(uid)
            self._drop_finalizer(res, marked, "orphan")
            return
        if propagation != "Foreground":
            return
        pause = 0.02
        while True:
            deps = self.dependents(uid)
            if not deps:
                break
            for storage, dep in deps:
                meta = dep["metadata"]
                if meta.get("deletionTimestamp"):
                    continue
                with contextlib.suppress(NotFound):
                    self.registry.delete(storage_resource(storage), meta.get("namespace", ""), meta["name"],
                                DeleteOptions(propagation="Foreground"))
            await asyncio.sleep(pause)
            pause = min(1.0, pause * 2)
        self._drop_finalizer(res, marked, "foregroundDeletion")

    def _drop_finalizer(self, res: ResourceType, marked: Obj, finalizer: str) -> None:
        meta = marked["metadata"]
        current = self.registry.store.get(res.storage_key, meta.get("namespace", ""), meta["name"])
        if current is None or current["metadata"].get("uid") != meta.get("uid"):
            return
        updated = objects.copy(current)
        updated["metadata"]["finalizers"] = [
            f for f in updated["metadata"].get("finalizers") or [] if f != finalizer]
        self.registry._replace(res, current, conversion.to_served(res, updated), WriteOptions(), "")

    def terminate_namespace(self, current: Obj) -> Obj:
        name = current["metadata"]["name"]
        if name in ("default", "kube-system", "kube-public"):
            raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                            name=name, kind=NAMESPACES)
        if current["metadata"].get("deletionTimestamp"):
            return current
        marked = objects.copy(current)
        marked["metadata"]["deletionTimestamp"] = timefmt.rfc3339()
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        marked["status"] = {"phase": "Terminating"}
        self.registry.store.put(NAMESPACES, marked, created=False)
        self.schedule(self._empty_namespace(name))
        return marked

    async def _empty_namespace(self, name: str) -> None:
        """The namespace controller: delete what the namespace holds, then the namespace.

        Like the real one it waits as long as objects remain (finalizers may hold them)."""
        pause = 0.02
        while True:
            await asyncio.sleep(pause)
            pause = min(1.0, pause * 2)
            remaining = 0
            for storage, obj in self.registry.store.all_objects():
                meta = obj["metadata"]
                if meta.get("namespace") != name:
                    continue
                remaining += 1
                if meta.get("deletionTimestamp"):
                    continue
                with contextlib.suppress(StatusError):
                    self.registry.delete(storage_resource(storage), name, meta["name"], DeleteOptions())
            if not remaining:
                break
        self.registry.logs.forget(name)
        current = self.registry.store.get(NAMESPACES, "", name)
        if current is not None and current["metadata"].get("deletionTimestamp"):
            self.registry.store.remove(NAMESPACES, current)

    def schedule(self, coro: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(coro)
            return
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume(self) -> None:
        """Finish what a previous run left half done: terminating namespaces, deletions in
        the foreground or with orphaning, and dependents whose owners are all gone."""
        for storage, obj in list(self.registry.store.all_objects()):
            meta = obj["metadata"]
            res = storage_resource(storage)
            if meta.get("deletionTimestamp"):
                finalizers = meta.get("finalizers") or []
                if storage == NAMESPACES:
                    self.schedule(self._empty_namespace(meta["name"]))
                elif "foregroundDeletion" in finalizers:
                    self.schedule(self.finish_deletion(res, obj, "Foreground"))
                elif "orphan" in finalizers:
                    self.schedule(self.finish_deletion(res, obj, "Orphan"))
                continue
            owners = objects.owner_uids(obj)
            if owners and not any(self.registry.store.by_uid(uid) for uid in owners):
                with contextlib.suppress(StatusError):
                    self.registry.delete(res, meta.get("namespace", ""), meta["name"], DeleteOptions())

    async def stop(self) -> None:
        """Cancel background work (at shutdown; ``resume`` picks it up on the next start)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- helpers ------------------------------------------------------------------
