"""A controller: watches storages, queues keys, reconciles them one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
    # Wall seconds between two reconciles of one key: a burst of changes (a thousand pods
    # starting) becomes a few reconciles, as a rate-limited work queue makes it.
    min_interval: float = 0.0

    def __init__(self, registry: Registry, clock: Clock) -> None:
        self.registry = registry
        self.store = registry.store
        self.clock = clock
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._reconciled_at: dict[Key, float] = {}

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
                if self.min_interval:
                    now = time.monotonic()
                    wait = self._reconciled_at.get(key, 0.0) + self.min_interval - now
                    if wait > 0:
                        self._queued.add(key)
                        asyncio.get_running_loop().call_later(wait, self._queue.put_nowait, key)
                        continue
                    self._reconciled_at[key] = now
                    if len(self._reconciled_at) > 10_000:
                        recent = self._reconciled_at.items()
                        self._reconciled_at = {k: t for k, t in recent if now - t < self.min_interval}
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
                if change is None:  # the store was restored (the manager restarts the controllers)
                    return
                for key in self.keys_for(change):
                    self.enqueue(key)
        finally:
            self.store.unsubscribe(watcher)

    async def _resync(self) -> None:
        while True:
            await self.clock.sleep(self.resync)
            self.enqueue_all()
