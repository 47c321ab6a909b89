"""Compare two eval runs: which tasks regressed or improved, and how the headline figures moved.

A task *regressed* when it succeeded in a smaller share of its runs in B than in A, and *improved* when
in a larger share. Tasks run in only one of the two are listed apart. The overall deltas are B - A.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evals.aggregate import aggregate, as_records, outcomes, percentile
from evals.results import RESULTS_FILE, ResultsError, RunRecord, read_rows
from evals.summary import millis, number, rate, ratio

Unit = Literal["rate", "ratio", "count", "tokens", "ms"]


@dataclass(frozen=True)
class TaskChange:
    """One task's successes in A and in B (runs = 0 where the task was not run)."""

    task: str
    runs_a: int
    successes_a: int
    runs_b: int
    successes_b: int

    @property
    def rate_a(self) -> float:
        return self.successes_a / self.runs_a if self.runs_a else 0.0

    @property
    def rate_b(self) -> float:
        return self.successes_b / self.runs_b if self.runs_b else 0.0

    @property
    def change(self) -> float:
        return self.rate_b - self.rate_a


@dataclass(frozen=True)
class Delta:
    """One overall figure in A and in B; ``higher_is_better`` says which way is good."""

    name: str
    a: float | None
    b: float | None
    unit: Unit
    higher_is_better: bool

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def worse(self) -> bool:
        change = self.change
        if not change:
            return False
        return change < 0 if self.higher_is_better else change > 0


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    runs_a: int
    runs_b: int
    regressed: list[TaskChange]
    """Biggest drop first."""
    improved: list[TaskChange]
    """Biggest gain first."""
    unchanged: list[TaskChange]
    only_a: list[str]
    only_b: list[str]
    deltas: list[Delta]

    @property
    def has_regressions(self) -> bool:
        return bool(self.regressed)


def load_run(folder: Path | str) -> list[dict[str, Any]]:
    """The rows of a run folder's results.jsonl (or of that file itself); :class:`ResultsError` if absent."""
    path = Path(folder)
    if path.is_dir():
        path = path / RESULTS_FILE
    elif not path.exists():
        raise ResultsError(f"{folder}: no such run folder")
    if not path.is_file():
        raise ResultsError(f"{folder}: no {RESULTS_FILE} in this run folder")
    return read_rows(path)


def compare_runs(folder_a: Path | str, folder_b: Path | str) -> Comparison:
    """Compare the run in ``folder_a`` (before) with the run in ``folder_b`` (after)."""
    return compare_rows(load_run(folder_a), load_run(folder_b), str(folder_a), str(folder_b))


def compare_rows(rows_a: Iterable[Mapping[str, Any] | RunRecord], rows_b: Iterable[Mapping[str, Any] | RunRecord],
                 label_a: str = "A", label_b: str = "B") -> Comparison:
    """Compare two runs' rows (A before, B after)."""
    runs_a, runs_b = as_records(rows_a), as_records(rows_b)
    per_a, per_b = outcomes(runs_a), outcomes(runs_b)
    both = [TaskChange(task, *per_a[task], *per_b[task]) for task in sorted(per_a.keys() & per_b.keys())]
    return Comparison(
        a=label_a,
        b=label_b,
        runs_a=len(runs_a),
        runs_b=len(runs_b),
        regressed=sorted((t for t in both if t.change < 0), key=lambda t: (t.change, t.task)),
        improved=sorted((t for t in both if t.change > 0), key=lambda t: (-t.change, t.task)),
        unchanged=[t for t in both if t.change == 0],
        only_a=sorted(per_a.keys() - per_b.keys()),
        only_b=sorted(per_b.keys() - per_a.keys()),
        deltas=_deltas(runs_a, runs_b),
    )


def _deltas(runs_a: Sequence[RunRecord], runs_b: Sequence[RunRecord]) -> list[Delta]:
    a, b = aggregate(runs_a).overall, aggregate(runs_b).overall

    def model_tokens(runs: Sequence[RunRecord]) -> float | None:
        return percentile((r.tokens.model_in + r.tokens.model_out for r in runs), 50)

    return [
        Delta("success rate", a.success_rate if a.runs else None, b.success_rate if b.runs else None, "rate", True),
        Delta("mean F1", a.f1, b.f1, "ratio", True),
        Delta("mean argument accuracy", a.arg_accuracy, b.arg_accuracy, "ratio", True),
        Delta("violations", a.violations, b.violations, "count", False),
        Delta("median tool-output tokens", a.tokens.tool_output.p50, b.tokens.tool_output.p50, "tokens", False),
        Delta("median model tokens (in + out)", model_tokens(runs_a), model_tokens(runs_b), "tokens", False),
        Delta("median latency", a.latency_ms.p50, b.latency_ms.p50, "ms", False),
    ]


# --- text ------------------------------------------------------------------------------------------------------


def _value(value: float | None, unit: Unit) -> str:
    if unit == "rate":
        return rate(value)
    if unit == "ratio":
        return ratio(value)
    if unit == "ms":
        return millis(value)
    return number(value)


def _change(delta: Delta) -> str:
    change = delta.change
    if change is None:
        return "–"
    if change == 0:
        return "="
    sign = "+" if change > 0 else "-"
    size = abs(change)
    if delta.unit == "rate":
        text = f"{sign}{size * 100:.1f} pp"
    elif delta.unit == "ratio":
        text = f"{sign}{size:.2f}"
    elif delta.unit == "ms":
        text = sign + millis(size)
    else:
        text = f"{sign}{round(size):,}"
    return text + ("  (worse)" if delta.worse else "")


def _task_line(change: TaskChange, width: int) -> str:
    return (f"  {change.task:<{width}}  {change.successes_a}/{change.runs_a} ({rate(change.rate_a)})"
            f" → {change.successes_b}/{change.runs_b} ({rate(change.rate_b)})")


def render_comparison(comparison: Comparison) -> str:
    """The comparison as plain text (no colours, no terminal needed)."""
    c = comparison
    lines = ["kai eval compare", f"  A: {c.a} ({c.runs_a} runs)", f"  B: {c.b} ({c.runs_b} runs)", ""]
    table = [("figure", "A", "B", "B - A")]
    table += [(d.name, _value(d.a, d.unit), _value(d.b, d.unit), _change(d)) for d in c.deltas]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        lines.append(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip())
    tasks = [t.task for t in (*c.regressed, *c.improved)] + c.only_a + c.only_b
    width = max((len(t) for t in tasks), default=0)
    for heading, changes in ((f"regressed ({len(c.regressed)}): succeeding less often in B", c.regressed),
                             (f"improved ({len(c.improved)}): succeeding more often in B", c.improved)):
        lines += ["", heading]
        lines += [_task_line(t, width) for t in changes] or ["  none"]
    lines += ["", f"unchanged: {len(c.unchanged)} tasks"]
    for heading, names in ((f"only in A ({len(c.only_a)})", c.only_a), (f"only in B ({len(c.only_b)})", c.only_b)):
        lines += ["", heading]
        lines += [f"  {name}" for name in names] or ["  none"]
    return "\n".join(lines) + "\n"
