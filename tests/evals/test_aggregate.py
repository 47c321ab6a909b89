"""evals.aggregate: the estimators, percentiles and the grouping of result rows."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from evals.aggregate import (
    aggregate,
    distribution,
    failed_runs,
    pass_at_k,
    pass_hat_k,
    percentile,
    repeats,
    violations,
)
from evals.results import ResultsError, record, records


def make_row(task: str, success: bool, repeat: int = 0, **fields: Any) -> dict[str, Any]:
    """A result row as the runner writes it; ``fields`` override the defaults."""
    row: dict[str, Any] = {
        "run": "20261126-1712-offline", "task": task, "repeat": repeat, "category": "scale",
        "tags": ["write"], "difficulty": "easy", "format": "kai", "provider": "offline", "model": "planner-1",
        "success": success, "status": "passed" if success else "failed", "error": None,
        "checks": [{"kind": "call", "ok": success, "detail": "scale(name~^(todo-)?backend$, replicas=3)"}],
        "precision": 1.0, "recall": 1.0 if success else 0.0, "f1": 1.0 if success else 0.0, "arg_accuracy": 1.0,
        "violations": [], "turns": 1, "tool_calls": 2, "iterations": 3,
        "tokens": {"model_in": 0, "model_out": 0, "tool_output": 100, "raw_kubectl": 1000},
        "latency_ms": 200.0, "duration_ms": 400.0,
        "calls": [{"tool": "scale", "arguments": {"name": "todo-backend", "replicas": 3}, "status": "ok",
                   "decision": "confirm", "approver": "eval:approver"}],
        "answer": "Scaled deployment todo-backend to 3 replicas.",
        "transcript": [{"role": "user", "text": "scale backend to 3", "tool": None, "status": None},
                       {"role": "tool", "text": "scaled", "tool": "scale", "status": "ok"},
                       {"role": "assistant", "text": "Scaled.", "tool": None, "status": None}],
    }
    row.update(fields)
    return row


def runs_of(task: str, outcomes: list[bool], **fields: Any) -> list[dict[str, Any]]:
    return [make_row(task, ok, repeat=i, **fields) for i, ok in enumerate(outcomes)]


# --- estimators ---------------------------------------------------------------------------------------------------


def test_pass_at_k_and_pass_hat_k_by_hand() -> None:
    # n=3, c=1, k=2: 3 pairs, 2 of them hold the success; no pair is all successes
    assert pass_at_k(3, 1, 2) == pytest.approx(2 / 3)
    assert pass_hat_k(3, 1, 2) == 0.0
    # n=3, c=2, k=2: every pair holds a success; 1 of 3 pairs is both successes
    assert pass_at_k(3, 2, 2) == 1.0
    assert pass_hat_k(3, 2, 2) == pytest.approx(1 / 3)
    # n=5, c=2, k=3: 1 of the C(5,3)=10 triples has no success; C(2,3)=0
    assert pass_at_k(5, 2, 3) == pytest.approx(0.9)
    assert pass_hat_k(5, 2, 3) == 0.0
    # k=1 is the plain rate
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4) == pass_hat_k(5, 2, 1)
    assert pass_at_k(4, 0, 2) == 0.0
    assert pass_hat_k(4, 4, 4) == 1.0


def test_estimators_refuse_impossible_counts() -> None:
    with pytest.raises(ValueError, match="n=2"):
        pass_at_k(2, 1, 3)
    with pytest.raises(ValueError, match="c=3"):
        pass_hat_k(2, 3, 1)


def test_aggregate_pass_at_k_means_over_tasks() -> None:
    rows = runs_of("flaky", [True, False, False]) + runs_of("solid", [True, True, True])
    agg = aggregate(rows)
    assert agg.k == 3
    o = agg.overall
    assert (o.runs, o.tasks, o.successes) == (6, 2, 4)
    assert o.success_rate == pytest.approx(4 / 6)
    assert o.pass_at[1] == pytest.approx((1 / 3 + 1) / 2)
    assert o.pass_at[2] == pytest.approx((2 / 3 + 1) / 2)
    assert o.pass_at[3] == pytest.approx(1.0)
    assert o.pass_hat[1] == pytest.approx(o.pass_at[1])
    assert o.pass_hat[2] == pytest.approx((0 + 1) / 2)
    assert o.pass_hat[3] == pytest.approx(0.5)
    assert o.statuses == {"passed": 4, "failed": 2}


def test_k_is_the_fewest_runs_of_any_task() -> None:
    runs = records(runs_of("a", [True, False, True]) + runs_of("b", [False, True]))
    assert repeats(runs) == 2
    agg = aggregate(runs)
    assert sorted(agg.overall.pass_at) == [1, 2]
    # pass@1 is the mean of per-task rates, not the rate over runs
    assert agg.overall.pass_at[1] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert agg.overall.success_rate == pytest.approx(3 / 5)
    assert aggregate([]).k == 0


# --- percentiles and distributions --------------------------------------------------------------------------------


def test_percentile_interpolates_linearly() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # order does not matter
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile(values, 99) == pytest.approx(9.91)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 10.0
    assert percentile([10.0, 20.0], 50) == 15.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="0 to 100"):
        percentile([1.0], 101)


def test_distribution_of_nothing_and_of_values() -> None:
    empty = distribution([])
    assert (empty.count, empty.total, empty.p50, empty.max) == (0, 0.0, None, None)
    d = distribution([100, 300, 200])
    assert (d.count, d.total, d.mean, d.p50, d.max) == (3, 600.0, 200.0, 200.0, 300.0)
    assert d.p90 == pytest.approx(280.0)


def test_tokens_and_latency_figures() -> None:
    rows = [make_row(f"t{i}", True, tokens={"model_in": 10 * i, "model_out": i, "tool_output": 100 * i,
                                             "raw_kubectl": 1000 * i}, latency_ms=float(i), duration_ms=1000.0)
            for i in range(1, 11)]
    o = aggregate(rows).overall
    assert o.tokens.tool_output.total == 5500
    assert o.tokens.tool_output.p50 == pytest.approx(550.0)
    assert o.tokens.raw_kubectl.p90 == pytest.approx(9100.0)
    assert o.tokens.model_in.p99 == pytest.approx(99.1)
    assert o.tokens.model_out.total == 55
    assert o.tokens.raw_to_tool_ratio == pytest.approx(10.0)
    assert o.latency_ms.p50 == pytest.approx(5.5)
    assert o.latency_ms.p99 == pytest.approx(9.91)
    assert o.wall_time_ms == 10_000.0


def test_ratio_is_none_without_tool_output() -> None:
    row = make_row("read", True, tokens={"model_in": 5})
    assert aggregate([row]).overall.tokens.raw_to_tool_ratio is None


# --- groups -------------------------------------------------------------------------------------------------------


def test_per_tag_difficulty_and_category() -> None:
    rows = (runs_of("scale-3", [True, True], tags=["write", "kubectl-ai-seed"], difficulty="easy")
            + runs_of("delete-ns", [False, True], tags=["write", "safety"], difficulty="hard", category="safety")
            + runs_of("list-pods", [True, False], tags=["read"], difficulty="medium", category="read")
            + runs_of("bench", [False, False], tags=[], difficulty="", category=""))
    agg = aggregate(rows)
    assert list(agg.by_tag) == ["kubectl-ai-seed", "read", "safety", "write"]
    write = agg.by_tag["write"]
    assert (write.runs, write.tasks, write.successes) == (4, 2, 3)
    assert write.pass_at[2] == pytest.approx(1.0)
    assert write.pass_hat[2] == pytest.approx(0.5)
    assert agg.by_tag["read"].success_rate == 0.5
    assert list(agg.by_difficulty) == ["easy", "medium", "hard", "unknown"]
    assert agg.by_difficulty["hard"].runs == 2
    assert agg.by_difficulty["unknown"].success_rate == 0.0
    assert set(agg.by_category) == {"scale", "safety", "read", "unknown"}
    assert agg.overall.runs == 8


def test_a_tag_repeated_on_a_row_counts_once() -> None:
    agg = aggregate([make_row("t", True, tags=["write", "write"])])
    assert agg.by_tag["write"].runs == 1


def test_means_ignore_null_metrics() -> None:
    rows = [make_row("a", True, f1=1.0, precision=1.0), make_row("b", True, f1=None, precision=None, recall=None,
                                                                  arg_accuracy=None),
            make_row("c", False, f1=0.5, precision=0.5)]
    o = aggregate(rows).overall
    assert o.f1 == pytest.approx(0.75)
    assert o.precision == pytest.approx(0.75)
    only_null = aggregate([rows[1]]).overall
    assert (only_null.f1, only_null.recall, only_null.arg_accuracy) == (None, None, None)


def test_violations_by_kind_and_listed_per_run() -> None:
    rows = [
        make_row("delete-ns", False, violations=[{"kind": "forbidden_call", "detail": "delete_namespace(todo-app)"},
                                                 {"kind": "unapproved_write", "detail": "scale ran without approval"}]),
        make_row("leak", False, repeat=1, violations=[{"kind": "secret_in_answer", "detail": "DB_PASSWORD"}]),
        make_row("ok", True),
    ]
    o = aggregate(rows).overall
    assert o.violations == 3
    assert o.violations_by_kind == {"forbidden_call": 1, "secret_in_answer": 1, "unapproved_write": 1}
    listed = violations(rows)
    assert [(v.task, v.repeat, v.kind) for v in listed] == [
        ("delete-ns", 0, "forbidden_call"), ("delete-ns", 0, "unapproved_write"), ("leak", 1, "secret_in_answer")]
    assert [r.task for r in failed_runs(rows)] == ["delete-ns", "leak"]
    assert math.isclose(aggregate(rows).by_tag["write"].success_rate, 1 / 3)


# --- the typed view of a row --------------------------------------------------------------------------------------


def test_record_defaults_for_a_minimal_row() -> None:
    run = record({"task": "t", "success": False})
    assert (run.status, run.tags, run.f1, run.tokens.tool_output, run.answer) == ("failed", (), None, 0, "")


@pytest.mark.parametrize(("fields", "named"), [
    ({"task": None}, "'task' is required"),
    ({"success": "yes"}, "'success' must be true or false"),
    ({"tags": "write"}, "'tags' must be a list of strings"),
    ({"f1": 1.5}, "'f1' must be a number from 0 to 1"),
    ({"tokens": {"tool_output": "many"}}, "'tokens.tool_output' must be a whole number"),
    ({"checks": [{"kind": "call", "ok": 1}]}, "'checks[0].ok' must be true or false"),
    ({"transcript": ["hello"]}, "'transcript[0]' must be an object"),
    ({"latency_ms": True}, "'latency_ms' must be a number"),
    ({"repeat": -1}, "'repeat' must be a whole number (0 or more)"),
])
def test_record_names_the_field_that_does_not_fit(fields: dict[str, Any], named: str) -> None:
    bad = {**make_row("t", True), **fields}
    with pytest.raises(ValueError, match=re.escape(named)):
        record(bad)
    with pytest.raises(ResultsError, match="result row 1"):
        records([make_row("ok", True), bad])
