"""The one shape every benchmark writes: its name, rounds, the machine, the results."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any


def write_report(name: str, rounds: int, results: dict[str, Any], out: Path | None, **extra: Any) -> None:
    """Print the report as JSON and write it to ``out`` (when given)."""
    report = {"benchmark": name, "rounds": rounds, **extra, "machine": platform.machine(),
              "python": platform.python_version(), "results": results}
    text = json.dumps(report, indent=2)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
