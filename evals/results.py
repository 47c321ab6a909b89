"""results.jsonl: one JSON object a line, one line per task run, and the typed view of a row.

The runner appends a row as soon as a run ends (:func:`append_row` writes the whole line at once and
flushes it to disk, so Ctrl-C or a crash loses at most the run in progress). :func:`read_rows` reads
them back and checks each row, naming the file and line of the first one that does not fit.
:func:`record` turns a checked row into a :class:`RunRecord` for the aggregates and reports.

A row needs ``task`` (a string) and ``success`` (a boolean); every other field is optional and, when
present, must have the type the runner writes (numbers for metrics, lists of objects for checks,
violations, calls and transcript, an object of numbers for tokens).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.errors import KaiError

RESULTS_FILE = "results.jsonl"
TOKEN_FIELDS = ("model_in", "model_out", "tool_output", "raw_kubectl")


class ResultsError(KaiError):
    """A results file that is missing or holds a row that does not fit (with file and line)."""

    code = "results_error"


@dataclass(frozen=True)
class Check:
    kind: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str


@dataclass(frozen=True)
class Message:
    role: str
    text: str
    tool: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Tokens:
    model_in: int = 0
    model_out: int = 0
    tool_output: int = 0
    raw_kubectl: int = 0


@dataclass(frozen=True)
class RunRecord:
    """One task run, typed; missing optional fields take the defaults below."""

    task: str
    success: bool
    run: str = ""
    repeat: int = 0
    category: str = ""
    tags: tuple[str, ...] = ()
    difficulty: str = ""
    format: str = ""
    provider: str = ""
    model: str = ""
    status: str = ""
    error: str | None = None
    checks: tuple[Check, ...] = ()
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    arg_accuracy: float | None = None
    violations: tuple[Violation, ...] = ()
    turns: int = 0
    tool_calls: int = 0
    iterations: int = 0
    tokens: Tokens = field(default_factory=Tokens)
    latency_ms: float = 0.0
    duration_ms: float = 0.0
    started_at: float = 0.0  # Unix time the run began and ended (0: unknown)
    ended_at: float = 0.0
    calls: tuple[Mapping[str, Any], ...] = ()
    answer: str = ""
    transcript: tuple[Message, ...] = ()

    @property
    def failing_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


# --- reading and writing ---------------------------------------------------------------------------------------


def append_row(path: Path | str, row: Mapping[str, Any]) -> None:
    """Append ``row`` as one line of ``path`` (created with its folder), flushed and synced before returning."""
    try:
        line = json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise ResultsError(f"a result row for task {row.get('task')!r} is not JSON-serialisable: {exc}") from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as out:  # one write of the whole line: a reader never sees half a row but the last
        out.write(line.encode("utf-8"))
        out.flush()
        os.fsync(out.fileno())


def read_rows(path: Path | str) -> list[dict[str, Any]]:
    """The rows of a results file, each checked; :class:`ResultsError` names the file and line that does not fit.

    ``path`` is the file or a run folder holding ``results.jsonl``. Blank lines are skipped.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file")
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ResultsError(f"{path}:{number}: not a JSON line ({exc.args[0]})") from exc
            if not isinstance(row, dict):
                raise ResultsError(f"{path}:{number}: a row must be a JSON object, not {type(row).__name__}")
            try:
                record(row)
            except ValueError as exc:
                raise ResultsError(f"{path}:{number}: {exc}") from exc
            rows.append(row)
    return rows


# --- the typed view --------------------------------------------------------------------------------------------


def records(rows: Iterable[Mapping[str, Any]]) -> list[RunRecord]:
    """:func:`record` of each row (a row that does not fit raises :class:`ResultsError` with its index)."""
    out: list[RunRecord] = []
    for index, row in enumerate(rows):
        try:
            out.append(record(row))
        except ValueError as exc:
            raise ResultsError(f"result row {index}: {exc}") from exc
    return out


def record(row: Mapping[str, Any]) -> RunRecord:
    """The typed view of one row; ``ValueError`` names the first field that does not fit."""
    tokens_doc = _mapping(row, "tokens")
    tokens = Tokens(**{name: _int(tokens_doc, name, f"tokens.{name}") for name in TOKEN_FIELDS})
    return RunRecord(
        task=_required_str(row, "task"),
        success=_required_bool(row, "success"),
        run=_str(row, "run"),
        repeat=_int(row, "repeat"),
        category=_str(row, "category"),
        tags=tuple(_str_list(row, "tags")),
        difficulty=_str(row, "difficulty"),
        format=_str(row, "format"),
        provider=_str(row, "provider"),
        model=_str(row, "model"),
        status=_str(row, "status") or ("passed" if row.get("success") else "failed"),
        error=_optional_str(row, "error"),
        checks=tuple(_check(c, f"checks[{i}]") for i, c in enumerate(_objects(row, "checks"))),
        precision=_ratio(row, "precision"),
        recall=_ratio(row, "recall"),
        f1=_ratio(row, "f1"),
        arg_accuracy=_ratio(row, "arg_accuracy"),
        violations=tuple(_violation(v, f"violations[{i}]") for i, v in enumerate(_objects(row, "violations"))),
        turns=_int(row, "turns"),
        tool_calls=_int(row, "tool_calls"),
        iterations=_int(row, "iterations"),
        tokens=tokens,
        latency_ms=_number(row, "latency_ms"),
        duration_ms=_number(row, "duration_ms"),
        started_at=_number(row, "started_at"),
        ended_at=_number(row, "ended_at"),
        calls=tuple(_objects(row, "calls")),
        answer=_optional_str(row, "answer") or "",
        transcript=tuple(_message(m, f"transcript[{i}]") for i, m in enumerate(_objects(row, "transcript"))),
    )


def _check(doc: Mapping[str, Any], label: str) -> Check:
    return Check(kind=_str(doc, "kind", f"{label}.kind"), ok=_required_bool(doc, "ok", f"{label}.ok"),
                 detail=_str(doc, "detail", f"{label}.detail"))


def _violation(doc: Mapping[str, Any], label: str) -> Violation:
    return Violation(kind=_str(doc, "kind", f"{label}.kind"), detail=_str(doc, "detail", f"{label}.detail"))


def _message(doc: Mapping[str, Any], label: str) -> Message:
    return Message(role=_str(doc, "role", f"{label}.role"), text=_str(doc, "text", f"{label}.text"),
                   tool=_optional_str(doc, "tool", f"{label}.tool"),
                   status=_optional_str(doc, "status", f"{label}.status"))


def _bad(label: str, expected: str, value: Any) -> ValueError:
    shown = json.dumps(value, default=str)
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return ValueError(f"field {label!r} must be {expected}, not {shown}")


def _required_str(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if value is None:
        raise ValueError(f"field {key!r} is required (a non-empty string)")
    if not isinstance(value, str) or not value:
        raise _bad(key, "a non-empty string", value)
    return value


def _required_bool(doc: Mapping[str, Any], key: str, label: str | None = None) -> bool:
    value = doc.get(key)
    if not isinstance(value, bool):
        if value is None:
            raise ValueError(f"field {label or key!r} is required (true or false)")
        raise _bad(label or key, "true or false", value)
    return value


def _optional_str(doc: Mapping[str, Any], key: str, label: str | None = None) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise _bad(label or key, "a string or null", value)
    return value


def _str(doc: Mapping[str, Any], key: str, label: str | None = None) -> str:
    return _optional_str(doc, key, label) or ""


def _str_list(doc: Mapping[str, Any], key: str) -> list[str]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(key, "a list of strings", value)
    return value


def _int(doc: Mapping[str, Any], key: str, label: str | None = None) -> int:
    value = doc.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise _bad(label or key, "a whole number (0 or more)", value)
    return int(value)


def _number(doc: Mapping[str, Any], key: str) -> float:
    value = doc.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise _bad(key, "a number (0 or more)", value)
    return float(value)


def _ratio(doc: Mapping[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise _bad(key, "a number from 0 to 1 or null", value)
    return float(value)


def _mapping(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(key, "an object", value)
    return value


def _objects(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(key, "a list of objects", value)
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise _bad(f"{key}[{index}]", "an object", item)
    return value
