"""Container logs of pods, kept beside the objects in the sandbox's SQLite file.

The pod simulator appends lines; ``GET …/pods/<name>/log`` reads them with the
same options kubectl passes (container, tailLines, sinceSeconds, timestamps,
previous, limitBytes). A restart of a container moves its lines to "previous".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import timefmt


@dataclass(frozen=True)
class LogQuery:
    container: str
    previous: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


class PodLogs:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.execute(
            "CREATE TABLE IF NOT EXISTS logs (namespace TEXT NOT NULL, pod TEXT NOT NULL,"
            " container TEXT NOT NULL, previous INTEGER NOT NULL, ts TEXT NOT NULL,"
            " line TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS logs_by_pod ON logs (namespace, pod, container, previous)")

    def append(self, namespace: str, pod: str, container: str, lines: list[str]) -> None:
        stamp = timefmt.micro()
        self._db.executemany(
            "INSERT INTO logs (namespace, pod, container, previous, ts, line) VALUES (?, ?, ?, 0, ?, ?)",
            [(namespace, pod, container, stamp, line) for line in lines],
        )

    def restart(self, namespace: str, pod: str, container: str) -> None:
        """The container restarted: its log becomes the previous one."""
        key = (namespace, pod, container)
        self._db.execute(
            "DELETE FROM logs WHERE namespace = ? AND pod = ? AND container = ? AND previous = 1", key)
        self._db.execute(
            "UPDATE logs SET previous = 1 WHERE namespace = ? AND pod = ? AND container = ?", key)

    def forget(self, namespace: str, pod: str | None = None) -> None:
        if pod is None:
            self._db.execute("DELETE FROM logs WHERE namespace = ?", (namespace,))
        else:
            self._db.execute("DELETE FROM logs WHERE namespace = ? AND pod = ?", (namespace, pod))

    def read(self, namespace: str, pod: str, query: LogQuery) -> str:
        rows = self._db.execute(
            "SELECT ts, line FROM logs WHERE namespace = ? AND pod = ? AND container = ?"
            " AND previous = ? ORDER BY rowid",
            (namespace, pod, query.container, int(query.previous)),
        ).fetchall()
        if query.since_seconds is not None:
            cutoff = timefmt.now().timestamp() - query.since_seconds
            rows = [r for r in rows if (timefmt.parse(r[0]) or timefmt.now()).timestamp() >= cutoff]
        if query.tail_lines is not None:
            rows = rows[-query.tail_lines:] if query.tail_lines > 0 else []
        text = "".join(f"{ts} {line}\n" if query.timestamps else f"{line}\n" for ts, line in rows)
        if query.limit_bytes is not None:
            text = text.encode()[: query.limit_bytes].decode(errors="ignore")
        return text
