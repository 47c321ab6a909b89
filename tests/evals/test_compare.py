"""evals.compare and evals.results: two run folders side by side, and the results.jsonl they hold."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evals.compare import compare_rows, compare_runs, render_comparison
from evals.results import ResultsError, append_row, read_rows
from tests.evals.test_aggregate import make_row, runs_of
from tools.errors import KaiError


def write_run(folder: Path, rows: list[dict[str, Any]]) -> Path:
    for row in rows:
        append_row(folder / "results.jsonl", row)
    return folder


def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    before = (runs_of("scale-backend-to-3", [True, True, True], latency_ms=200.0)
              + runs_of("why-crashloop", [False, False, True], latency_ms=300.0)
              + runs_of("steady", [True, False, True])
              + runs_of("dropped-task", [True, True, True]))
    after = (runs_of("scale-backend-to-3", [True, False, False], latency_ms=400.0,
                     violations=[{"kind": "unapproved_write", "detail": "scale without approval"}])
             + runs_of("why-crashloop", [True, True, True], latency_ms=300.0)
             + runs_of("steady", [False, True, True])
             + runs_of("new-task", [True, True, True]))
    return write_run(tmp_path / "a", before), write_run(tmp_path / "b", after)


def test_compare_lists_a_regression_and_an_improvement(tmp_path: Path) -> None:
    a, b = two_runs(tmp_path)
    result = compare_runs(a, b)
    assert [t.task for t in result.regressed] == ["scale-backend-to-3"]
    assert (result.regressed[0].successes_a, result.regressed[0].successes_b) == (3, 1)
    assert result.regressed[0].change == pytest.approx(-2 / 3)
    assert [t.task for t in result.improved] == ["why-crashloop"]
    assert [t.task for t in result.unchanged] == ["steady"]
    assert result.only_a == ["dropped-task"]
    assert result.only_b == ["new-task"]
    assert result.has_regressions
    assert (result.runs_a, result.runs_b) == (12, 12)
    deltas = {d.name: d for d in result.deltas}
    assert deltas["success rate"].a == pytest.approx(9 / 12)
    assert deltas["success rate"].b == pytest.approx(9 / 12)
    assert deltas["success rate"].change == pytest.approx(0.0)
    assert deltas["violations"].change == 3
    assert deltas["violations"].worse
    assert deltas["median latency"].a == pytest.approx(200.0)
    assert deltas["median tool-output tokens"].change == 0
    assert deltas["mean F1"].b is not None


def test_comparison_text_prints_without_a_terminal(tmp_path: Path) -> None:
    a, b = two_runs(tmp_path)
    text = render_comparison(compare_runs(a, b))
    assert f"A: {a} (12 runs)" in text
    assert "regressed (1): succeeding less often in B" in text
    assert "scale-backend-to-3  3/3 (100.0%) → 1/3 (33.3%)" in text
    assert "improved (1)" in text
    assert "why-crashloop       1/3 (33.3%) → 3/3 (100.0%)" in text
    assert "only in A (1)\n  dropped-task" in text
    assert "only in B (1)\n  new-task" in text
    assert "+3  (worse)" in text
    assert "\x1b[" not in text


def test_compare_rows_with_no_overlap_and_no_runs() -> None:
    result = compare_rows([make_row("x", True)], [], "old", "new")
    assert result.only_a == ["x"]
    assert result.regressed == result.improved == []
    success = result.deltas[0]
    assert (success.name, success.b, success.change) == ("success rate", None, None)
    assert "–" in render_comparison(result)


def test_a_folder_without_results_is_an_error(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", runs_of("t", [True]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match=r"empty: no results\.jsonl in this run folder") as caught:
        compare_runs(a, tmp_path / "empty")
    assert isinstance(caught.value, KaiError)
    with pytest.raises(ResultsError, match="missing: no such run folder"):
        compare_runs(tmp_path / "missing", a)


def test_a_malformed_line_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", runs_of("t", [True]))
    b = write_run(tmp_path / "b", runs_of("t", [True, False]))
    with (b / "results.jsonl").open("a", encoding="utf-8") as out:
        out.write('{"task": "t", "success": tru\n')
    with pytest.raises(ResultsError, match=rf"{b / 'results.jsonl'}:3: not a JSON line"):
        compare_runs(a, b)


@pytest.mark.parametrize(("line", "message"), [
    ('["task", "t"]', "a row must be a JSON object, not list"),
    ('{"success": true}', "field 'task' is required"),
    ('{"task": "t", "success": true, "tokens": {"tool_output": -1.5}}',
     "field 'tokens.tool_output' must be a whole number (0 or more), not -1.5"),
    ('{"task": "t", "success": true, "latency_ms": -3}', "field 'latency_ms' must be a number (0 or more), not -3"),
])
def test_a_row_that_does_not_fit_is_an_error_naming_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "results.jsonl"
    append_row(path, make_row("t", True))
    with path.open("a", encoding="utf-8") as out:
        out.write("\n" + line + "\n")  # a blank line is skipped but counted
    with pytest.raises(ResultsError, match=re.escape(f"{path}:3: {message}")):
        read_rows(path)


def test_append_row_writes_whole_lines_at_once(tmp_path: Path) -> None:
    path = tmp_path / "run" / "results.jsonl"
    first = make_row("t", True, answer="héllo\nworld </script>")
    append_row(path, first)
    # on disk before any close or exit: the next reader sees the full row
    assert path.read_text(encoding="utf-8").count("\n") == 1
    append_row(path, make_row("t", False, repeat=1))
    rows = read_rows(path.parent)
    assert rows[0] == first
    assert [row["repeat"] for row in rows] == [0, 1]
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["answer"] == "héllo\nworld </script>"


def test_append_row_refuses_what_json_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    with pytest.raises(ResultsError, match="task 't' is not JSON-serialisable"):
        append_row(path, make_row("t", True, latency_ms=float("nan")))
    with pytest.raises(ResultsError, match="not JSON-serialisable"):
        append_row(path, make_row("t", True, calls=[{"tool": "scale", "arguments": {1, 2}}]))
    assert not path.exists()
