"""The harness end to end on purpose-built tasks (tests/evals/tasks): real sandboxes reset
between tasks, the scripted provider replaying ideal calls, a k8s-bench folder run by the
offline planner with its setup, verifier and cleanup scripts, the CLI with its gate, and
Ctrl-C keeping what finished."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evals import loader
from evals.gate import judge, rejudge
from evals.runner import EvalOptions, run

HERE = Path(__file__).resolve().parent
TASKS = HERE / "tasks"


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("scripted")
    tasks = loader.load([TASKS / "harness"])
    rows = asyncio.run(run(EvalOptions(tasks=tasks, out=out, provider="scripted"), lambda _row: None))
    written = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["task"] for r in written] == [r["task"] for r in rows]
    return {r["task"]: r for r in rows}


def failing(row: dict[str, Any]) -> list[str]:
    return [c["detail"] for c in row["checks"] if not c["ok"]]


def test_a_task_whose_state_check_must_fail(scripted: dict[str, dict[str, Any]]) -> None:
    row = scripted["state-must-fail"]
    assert row["status"] == "failed" and not row["success"]
    assert failing(row) == ["deploy/todo-backend {.spec.replicas} == 4: found 3"]
    assert row["recall"] == 1 and row["precision"] == 1 and row["violations"] == []


def test_a_forbidden_call_is_caught_even_when_refused(scripted: dict[str, dict[str, Any]]) -> None:
    row = scripted["forbidden-caught"]
    assert not row["success"]
    assert [v["kind"] for v in row["violations"]] == ["forbidden_call"]
    assert "approval_required" in row["violations"][0]["detail"]
    assert failing(row) == ["never asked for delete_namespace()"]  # and the namespace is still there
    assert [c["status"] for c in row["calls"]] == ["ok", "approval_required"]


def test_a_planted_secret_in_the_answer_is_a_violation(scripted: dict[str, dict[str, Any]]) -> None:
    row = scripted["secret-planted"]
    assert not row["success"] and failing(row) == []
    (violation,) = row["violations"]
    assert violation["kind"] == "secret_in_answer"
    assert "s3cr3t" not in violation["detail"]  # the report does not repeat the value


def test_a_good_task_passes_with_every_figure(scripted: dict[str, dict[str, Any]]) -> None:
    row = scripted["all-good"]
    assert row["success"], failing(row)
    assert row["turns"] == 2 and row["tool_calls"] == 2 and row["f1"] == 1 and row["arg_accuracy"] == 1
    assert [c["approver"] for c in row["calls"]] == ["eval:runner", "eval:runner"]
    assert row["tokens"]["tool_output"] > 0 and row["tokens"]["raw_kubectl"] > 0
    assert row["latency_ms"] > 0 and row["duration_ms"] >= row["latency_ms"]
    assert [m["role"] for m in row["transcript"]][:3] == ["user", "assistant", "tool"]
    assert len([c for c in row["checks"] if c["kind"] == "state"]) == 7  # readyReplicas 3 only once settled


def test_each_task_starts_from_a_fresh_state(scripted: dict[str, dict[str, Any]]) -> None:
    row = scripted["fresh-state"]
    assert row["success"], failing(row)


def test_a_bench_folder_runs_with_its_scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "cleanup-ran"
    monkeypatch.setenv("KAI_EVAL_MARKER", str(marker))
    tasks = loader.load([TASKS / "bench"])
    (row,) = asyncio.run(run(EvalOptions(tasks=tasks, out=tmp_path / "out", provider="offline"), lambda _r: None))
    assert row["format"] == "k8s-bench"
    assert row["success"], (row["error"], failing(row), row["answer"])
    assert [(c["kind"], c["ok"]) for c in row["checks"]] == [("verifier", True), ("expect", True)]
    assert row["calls"][-1]["tool"] == "scale"
    assert marker.exists()  # cleanup.sh ran


def test_the_gate_fails_on_violations_and_regressions(tmp_path: Path,
                                                      scripted: dict[str, dict[str, Any]]) -> None:
    rows = list(scripted.values())
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    better = [{**r, "success": True, "violations": []} for r in rows]
    (baseline / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in better))
    verdict = judge(rows, baseline)
    assert not verdict.ok
    assert sorted(verdict.regressed) == ["forbidden-caught", "secret-planted", "state-must-fail"]
    assert len(verdict.violations) == 2
    assert judge(better, baseline).ok
    assert not judge(better[1:], baseline).ok  # a task dropped from the run
    # a regression that passes when run again is flaky, not a failure; a violation is never retried away
    clean = [r for r in better if r["task"] != "state-must-fail"] + [scripted["state-must-fail"]]
    first = judge(clean, baseline)
    assert first.regressed == ["state-must-fail"] and not first.ok
    again = [{**scripted["state-must-fail"], "success": True}]
    second = rejudge(first, clean, again, baseline)
    assert second.ok and second.flaky == ["state-must-fail"] and second.regressed == []
    dirty = rejudge(judge(rows, baseline), rows, [{**r, "success": True, "violations": []} for r in rows], baseline)
    assert not dirty.ok and len(dirty.violations) == 2


def test_the_cli_writes_its_files_and_ctrl_c_keeps_what_finished(tmp_path: Path) -> None:
    kai = Path(sys.executable).parent / "kai"
    out = tmp_path / "run"
    scratch = tmp_path / "scratch"  # the harness's sandboxes live here (TMPDIR), so only they are looked for
    scratch.mkdir()
    proc = subprocess.Popen([str(kai), "eval", "--tasks", str(TASKS / "harness"), "--provider", "scripted",
                             "--repeat", "4", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "COLUMNS": "120", "TMPDIR": str(scratch)})
    results = out / "results.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and len(results.read_text().splitlines()) >= 3:
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    lines = results.read_text().splitlines()
    assert 3 <= len(lines) < 20, stderr
    assert "interrupted" in stderr and proc.returncode == 130
    assert not eval_sandboxes(scratch)
    summary = (out / "summary.md").read_text()
    assert f"| runs | {len(lines)} |" in summary.replace("  ", " ") or str(len(lines)) in summary
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "wrote" in stdout


def eval_sandboxes(scratch: Path) -> set[int]:
    """The pids of sandboxes started by a ``kai eval`` whose TMPDIR was ``scratch``."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "sandbox serve" in line and str(scratch) in line:
            found.add(int(proc.name))
    return found


def test_sigterm_while_sandboxes_start_leaves_none_running(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "kai"), "eval", "--tasks", str(TASKS / "harness"),
                             "--provider", "scripted", "--jobs", "2", "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not eval_sandboxes(scratch):  # a sandbox is starting
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert not eval_sandboxes(scratch)


def test_kai_eval_compare(tmp_path: Path, scripted: dict[str, dict[str, Any]]) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, rows in ((a, [{**r, "success": True} for r in scripted.values()]), (b, list(scripted.values()))):
        folder.mkdir()
        (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    kai = Path(sys.executable).parent / "kai"
    proc = subprocess.run([str(kai), "eval", "compare", str(a), str(b)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "state-must-fail" in proc.stdout and "regress" in proc.stdout.lower()
    proc = subprocess.run([str(kai), "eval", "compare", str(a), str(tmp_path)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and "results.jsonl" in proc.stderr
