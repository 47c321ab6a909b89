"""``--trace-path FILE``: a YAML stream of what happened in a run, one document per event,
as kubectl-ai's journal writes (``timestamp``, ``action``, ``payload``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tools.errors import KaiError


class Trace:
    """Appends events to a file; each is flushed as it is written (a crash keeps what came before)."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise KaiError(f"cannot write the trace to {path}: {exc.strerror}") from exc
        self.path = path
        self._lock = threading.Lock()

    def write(self, action: str, payload: dict[str, Any]) -> None:
        import yaml

        document = {"timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"), "action": action,
                    "payload": payload}
        text = yaml.dump(document, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                         allow_unicode=True, default_flow_style=False)
        with self._lock:
            try:
                self._file.write("---\n" + text)
                self._file.flush()
            except OSError as exc:
                raise KaiError(f"cannot write the trace to {self.path}: {exc.strerror}") from exc

    def close(self) -> None:
        self._file.close()
