"""The files a simulated container sees: a root filesystem of its own, with volumes
mounted on it.

A :class:`FileSystem` is a list of mounts, each a :class:`Volume` at an absolute path;
the deepest mount holding a path owns it. Volumes are kept in memory
(:class:`Volume`), read-only (:class:`ReadOnlyVolume`, ConfigMap and Secret mounts,
or any volume mounted ``readOnly``) or in the sandbox's SQLite file
(:class:`StoredVolume`, the data of a PersistentVolumeClaim, keyed by the claim's uid
so it outlives the pods that mount it). Failures are :class:`FsError` carrying the
message a Linux system call gives (``No such file or directory``,
``Read-only file system``...).
"""

from __future__ import annotations

import posixpath
import sqlite3


class FsError(Exception):
    """A failed file operation; the message is strerror's."""


NOENT = "No such file or directory"
ROFS = "Read-only file system"
ISDIR = "Is a directory"
NOTDIR = "Not a directory"
EXIST = "File exists"
NOTEMPTY = "Directory not empty"


def normalize(path: str, cwd: str = "/") -> str:
    return posixpath.normpath(posixpath.join(cwd, path)).replace("//", "/")


class Volume:
    """Files and folders by path relative to the volume's root ("" is the root)."""

    read_only = False

    def __init__(self, files: dict[str, str] | None = None) -> None:
        self.files: dict[str, str] = {}
        self.dirs: set[str] = {""}
        for path, text in (files or {}).items():
            self._put(path.strip("/"), text)

    def _put(self, rel: str, text: str) -> None:
        parent = posixpath.dirname(rel)
        while parent and parent not in self.dirs:
            self.dirs.add(parent)
            parent = posixpath.dirname(parent)
        self.files[rel] = text

    def kind(self, rel: str) -> str | None:
        return "f" if rel in self.files else "d" if rel in self.dirs else None

    def children(self, rel: str) -> list[str]:
        prefix = rel + "/" if rel else ""
        names = {p[len(prefix):].split("/", 1)[0] for p in [*self.files, *self.dirs] if p.startswith(prefix) and p}
        names.discard("")
        return sorted(names)

    def write(self, rel: str, text: str) -> None:
        self.files[rel] = text
        self.saved(rel, "f", text)

    def mkdir(self, rel: str) -> None:
        self.dirs.add(rel)
        self.saved(rel, "d", "")

    def remove(self, rel: str) -> None:
        self.files.pop(rel, None)
        self.dirs.discard(rel)
        self.removed(rel)

    def saved(self, rel: str, kind: str, text: str) -> None:
        """Hook: a file or folder was written."""

    def removed(self, rel: str) -> None:
        """Hook: a file or folder was removed."""


class ReadOnlyVolume(Volume):
    read_only = True


class StoredVolume(Volume):
    """A volume whose files live in the ``volume_files`` table of the sandbox's SQLite file."""

    def __init__(self, db: sqlite3.Connection, key: str) -> None:
        super().__init__()
        self.db, self.key = db, key
        ensure_table(db)
        for rel, kind, data in db.execute("SELECT path, kind, data FROM volume_files WHERE volume = ?", (key,)):
            if kind == "d":
                self.dirs.add(rel)
            else:
                self.files[rel] = data

    def saved(self, rel: str, kind: str, text: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO volume_files (volume, path, kind, data) VALUES (?, ?, ?, ?)",
                        (self.key, rel, kind, text))

    def removed(self, rel: str) -> None:
        self.db.execute("DELETE FROM volume_files WHERE volume = ? AND path = ?", (self.key, rel))


def ensure_table(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS volume_files (volume TEXT NOT NULL, path TEXT NOT NULL,"
               " kind TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (volume, path))")


def forget_volumes(db: sqlite3.Connection, keep: set[str]) -> None:
    """Drop the stored data of claims that no longer exist."""
    ensure_table(db)
    for (key,) in db.execute("SELECT DISTINCT volume FROM volume_files").fetchall():
        if key not in keep:
            db.execute("DELETE FROM volume_files WHERE volume = ?", (key,))


class FileSystem:
    """Mounts by absolute path; ``/`` must be one of them."""

    def __init__(self, root: Volume) -> None:
        self.mounts: dict[str, Volume] = {"/": root}

    def mount(self, path: str, volume: Volume) -> None:
        path = normalize(path)
        self.mounts[path] = volume
        parent = posixpath.dirname(path)
        if path != "/" and self.kind(parent) is None:
            self.mkdir(parent, parents=True, force=True)

    def _locate(self, path: str) -> tuple[str, Volume, str]:
        path = normalize(path)
        best = max((m for m in self.mounts if path == m or path.startswith(m.rstrip("/") + "/")), key=len)
        rel = path[len(best):].strip("/") if best != "/" else path.strip("/")
        return path, self.mounts[best], rel

    def kind(self, path: str) -> str | None:
        path, volume, rel = self._locate(path)
        return "d" if path in self.mounts else volume.kind(rel)

    def exists(self, path: str) -> bool:
        return self.kind(path) is not None

    def is_dir(self, path: str) -> bool:
        return self.kind(path) == "d"

    def is_file(self, path: str) -> bool:
        return self.kind(path) == "f"

    def read_only(self, path: str) -> bool:
        return self._locate(path)[1].read_only

    def read(self, path: str) -> str:
        path, volume, rel = self._locate(path)
        kind = self.kind(path)
        if kind == "d":
            raise FsError(ISDIR)
        if kind is None:
            raise FsError(NOENT)
        return volume.files[rel]

    def listdir(self, path: str) -> list[str]:
        path, volume, rel = self._locate(path)
        kind = self.kind(path)
        if kind is None:
            raise FsError(NOENT)
        if kind == "f":
            raise FsError(NOTDIR)
        names = set(volume.children(rel))
        prefix = path.rstrip("/") + "/"
        names.update(m[len(prefix):].split("/", 1)[0] for m in self.mounts if m.startswith(prefix) and m != path)
        return sorted(names)

    def _parent_ok(self, path: str) -> None:
        parent = self.kind(posixpath.dirname(normalize(path)))
        if parent is None:
            raise FsError(NOENT)
        if parent == "f":
            raise FsError(NOTDIR)

    def write(self, path: str, text: str, append: bool = False) -> None:
        path, volume, rel = self._locate(path)
        if self.kind(path) == "d":
            raise FsError(ISDIR)
        self._parent_ok(path)
        if volume.read_only:
            raise FsError(ROFS)
        old = volume.files.get(rel, "") if append else ""
        volume.write(rel, old + text)

    def touch(self, path: str) -> None:
        if not self.exists(path):
            self.write(path, "")
        elif self.read_only(path):
            raise FsError(ROFS)

    def mkdir(self, path: str, parents: bool = False, force: bool = False) -> None:
        path, volume, rel = self._locate(path)
        if self.exists(path):
            if parents:
                if not self.is_dir(path):
                    raise FsError(EXIST)
                return
            raise FsError(EXIST)
        if parents and path != "/":
            self.mkdir(posixpath.dirname(path), parents=True, force=force)
        self._parent_ok(path)
        if volume.read_only and not force:
            raise FsError(ROFS)
        volume.mkdir(rel)

    def remove(self, path: str, recursive: bool = False) -> None:
        path, volume, rel = self._locate(path)
        kind = self.kind(path)
        if kind is None:
            raise FsError(NOENT)
        if path in self.mounts:
            raise FsError("Device or resource busy")
        if volume.read_only:
            raise FsError(ROFS)
        if kind == "d":
            children = self.listdir(path)
            if children and not recursive:
                raise FsError(ISDIR)
            for child in children:
                self.remove(posixpath.join(path, child), recursive=True)
        volume.remove(rel)

    def rmdir(self, path: str) -> None:
        if self.kind(path) == "f":
            raise FsError(NOTDIR)
        if self.listdir(path):
            raise FsError(NOTEMPTY)
        self.remove(path)
