"""Durable object storage: SQLite in WAL mode with an in-memory copy.

Every object lives in memory (reads and lists never touch the disk) and in one
SQLite file (``objects`` table) that a restart loads back. Each write is one
SQLite transaction carrying the object and the global resourceVersion counter,
so a crash leaves either the whole write or none of it, and resourceVersions
keep rising across restarts.

Writes are made on the event-loop thread, one at a time, which makes a
read-check-write (a resourceVersion precondition) atomic without locks.
Watchers get each change through an :class:`asyncio.Queue`; a bounded log of
recent changes lets a watch resume from an older resourceVersion.

The whole file can be copied out (:meth:`Store.copy_to`) and a copy put back in its place
(:meth:`Store.replace_from`), which loads it as a start does: the snapshots of
``sandbox.snapshots``.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import sqlite3
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)

LOG_SIZE = 20_000


@dataclass(frozen=True)
class Change:
    """One committed change, as a watch reports it."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    storage: str
    namespace: str
    obj: Obj
    prev: Obj | None = None


class Watcher:
    """A subscription to changes of one storage key."""

    def __init__(self, storage: str) -> None:
        self.storage = storage
        # None: the subscription is over (the store's contents were replaced by a restore)
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue()


class Store:
    """All objects of the sandbox, durable in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (storage TEXT NOT NULL, namespace TEXT NOT NULL,"
            " name TEXT NOT NULL, rv INTEGER NOT NULL, body BLOB NOT NULL,"
            " PRIMARY KEY (storage, namespace, name))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        self._objects: dict[str, dict[Key, Obj]] = {}
        self._by_uid: dict[str, tuple[str, Key]] = {}
        self._owned: dict[str, set[tuple[str, Key]]] = {}  # owner uid -> its dependents
        self.rv: int = self._load()
        self.log: deque[Change] = deque(maxlen=LOG_SIZE)
        self.log_floor = self.rv  # changes at or before this rv are not in the log
        self._watchers: dict[str, set[Watcher]] = {}
        self._depth = 0
        self._pending: list[Change] = []
        self.epoch = 0  # the contents' generation: a restore (``replace_from``) starts a new one

    def _load(self) -> int:
        """Read every object back from the SQLite file into memory (at a start, and after a
        restore); returns the stored resourceVersion counter."""
        self._objects = {}
        self._by_uid = {}
        self._owned = {}
        for storage, namespace, name, body in self._db.execute(
            "SELECT storage, namespace, name, body FROM objects"
        ):
            obj = orjson.loads(body)
            self._objects.setdefault(storage, {})[(namespace, name)] = obj
            self._index_uid(storage, (namespace, name), obj)
        row = self._db.execute("SELECT v FROM meta WHERE k = 'rv'").fetchone()
        return int(row[0]) if row else 0

    @property
    def db(self) -> sqlite3.Connection:
        """The SQLite connection, for tables kept beside the objects (logs, faults)."""
        return self._db

    # --- reads -----------------------------------------------------------------

    def get(self, storage: str, namespace: str, name: str) -> Obj | None:
        return self._objects.get(storage, {}).get((namespace, name))

    def list(self, storage: str, namespace: str | None = None) -> list[Obj]:
        """Objects of ``storage`` (in one namespace when given), sorted as the API sorts."""
        items = self._objects.get(storage, {})
        if namespace is None:
            keys = sorted(items)
        else:
            keys = sorted(k for k in items if k[0] == namespace)
        return [items[k] for k in keys]

    def count(self) -> int:
        return sum(len(v) for v in self._objects.values())

    def by_uid(self, uid: str) -> tuple[str, Obj] | None:
        found = self._by_uid.get(uid)
        if found is None:
            return None
        storage, key = found
        obj = self._objects.get(storage, {}).get(key)
        if obj is None or obj["metadata"].get("uid") != uid:  # gone, or replaced by a namesake
            return None
        return storage, obj

    def all_objects(self) -> Iterator[tuple[str, Obj]]:
        for storage, items in self._objects.items():
            for obj in list(items.values()):
                yield storage, obj

    # --- writes ----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one SQLite transaction; watchers hear of them on commit."""
        if self._depth == 0:
            self._db.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._rollback()
            raise
        self._depth -= 1
        if self._depth == 0:
            self._db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('rv', ?)", (self.rv,))
            self._db.execute("COMMIT")
            pending, self._pending = self._pending, []
            for change in pending:
                self._publish(change)

    def _rollback(self) -> None:
        self._db.execute("ROLLBACK")
        # Undo the in-memory side from the durable copy of the touched objects.
        for change in self._pending:
            key = (change.namespace, change.obj["metadata"]["name"])
            row = self._db.execute(
                "SELECT body FROM objects WHERE storage = ? AND namespace = ? AND name = ?",
                (change.storage, *key),
            ).fetchone()
            items = self._objects.setdefault(change.storage, {})
            if row is None:
                items.pop(key, None)
            else:
                items[key] = orjson.loads(row[0])
        self._reindex()
        row = self._db.execute("SELECT v FROM meta WHERE k = 'rv'").fetchone()
        self.rv = int(row[0]) if row else 0
        self._pending = []

    def put(self, storage: str, obj: Obj, *, created: bool) -> Obj:
        """Store ``obj`` (created or modified) under a new resourceVersion."""
        with self.transaction():
            self.rv += 1
            meta = obj["metadata"]
            meta["resourceVersion"] = str(self.rv)
            namespace = meta.get("namespace", "")
            key = (namespace, meta["name"])
            prev = self._objects.get(storage, {}).get(key)
            if prev is not None:
                self._unindex_owners(storage, key, prev)
            self._db.execute(
                "INSERT OR REPLACE INTO objects (storage, namespace, name, rv, body)"
                " VALUES (?, ?, ?, ?, ?)",
                (storage, namespace, meta["name"], self.rv, orjson.dumps(obj)),
            )
            self._objects.setdefault(storage, {})[key] = obj
            self._index_uid(storage, key, obj)
            self._pending.append(
                Change(self.rv, "ADDED" if created else "MODIFIED", storage, namespace, obj, prev)
            )
        return obj

    def remove(self, storage: str, obj: Obj) -> Obj:
        """Delete ``obj``; the DELETED event carries a new resourceVersion."""
        with self.transaction():
            self.rv += 1
            meta = obj["metadata"]
            namespace = meta.get("namespace", "")
            self._db.execute(
                "DELETE FROM objects WHERE storage = ? AND namespace = ? AND name = ?",
                (storage, namespace, meta["name"]),
            )
            self._objects.get(storage, {}).pop((namespace, meta["name"]), None)
            self._by_uid.pop(meta.get("uid", ""), None)
            self._unindex_owners(storage, (namespace, meta["name"]), obj)
            gone = {**obj, "metadata": {**meta, "resourceVersion": str(self.rv)}}
            self._pending.append(Change(self.rv, "DELETED", storage, namespace, gone, obj))
        return gone

    def _index_uid(self, storage: str, key: Key, obj: Obj) -> None:
        meta = obj.get("metadata", {})
        uid = meta.get("uid")
        if uid:
            self._by_uid[uid] = (storage, key)
        for ref in meta.get("ownerReferences") or []:
            self._owned.setdefault(str(ref.get("uid")), set()).add((storage, key))

    def _unindex_owners(self, storage: str, key: Key, obj: Obj) -> None:
        for ref in obj.get("metadata", {}).get("ownerReferences") or []:
            dependents = self._owned.get(str(ref.get("uid")))
            if dependents is not None:
                dependents.discard((storage, key))
                if not dependents:
                    del self._owned[str(ref.get("uid"))]

    def _reindex(self) -> None:
        self._by_uid.clear()
        self._owned.clear()
        for storage, items in self._objects.items():
            for key, obj in items.items():
                self._index_uid(storage, key, obj)

    def dependents(self, uid: str, storage: str | None = None) -> builtins.list[tuple[str, Obj]]:
        """The objects whose ownerReferences name ``uid`` (of one storage when given)."""
        found = []
        for where, key in self._owned.get(uid, ()):
            if storage is not None and where != storage:
                continue
            obj = self._objects.get(where, {}).get(key)
            if obj is not None:
                found.append((where, obj))
        found.sort(key=lambda pair: (pair[0], pair[1]["metadata"].get("namespace", ""), pair[1]["metadata"]["name"]))
        return found

    # --- watches ---------------------------------------------------------------

    def _publish(self, change: Change) -> None:
        if len(self.log) == self.log.maxlen:
            self.log_floor = self.log[0].rv
        self.log.append(change)
        for watcher in self._watchers.get(change.storage, ()):
            watcher.queue.put_nowait(change)

    def subscribe(self, storage: str) -> Watcher:
        watcher = Watcher(storage)
        self._watchers.setdefault(storage, set()).add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.get(watcher.storage, set()).discard(watcher)

    def changes_since(self, storage: str, rv: int) -> builtins.list[Change] | None:
        """Logged changes of ``storage`` after ``rv``; None when ``rv`` is too old."""
        if rv < self.log_floor:
            return None
        return [c for c in self.log if c.rv > rv and c.storage == storage]

    # --- copies of the whole file (snapshots) ----------------------------------------

    def copy_to(self, target: Path) -> None:
        """Write the whole SQLite file (objects and every table kept beside them) to ``target``,
        a file of its own (no WAL beside it), replaced at once."""
        assert self._depth == 0, "a copy is taken between writes"
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(str(partial))
        try:
            self._db.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
        os.replace(partial, target)

    def replace_from(self, source: Path) -> None:
        """Make the SQLite file a copy of ``source`` (made by :meth:`copy_to`) and load it back
        as a start does. The resourceVersion counter never goes back: it moves one past the
        greater of the two, so the restored state has a version no client saw before. Watchers
        are ended (their queues get ``None``) and the change log starts over there: a watch
        from any earlier version answers 410 Expired and its client lists again."""
        assert self._depth == 0, "a restore happens between writes"
        before = self.rv
        original = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            original.backup(self._db)
        finally:
            original.close()
        self.rv = max(before, self._load()) + 1
        self._db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('rv', ?)", (self.rv,))
        self.log.clear()
        self.log_floor = self.rv
        self.epoch += 1
        watchers, self._watchers = self._watchers, {}
        for subscribed in watchers.values():
            for watcher in subscribed:
                watcher.queue.put_nowait(None)

    def close(self) -> None:
        self._db.close()
