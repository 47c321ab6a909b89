"""Sandbox workload benchmark: how fast the simulated cluster brings workloads up, and
what it costs in memory.

    make bench          # or: python -m benchmarks.workloads --out FILE

- the todo stack: Helm install (waiting for every pod) until all 4 pods are Ready, at
  the default speed (10), median of 3 fresh sandboxes;
- a Deployment scaled from 1 to 200 replicas until all are Ready (2 nodes);
- the sandbox process's resident memory with 2,000 running pods (3 nodes taking 700
  pods each), and how long they took to be Ready.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tools import helm

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "todo-app"


def _kubectl(kubeconfig: Path, *args: str, timeout: float = 600) -> str:
    binary = Path(sys.executable).parent / "kubectl"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(kubeconfig.parent / "cache")}
    return subprocess.run([str(binary), *args], env=env, capture_output=True, text=True, check=True,
                          timeout=timeout).stdout


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def todo_install(runs: int = 3) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            sb = control.up(Path(tmp) / "s")
            try:
                start = time.perf_counter()
                helm.install(sb.kubeconfig, CHART, "todo-app", "todo-app", wait=True, timeout=300)
                times.append(time.perf_counter() - start)
                ready = _kubectl(sb.kubeconfig, "get", "pods", "-n", "todo-app", "--no-headers")
                assert ready.count("Running") == 4, ready
            finally:
                control.down(Path(tmp) / "s")
    return {"median_s": round(statistics.median(times), 2), "runs_s": [round(t, 2) for t in times]}


def scale_to(replicas: int, nodes: int, max_pods: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        sb = control.up(Path(tmp) / "s", options=ClusterOptions(nodes=nodes, max_pods=max_pods))
        try:
            kc = sb.kubeconfig
            _kubectl(kc, "create", "deployment", "load", "--image=nginx:1.25", "--replicas=1")
            _kubectl(kc, "rollout", "status", "deploy/load", "--timeout=120s")
            start = time.perf_counter()
            _kubectl(kc, "scale", "deploy/load", f"--replicas={replicas}")
            _kubectl(kc, "rollout", "status", "deploy/load", "--timeout=1200s", timeout=1300)
            took = time.perf_counter() - start
            ready = json.loads(_kubectl(kc, "get", "deploy", "load", "-o", "json"))["status"]["readyReplicas"]
            assert ready == replicas, ready
            assert sb.pid is not None
            return {"replicas": replicas, "nodes": nodes, "seconds_to_ready": round(took, 2),
                    "sandbox_rss_mib": _rss_mib(sb.pid)}
        finally:
            control.down(Path(tmp) / "s")


def run() -> dict[str, Any]:
    return {
        "speed": 10,
        "todo_install_to_ready": todo_install(),
        "scale_1_to_200": scale_to(200, nodes=2, max_pods=110),
        "pods_2000": scale_to(2000, nodes=3, max_pods=700),
        "machine": {"cpus": os.cpu_count()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/workloads.json"))
    args = parser.parse_args()
    results = run()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
