"""Sandbox API server benchmark: latency of GET, LIST, PATCH and watch delivery,
and write throughput, with 5,000 objects stored.

    make bench          # or: python -m benchmarks.sandbox_api --out FILE

Figures go to a JSON file and a Markdown table on stdout; README.md quotes them.
Targets (2-core machine): mutating p99 <= 50 ms, LIST of 1,000 pods <= 200 ms,
watch delivery <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import platform
import queue
import ssl
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from sandbox import control
from sandbox.controllers.manager import ClusterOptions

PODS = 1_000
CONFIGMAPS = 4_000
NS = "bench"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _client(sb: control.Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.url, timeout=30,
                        verify=ssl.create_default_context(cafile=str(sb.state / "ca.crt")),
                        headers={"Authorization": f"Bearer {control.token_of(sb.state)}"})


def _pod(i: int) -> dict[str, Any]:
    return {"metadata": {"name": f"pod-{i:04d}", "labels": {"app": "bench", "shard": str(i % 10)}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
                                     "ports": [{"containerPort": 80}],
                                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2),
            "n": len(ordered)}


def _time(n: int, call: Callable[[int], None]) -> dict[str, float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - start)
    return _percentiles(samples)


def _seed(http: httpx.Client) -> None:
    http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).raise_for_status()
    for i in range(PODS):
        http.post(f"/api/v1/namespaces/{NS}/pods", json=_pod(i)).raise_for_status()
    for i in range(CONFIGMAPS):
        http.post(f"/api/v1/namespaces/{NS}/configmaps",
                  json={"metadata": {"name": f"cm-{i:04d}"}, "data": {"k": "v" * 64}}).raise_for_status()


def _watch_latency(sb: control.Sandbox, n: int) -> dict[str, float]:
    arrivals: queue.Queue[tuple[str, float]] = queue.Queue()
    rv = _client(sb).get(f"/api/v1/namespaces/{NS}/configmaps?limit=1").json()["metadata"]["resourceVersion"]

    def read() -> None:
        with _client(sb) as http, http.stream(
                "GET", f"/api/v1/namespaces/{NS}/configmaps?watch=true&resourceVersion={rv}"
                       f"&timeoutSeconds=120") as reply:
            for line in reply.iter_lines():
                if not line:
                    continue
                event = json.loads(line)
                arrivals.put((event["object"]["metadata"]["name"], time.perf_counter()))
                if event["object"]["metadata"]["name"] == f"watch-{n - 1}":
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.5)
    samples = []
    with _client(sb) as http:
        for i in range(n):
            sent = time.perf_counter()
            http.post(f"/api/v1/namespaces/{NS}/configmaps",
                      json={"metadata": {"name": f"watch-{i}"}}).raise_for_status()
            name, arrived = arrivals.get(timeout=10)
            assert name == f"watch-{i}"
            # From sending the create to the watcher holding the event: an upper bound on
            # delivery, since it includes the create's own handling.
            samples.append(arrived - sent)
    reader.join(5)
    return _percentiles(samples)


def _writes_per_second(sb: control.Sandbox, seconds: float = 3.0, threads: int = 4) -> float:
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def write(t: int) -> None:
        with _client(sb) as http:
            while time.perf_counter() < deadline:
                http.post(f"/api/v1/namespaces/{NS}/configmaps",
                          json={"metadata": {"name": f"w-{t}-{counts[t]}"}}).raise_for_status()
                counts[t] += 1

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return round(sum(counts) / (time.perf_counter() - start), 1)


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        sb = control.up(Path(tmp) / "state", options=ClusterOptions(controllers=False))
        try:
            with _client(sb) as http:
                t0 = time.perf_counter()
                _seed(http)
                seed_s = time.perf_counter() - t0
                pods = f"/api/v1/namespaces/{NS}/pods"
                results: dict[str, Any] = {
                    "objects_stored": PODS + CONFIGMAPS,
                    "seed_seconds": round(seed_s, 1),
                    "get_pod": _time(500, lambda i: http.get(f"{pods}/pod-{i % PODS:04d}").raise_for_status()),
                    "list_1000_pods_json": _time(30, lambda i: http.get(pods).raise_for_status()),
                    "list_1000_pods_table": _time(
                        30, lambda i: http.get(pods, headers={"Accept": TABLE}).raise_for_status()),
                    "patch_pod": _time(500, lambda i: http.patch(
                        f"{pods}/pod-{i % PODS:04d}", content=json.dumps(
                            {"metadata": {"labels": {"round": str(i)}}}),
                        headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()),
                    "create_configmap": _time(300, lambda i: http.post(
                        f"/api/v1/namespaces/{NS}/configmaps",
                        json={"metadata": {"name": f"c-{i}"}}).raise_for_status()),
                }
            results["watch_delivery"] = _watch_latency(sb, 200)
            results["writes_per_second_4_clients"] = _writes_per_second(sb)
        finally:
            control.down(Path(tmp) / "state")
    results["targets"] = {
        "mutating_p99_ms": 50, "list_1000_pods_ms": 200, "watch_delivery_ms": 20,
        "met": {
            "mutating_p99": max(results["patch_pod"]["p99_ms"], results["create_configmap"]["p99_ms"]) <= 50,
            "list_1000_pods": max(results["list_1000_pods_json"]["p99_ms"],
                                  results["list_1000_pods_table"]["p99_ms"]) <= 200,
            "watch_delivery": results["watch_delivery"]["p99_ms"] <= 20,
        },
    }
    results["machine"] = {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                          "platform": platform.platform()}
    return results


def markdown(results: dict[str, Any]) -> str:
    rows = ["| measure | p50 ms | p99 ms |", "|---|---|---|"]
    for key in ("get_pod", "list_1000_pods_json", "list_1000_pods_table", "patch_pod", "create_configmap",
                "watch_delivery"):
        r = results[key]
        rows.append(f"| {key.replace('_', ' ')} | {r['p50_ms']} | {r['p99_ms']} |")
    rows.append(f"| writes per second (4 clients) | {results['writes_per_second_4_clients']} | |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sandbox_api.json"))
    args = parser.parse_args()
    results = run()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"targets met: {results['targets']['met']}")


if __name__ == "__main__":
    main()
