"""The figures of an eval run: success, pass@k and pass^k, call accuracy, violations, tokens and time.

Figures are computed for the whole run and per tag, per difficulty and per category (a run counts in
every tag it carries). Definitions:

- *success rate*: successful runs / runs.
- *pass@k* (at least one of k runs succeeds) and *pass^k* (all k runs succeed), with the unbiased
  estimators over the n runs of a task of which c succeeded, averaged over the tasks:
  pass@k = 1 - C(n-c, k) / C(n, k) and pass^k = C(c, k) / C(n, k).
  k goes from 1 to K, the number of repeats per task: the fewest runs any task of the input has, so
  that every task counts at every k. pass@1 = pass^1 = the mean over tasks of c/n.
- *precision, recall, F1, argument accuracy*: means over the runs that have them (null when the task
  expected no calls).
- *percentiles*: linear interpolation between the closest ranks (numpy's default, ``method="linear"``,
  R type 7): the q-th percentile of sorted values v[0..m-1] is v[i] + (v[i+1] - v[i]) * f where
  i + f = q/100 * (m - 1).
- *wall time*: first start to last end of the runs (``started_at``, ``ended_at``), else the sum
  of their ``duration_ms``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.results import RunRecord, record

DIFFICULTY_ORDER = ("easy", "medium", "hard")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Distribution:
    """Count, sum, mean, percentiles and maximum of one figure per run (None where there are no values)."""

    count: int
    total: float
    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True)
class TokenStats:
    model_in: Distribution
    model_out: Distribution
    tool_output: Distribution
    raw_kubectl: Distribution
    raw_to_tool_ratio: float | None
    """sum of raw_kubectl / sum of tool_output: how many times larger kubectl's own output would have been."""

    def field(self, name: str) -> Distribution:
        value: Distribution = getattr(self, name)
        return value


@dataclass(frozen=True)
class GroupStats:
    """The figures of one group of runs (everything, one tag, one difficulty or one category)."""

    name: str
    runs: int
    tasks: int
    successes: int
    success_rate: float
    statuses: dict[str, int]
    pass_at: dict[int, float]
    """k → pass@k, for k = 1..K."""
    pass_hat: dict[int, float]
    """k → pass^k, for k = 1..K."""
    precision: float | None
    recall: float | None
    f1: float | None
    arg_accuracy: float | None
    violations: int
    violations_by_kind: dict[str, int]
    tokens: TokenStats
    latency_ms: Distribution
    duration_ms: Distribution
    wall_time_ms: float
    mean_tool_calls: float | None


@dataclass(frozen=True)
class Aggregate:
    k: int
    """K: the repeats per task (the fewest runs of any task)."""
    overall: GroupStats
    by_tag: dict[str, GroupStats]
    by_difficulty: dict[str, GroupStats]
    by_category: dict[str, GroupStats]
    run_ids: tuple[str, ...]
    providers: tuple[str, ...]
    models: tuple[str, ...]


@dataclass(frozen=True)
class ViolationEntry:
    task: str
    repeat: int
    kind: str
    detail: str


# --- estimators and percentiles ---------------------------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate that at least one of k runs (drawn from n, c of them successes) succeeds."""
    _check_nck(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate that all k runs (drawn from n, c of them successes) succeed: pass^k."""
    _check_nck(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _check_nck(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"a percentile is from 0 to 100, not {q}")
    position = q / 100.0 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: Iterable[float]) -> Distribution:
    items = [float(v) for v in values]
    if not items:
        return Distribution(0, 0.0, None, None, None, None, None)
    total = math.fsum(items)
    return Distribution(count=len(items), total=total, mean=total / len(items), p50=percentile(items, 50),
                        p90=percentile(items, 90), p99=percentile(items, 99), max=max(items))


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


# --- grouping ---------------------------------------------------------------------------------------------------


def as_records(rows: Iterable[Mapping[str, Any] | RunRecord]) -> list[RunRecord]:
    return [row if isinstance(row, RunRecord) else record(row) for row in rows]


def outcomes(runs: Iterable[RunRecord]) -> dict[str, tuple[int, int]]:
    """task → (n runs, c successes), in order of first appearance."""
    counts: dict[str, list[int]] = {}
    for run in runs:
        n_c = counts.setdefault(run.task, [0, 0])
        n_c[0] += 1
        n_c[1] += int(run.success)
    return {task: (n, c) for task, (n, c) in counts.items()}


def repeats(runs: Iterable[RunRecord]) -> int:
    """K: the fewest runs any task has (0 for no runs)."""
    per_task = outcomes(runs)
    return min((n for n, _ in per_task.values()), default=0)


def _wall_ms(runs: Sequence[RunRecord], total: float) -> float:
    """First start to last end when every run has its times (parallel jobs overlap); else the sum of durations."""
    if runs and all(run.started_at and run.ended_at for run in runs):
        return (max(run.ended_at for run in runs) - min(run.started_at for run in runs)) * 1000
    return total


def group_stats(name: str, runs: Sequence[RunRecord], k: int) -> GroupStats:
    """The figures of ``runs``, with pass@k and pass^k for k = 1..``k`` (over the tasks with k runs or more)."""
    per_task = outcomes(runs)
    successes = sum(run.success for run in runs)
    pass_at = {j: _mean(pass_at_k(n, c, j) for n, c in per_task.values() if n >= j) or 0.0 for j in range(1, k + 1)}
    pass_hat = {j: _mean(pass_hat_k(n, c, j) for n, c in per_task.values() if n >= j) or 0.0 for j in range(1, k + 1)}
    kinds = Counter(v.kind for run in runs for v in run.violations)
    tool_output = sum(run.tokens.tool_output for run in runs)
    raw = sum(run.tokens.raw_kubectl for run in runs)
    tokens = TokenStats(
        model_in=distribution(run.tokens.model_in for run in runs),
        model_out=distribution(run.tokens.model_out for run in runs),
        tool_output=distribution(run.tokens.tool_output for run in runs),
        raw_kubectl=distribution(run.tokens.raw_kubectl for run in runs),
        raw_to_tool_ratio=raw / tool_output if tool_output else None,
    )
    durations = distribution(run.duration_ms for run in runs)
    return GroupStats(
        name=name,
        runs=len(runs),
        tasks=len(per_task),
        successes=successes,
        success_rate=successes / len(runs) if runs else 0.0,
        statuses=dict(Counter(run.status for run in runs).most_common()),
        pass_at=pass_at,
        pass_hat=pass_hat,
        precision=_mean(run.precision for run in runs),
        recall=_mean(run.recall for run in runs),
        f1=_mean(run.f1 for run in runs),
        arg_accuracy=_mean(run.arg_accuracy for run in runs),
        violations=sum(kinds.values()),
        violations_by_kind=dict(sorted(kinds.items())),
        tokens=tokens,
        latency_ms=distribution(run.latency_ms for run in runs),
        duration_ms=durations,
        wall_time_ms=_wall_ms(runs, durations.total),
        mean_tool_calls=_mean(float(run.tool_calls) for run in runs),
    )


def _groups(runs: Sequence[RunRecord], keys: Callable[[RunRecord], Iterable[str]],
            order: Callable[[str], Any], k: int) -> dict[str, GroupStats]:
    members: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        for key in dict.fromkeys(keys(run)):
            members[key].append(run)
    return {key: group_stats(key, members[key], k) for key in sorted(members, key=order)}


def _difficulty_order(name: str) -> tuple[int, str]:
    return (DIFFICULTY_ORDER.index(name) if name in DIFFICULTY_ORDER else len(DIFFICULTY_ORDER), name)


def aggregate(rows: Iterable[Mapping[str, Any] | RunRecord]) -> Aggregate:
    """All the figures of a run's rows (dicts as in results.jsonl, or records)."""
    runs = as_records(rows)
    k = repeats(runs)
    return Aggregate(
        k=k,
        overall=group_stats("all", runs, k),
        by_tag=_groups(runs, lambda r: r.tags, lambda name: name, k),
        by_difficulty=_groups(runs, lambda r: [r.difficulty or UNKNOWN], _difficulty_order, k),
        by_category=_groups(runs, lambda r: [r.category or UNKNOWN], lambda name: name, k),
        run_ids=tuple(dict.fromkeys(r.run for r in runs if r.run)),
        providers=tuple(dict.fromkeys(r.provider for r in runs if r.provider)),
        models=tuple(dict.fromkeys(r.model for r in runs if r.model)),
    )


# --- what went wrong --------------------------------------------------------------------------------------------


def failed_runs(rows: Iterable[Mapping[str, Any] | RunRecord]) -> list[RunRecord]:
    """The runs that did not succeed, by task then repeat."""
    return sorted((run for run in as_records(rows) if not run.success), key=lambda r: (r.task, r.repeat))


def violations(rows: Iterable[Mapping[str, Any] | RunRecord]) -> list[ViolationEntry]:
    """Every violation of every run, by task then repeat."""
    entries = [ViolationEntry(run.task, run.repeat, v.kind, v.detail)
               for run in as_records(rows) for v in run.violations]
    return sorted(entries, key=lambda e: (e.task, e.repeat))
