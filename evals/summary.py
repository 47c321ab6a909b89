"""summary.md: the figures of an eval run as Markdown (headline, per tag, per difficulty, violations, failures).

Text from the rows (check details, errors, violation details) is put in code spans, so a Markdown
renderer shows it literally, HTML included. The number formats here are shared with the HTML report
and the comparison.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.aggregate import (
    Aggregate,
    Distribution,
    GroupStats,
    aggregate,
    as_records,
    failed_runs,
    outcomes,
    violations,
)
from evals.results import TOKEN_FIELDS, RunRecord

DETAIL_LIMIT = 300


# --- formats ---------------------------------------------------------------------------------------------------


def rate(value: float | None) -> str:
    """A fraction as a percentage with one decimal ("83.3%"), "–" for none."""
    return "–" if value is None else f"{value * 100:.1f}%"


def ratio(value: float | None) -> str:
    """A 0..1 figure with two decimals ("0.92"), "–" for none."""
    return "–" if value is None else f"{value:.2f}"


def number(value: float | None) -> str:
    """A count with thousands separators, "–" for none."""
    return "–" if value is None else f"{round(value):,}"


def millis(value: float | None) -> str:
    """A duration in ms, as ms under a second, s under a minute, else m s."""
    if value is None:
        return "–"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.2f} s"
    minutes, seconds = divmod(value / 1000, 60)
    return f"{minutes:.0f}m {seconds:02.0f}s"


def times(value: float | None) -> str:
    """A multiplier ("12.4×"), "–" for none."""
    return "–" if value is None else f"{value:.1f}×"


def spread(d: Distribution, fmt: Callable[[float | None], str]) -> str:
    """"p50 / p90 / p99" of a distribution."""
    return " / ".join(fmt(v) for v in (d.p50, d.p90, d.p99))


def one_line(text: str, limit: int = DETAIL_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(text: str) -> str:
    """``text`` as one Markdown code span (a fence longer than any run of backticks inside)."""
    text = one_line(text)
    if not text:
        return "–"
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], right: int = 1) -> list[str]:
    """A Markdown table; columns from ``right`` on are right-aligned."""
    align = ["---" if i < right else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


# --- sections --------------------------------------------------------------------------------------------------


def headline(agg: Aggregate) -> list[tuple[str, str]]:
    """The headline figures as (name, value) pairs, shared with the HTML report."""
    o = agg.overall
    pairs = [
        ("runs", f"{o.runs} ({o.tasks} tasks, " + (f"{agg.k} runs each)" if o.runs == o.tasks * agg.k
                                                    else f"{agg.k} or more runs each)")),
        ("success rate", f"{rate(o.success_rate)} ({o.successes}/{o.runs})"),
    ]
    pairs += [(f"pass@{k}", rate(v)) for k, v in o.pass_at.items()]
    pairs += [(f"pass^{k}", rate(v)) for k, v in o.pass_hat.items() if k > 1]
    pairs += [
        ("statuses", ", ".join(f"{name} {count}" for name, count in o.statuses.items()) or "–"),
        ("precision / recall / F1", f"{ratio(o.precision)} / {ratio(o.recall)} / {ratio(o.f1)}"),
        ("argument accuracy", ratio(o.arg_accuracy)),
        ("tool calls per run (mean)", ratio(o.mean_tool_calls)),
        ("model tokens in / out p50", f"{number(o.tokens.model_in.p50)} / {number(o.tokens.model_out.p50)}"),
        ("violations", str(o.violations) + (" (" + ", ".join(f"{k} {v}" for k, v in o.violations_by_kind.items())
                                              + ")" if o.violations else "")),
        ("tool-output tokens p50 / p90 / p99", spread(o.tokens.tool_output, number)),
        ("raw kubectl tokens p50 / p90 / p99", spread(o.tokens.raw_kubectl, number)),
        ("raw kubectl / tool output", times(o.tokens.raw_to_tool_ratio)),
        ("latency p50 / p90 / p99", spread(o.latency_ms, millis)),
        ("wall time", millis(o.wall_time_ms)),
    ]
    return pairs


def group_header(agg: Aggregate, first: str) -> list[str]:
    header = [first, "runs", "tasks", "success", "pass@1"]
    if agg.k > 1:
        header += [f"pass@{agg.k}", f"pass^{agg.k}"]
    return [*header, "F1", "arg acc", "violations", "latency p50"]


def group_row(agg: Aggregate, group: GroupStats) -> list[str]:
    row = [group.name, str(group.runs), str(group.tasks), rate(group.success_rate), rate(group.pass_at.get(1))]
    if agg.k > 1:
        row += [rate(group.pass_at.get(agg.k)), rate(group.pass_hat.get(agg.k))]
    return [*row, ratio(group.f1), ratio(group.arg_accuracy), str(group.violations), millis(group.latency_ms.p50)]


def title(agg: Aggregate) -> str:
    runs = ", ".join(agg.run_ids) or "eval run"
    return f"kai eval — {runs}"


def subtitle(agg: Aggregate) -> str:
    parts = []
    if agg.providers:
        parts.append("provider " + ", ".join(agg.providers))
    if agg.models:
        parts.append("model " + ", ".join(agg.models))
    return " · ".join(parts)


def _failures(failed: Sequence[RunRecord], runs_per_task: Mapping[str, int]) -> list[str]:
    lines: list[str] = []
    by_task: dict[str, list[RunRecord]] = {}
    for run in failed:
        by_task.setdefault(run.task, []).append(run)
    for task, runs in by_task.items():
        lines += ["", f"### {task} — {len(runs)} of {runs_per_task.get(task, len(runs))} runs failed", ""]
        for run in runs:
            head = f"- repeat {run.repeat}: **{run.status or 'failed'}**"
            lines.append(head + (f" — {_code(run.error)}" if run.error else ""))
            lines += [f"  - ✗ {run_check.kind}: {_code(run_check.detail)}" for run_check in run.failing_checks]
            lines += [f"  - ⚠ {v.kind}: {_code(v.detail)}" for v in run.violations]
    return lines


def render_summary(rows: Iterable[Mapping[str, Any] | RunRecord]) -> str:
    """summary.md for the rows of one eval run."""
    runs = as_records(rows)
    agg = aggregate(runs)
    lines = [f"# {title(agg)}", ""]
    if subtitle(agg):
        lines += [subtitle(agg), ""]
    lines += ["## Headline", "", *_table(["figure", "value"], headline(agg), right=2)]
    if agg.by_tag:
        lines += ["", "## By tag", "", *_table(group_header(agg, "tag"),
                                                (group_row(agg, g) for g in agg.by_tag.values()))]
    lines += ["", "## By difficulty", "", *_table(group_header(agg, "difficulty"),
                                                  (group_row(agg, g) for g in agg.by_difficulty.values()))]
    if len(agg.by_category) > 1:
        lines += ["", "## By category", "", *_table(group_header(agg, "category"),
                                                    (group_row(agg, g) for g in agg.by_category.values()))]
    tokens = agg.overall.tokens
    lines += ["", "## Tokens per run", "", *_table(
        ["tokens", "sum", "p50", "p90", "p99"],
        ([name, *(number(v) for v in (d.total, d.p50, d.p90, d.p99))]
         for name, d in ((name, tokens.field(name)) for name in TOKEN_FIELDS)))]
    lines += ["", f"raw kubectl / tool output: {times(tokens.raw_to_tool_ratio)}"]
    found = violations(runs)
    lines += ["", f"## Violations ({len(found)})", ""]
    lines += [f"- {v.task} (repeat {v.repeat}): {v.kind} — {_code(v.detail)}" for v in found] or ["None."]
    failed = failed_runs(runs)
    per_task = {task: n for task, (n, _) in outcomes(runs).items()}
    lines += ["", f"## Failed runs ({len(failed)})"]
    lines += _failures(failed, per_task) if failed else ["", "None."]
    return "\n".join(lines) + "\n"


def write_summary(rows: Iterable[Mapping[str, Any] | RunRecord], path: Path | str) -> Path:
    """Write :func:`render_summary` to ``path`` (a file, or a folder to hold summary.md); return the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "summary.md"
    path.write_text(render_summary(rows), encoding="utf-8")
    return path
