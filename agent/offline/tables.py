"""Rows as kubectl prints them (padded columns under upper-case headers) and YAML for the
nested parts of an answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
Data = dict[str, Any]
COLUMNS = (("name", "NAME"), ("namespace", "NAMESPACE"), ("ready", "READY"), ("status", "STATUS"),
           ("restarts", "RESTARTS"), ("up_to_date", "UP-TO-DATE"), ("available", "AVAILABLE"), ("type", "TYPE"),
           ("cluster_ip", "CLUSTER-IP"), ("ports", "PORTS"), ("images", "IMAGES"), ("info", "INFO"), ("age", "AGE"))
MAX_ROWS = 30


def table(rows: Sequence[Data], columns: Sequence[tuple[str, str]] = COLUMNS, limit: int = MAX_ROWS) -> str:
    """Rows as kubectl prints them: the columns some row has, padded, in upper-case headers."""
    rows = [r for r in rows if isinstance(r, dict)]
    used = [(k, h) for k, h in columns if any(r.get(k) not in (None, "") for r in rows)]
    if not rows or not used:
        return ""
    cells = [[h for _, h in used]] + [[_cell(r.get(k)) for k, _ in used] for r in rows[:limit]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(used))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    if len(rows) > limit:
        lines.append(f"… {len(rows) - limit} more")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 110 else text[:109] + "…"


def dump(data: Any) -> str:
    return str(yaml.dump(data, Dumper=_DUMPER, sort_keys=False, width=120, allow_unicode=True,
                         default_flow_style=False)).rstrip()


EVENT_COLUMNS = (("last_seen", "LAST SEEN"), ("type", "TYPE"), ("reason", "REASON"), ("namespace", "NAMESPACE"),
                 ("object", "OBJECT"), ("count", "COUNT"), ("message", "MESSAGE"))
HELM_COLUMNS = (("name", "NAME"), ("namespace", "NAMESPACE"), ("revision", "REVISION"), ("status", "STATUS"),
                ("chart", "CHART"), ("app_version", "APP VERSION"), ("updated", "UPDATED"),
                ("description", "DESCRIPTION"))
