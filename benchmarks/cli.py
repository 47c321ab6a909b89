"""The one-shot CLI against kubectl on the same sandbox, and kai's start-up:

    python -m benchmarks.cli --out benchmarks/results/cli.json

- ``kai --quiet --skip-permissions "scale backend to 3"`` (offline planner: parse, resolve the
  name, server-side dry run for the preview, approve, apply, three audit transactions in a
  SQLite file, the answer) against ``kubectl scale deployment/todo-backend -n todo-app
  --replicas=3``, each a fresh process, interleaved and alternating 3 and 2 replicas so each
  run changes the cluster; goal: ratio of medians ≤ 1.5.
- ``kai --help`` wall time (goal ≤ 150 ms): nothing heavy is imported for it.
- What a one-shot run cannot go below: the interpreter starting (``python -c pass``) and the
  imports of the one-shot path (``python -c "import …"``), each a fresh process too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.report import write_report
from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tools import helm

CHART = Path(__file__).resolve().parents[1] / "helm" / "todo-app"
ONE_SHOT_IMPORTS = ("import app.cli, app.ask_cmd, app.chat, app.approval, app.render, agent.runner, agent.sessions, "
                    "agent.offline.provider, tools.catalog, tools.policy, kubernetes.client, kubernetes.config, "
                    "rich.console")
BIN = Path(sys.executable).parent


def _timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1), "min_ms": round(ordered[0] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", type=Path)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kai-bench-cli-") as tmp:
        state = Path(tmp) / "sandbox"
        running = control.up(state, options=ClusterOptions())
        try:
            helm.install(running.kubeconfig, CHART, "todo-app", "todo-app", wait=True, timeout=120)
            env = {**os.environ, "KUBECONFIG": str(running.kubeconfig), "KAI_STATE_DIR": str(Path(tmp) / "kai"),
                   "KUBECACHEDIR": str(Path(tmp) / "cache"), "KAI_LLM_PROVIDER": "offline"}
            kai, kubectl = str(BIN / "kai"), str(BIN / "kubectl")
            _timed([kubectl, "get", "deploy", "-n", "todo-app"], env)  # warm kubectl's discovery cache
            samples: dict[str, list[float]] = {"kai": [], "kubectl": [], "help": [], "python_startup": [],
                                               "one_shot_imports": []}
            for i in range(opts.rounds):
                count = "3" if i % 2 == 0 else "2"
                samples["kubectl"].append(_timed([kubectl, "scale", "deployment/todo-backend", "-n", "todo-app",
                                                  f"--replicas={count}"], env))
                samples["kai"].append(_timed([kai, "--quiet", "--skip-permissions", "-n", "todo-app",
                                              f"scale backend to {'2' if count == '3' else '3'}"], env))
                samples["help"].append(_timed([kai, "--help"], env))
                samples["python_startup"].append(_timed([sys.executable, "-c", "pass"], env))
                samples["one_shot_imports"].append(_timed([sys.executable, "-c", ONE_SHOT_IMPORTS], env))
        finally:
            control.down(state)
    results: dict[str, Any] = {name: _ms(values) for name, values in samples.items()}
    results["ratio_kai_to_kubectl"] = round(results["kai"]["median_ms"] / results["kubectl"]["median_ms"], 2)
    write_report("cli", opts.rounds, results, opts.out, goals={"ratio_kai_to_kubectl": 1.5, "help_ms": 150})


if __name__ == "__main__":
    main()
