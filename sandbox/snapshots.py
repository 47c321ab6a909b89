"""Named snapshots of the sandbox's whole state, and restoring one.

A snapshot is a copy of the store's SQLite file, ``<state>/snapshots/<name>.db``, made with
SQLite's backup API: every object and every table kept beside them (pod logs, faults, the
files of volumes). Being files, snapshots outlive the server.

Restoring one makes the server's state exactly the snapshot's, as a restart from that file
would: what acts on the state by itself (controllers, scheduler, kubelets, the garbage
collector) stops, the file's contents are swapped, the store and the fault book load it back
by the path a start takes, and everything starts again over it. The kubelets take back the
pods the snapshot shows running (same names, statuses and logs; see ``kubelet.runner``).

What clients see: resourceVersions keep rising (the counter stays at the greater of the two,
only the objects go back), and every watch and log stream open at that moment ends, so no
client sees a mix of two states; a watch resumed from before answers 410 Expired, as after
a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import timefmt
from .errors import BadRequest, NotFound

if TYPE_CHECKING:
    from .server import SandboxServer

Obj = dict[str, Any]

NAME = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Snapshot:
    name: str
    objects: int
    resource_version: int
    created: str = ""
    size: int = 0

    def as_dict(self) -> Obj:
        return {"name": self.name, "objects": self.objects, "resourceVersion": str(self.resource_version),
                "created": self.created, "size": self.size}


class Snapshots:
    """The snapshots of one server, kept in ``folder``."""

    def __init__(self, folder: Path, server: SandboxServer) -> None:
        self.folder = folder
        self.server = server
        self._lock = asyncio.Lock()  # one save or restore at a time

    def _path(self, name: str) -> Path:
        if not NAME.match(name):
            raise BadRequest(f'invalid snapshot name "{name}": lower-case letters, digits, "-", "_" and ".", '
                             f"starting and ending with a letter or digit, at most 63 characters")
        return self.folder / f"{name}.db"

    def _existing(self, name: str) -> Path:
        path = self._path(name)
        if not path.is_file():
            raise NotFound(f'snapshot "{name}" not found', name=name, kind="snapshots")
        return path

    def list(self) -> list[Snapshot]:
        if not self.folder.is_dir():
            return []
        return [self._describe(path) for path in sorted(self.folder.glob("*.db")) if NAME.match(path.stem)]

    def get(self, name: str) -> Snapshot:
        return self._describe(self._existing(name))

    def delete(self, name: str) -> Snapshot:
        path = self._existing(name)
        gone = self._describe(path)
        path.unlink(missing_ok=True)
        return gone

    async def save(self, name: str) -> Snapshot:
        """Save the current state as ``name`` (replacing a snapshot of that name)."""
        path = self._path(name)
        async with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.server.store.copy_to(path)
        return self._describe(path)

    async def restore(self, name: str) -> Snapshot:
        """Make the server's state the snapshot's; answers the snapshot with the objects the
        server now holds and its resourceVersion counter (never below what it was)."""
        path = self._existing(name)
        saved = self._describe(path)
        async with self._lock:
            await self.server.stop()
            try:
                self.server.store.replace_from(path)
                self.server.faults.load()
            finally:
                await self.server.start()
        store = self.server.store
        return Snapshot(name, store.count(), store.rv, saved.created, saved.size)

    def _describe(self, path: Path) -> Snapshot:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            objects = int(db.execute("SELECT count(*) FROM objects").fetchone()[0])
            row = db.execute("SELECT v FROM meta WHERE k = 'rv'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BadRequest(f'snapshot "{path.stem}" is not a sandbox state: {exc}') from exc
        finally:
            db.close()
        stat = path.stat()
        created = timefmt.rfc3339(dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))
        return Snapshot(path.stem, objects, int(row[0]) if row else 0, created, stat.st_size)
