"""The whole eval dataset with the offline provider, as ``make eval`` runs it:

    python -m benchmarks.evals --out benchmarks/results/evals.json

``kai eval --jobs 2`` (goal: 150 tasks in ≤ 60 s on a 2-core machine) and ``--jobs 1`` for the
ratio, each a fresh process timed from start to exit: sandbox start-up, the todo stack's
Helm install, every task on a restored snapshot, the reports. Also the split of one task's
time (setup and checks around the agent) from the rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.report import write_report

KAI = Path(sys.executable).parent / "kai"


def _run(jobs: int, out: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(KAI), "eval", "--jobs", str(jobs), "--out", str(out)], capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"kai eval failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    durations = [r["duration_ms"] for r in rows]
    agent = [r["latency_ms"] for r in rows]
    tasks_wall = (max(r["ended_at"] for r in rows) - min(r["started_at"] for r in rows))
    return {
        "jobs": jobs, "tasks": len(rows), "passed": sum(r["success"] for r in rows),
        "wall_s": round(wall, 2), "tasks_wall_s": round(tasks_wall, 2), "start_up_s": round(wall - tasks_wall, 2),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
        "task_median_ms": round(statistics.median(durations), 1),
        "task_p90_ms": round(sorted(durations)[int(len(durations) * 0.9) - 1], 1),
        "agent_median_ms": round(statistics.median(agent), 1),
        "setup_and_checks_share": round(1 - sum(agent) / sum(durations), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kai-bench-evals-") as tmp:
        two = _run(2, Path(tmp) / "jobs2")
        one = _run(1, Path(tmp) / "jobs1")
    results = {"jobs_2": two, "jobs_1": one, "speed_up_jobs_2": round(one["wall_s"] / two["wall_s"], 2),
               "goal_150_tasks_60s_jobs_2": two["tasks"] >= 150 and two["wall_s"] <= 60}
    write_report("evals", 1, results, opts.out)


if __name__ == "__main__":
    main()
