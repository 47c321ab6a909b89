"""A controller: watches storages, queues keys, reconciles them one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from ..clock import Clock
from ..errors import StatusError
from ..registry import Registry
from ..store import Change

log = logging.getLogger("sandbox.controllers")

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)


class Controller:
    """Subclasses name what they watch, map a change to the keys to reconcile, and
    reconcile one key. ``resync`` seconds (simulated) re-queue every key, for work that
    depends on time passing (deadlines)."""

    watches: tuple[str, ...] = ()
    primary: str = ""
    resync: float = 0.0

    def __init__(self, registry: Registry, clock: Clock) -> None:
        self.registry = registry
        self.store = registry.store
        self.clock = clock
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()

    def keys_for(self, change: Change) -> Iterable[Key]:
        """The primary objects a change concerns; by default the changed object itself."""
        meta = change.obj["metadata"]
        return [(meta.get("namespace", ""), meta["name"])]

    def reconcile(self, namespace: str, name: str) -> None:
        raise NotImplementedError

    def enqueue(self, key: Key) -> None:
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def enqueue_all(self) -> None:
        for obj in self.store.list(self.primary):
            meta = obj["metadata"]
            self.enqueue((meta.get("namespace", ""), meta["name"]))

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._watch(storage)) for storage in self.watches]
        if self.resync:
            tasks.append(asyncio.create_task(self._resync()))
        self.enqueue_all()
        try:
            while True:
                key = await self._queue.get()
                self._queued.discard(key)
                try:
                    self.reconcile(*key)
                except StatusError as exc:
                    log.debug("%s: %s/%s: %s", type(self).__name__, key[0], key[1], exc.message)
                except Exception:
                    log.exception("%s failed on %s/%s", type(self).__name__, *key)
                await asyncio.sleep(0)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, storage: str) -> None:
        watcher = self.store.subscribe(storage)
        try:
            while True:
                change = await watcher.queue.get()
                for key in self.keys_for(change):
                    self.enqueue(key)
        finally:
            self.store.unsubscribe(watcher)

    async def _resync(self) -> None:
        while True:
            await self.clock.sleep(self.resync)
            self.enqueue_all()
