"""Audit store benchmark: audited calls per second on SQLite and on PostgreSQL.

    python -m benchmarks.audit --out benchmarks/results/audit.json

One audited call is what the guard writes for an allowed call: ``begin`` (the intent),
``decide``, ``finish`` — three transactions, each committed durably (SQLite in WAL mode with
synchronous=FULL; PostgreSQL with fsync and synchronous_commit on, over TCP on loopback). The
PostgreSQL server is a throwaway one started from the Debian binaries, as the tests start it
(tests/tools/postgres.py); it is skipped, with the reason, where there are none.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.tools import postgres
from tools.audit import AuditStore

WRITERS = 4
ARGUMENTS = {"kind": "deployment", "name": "todo-backend", "namespace": "todo-app", "replicas": 3}


def _call(store: AuditStore, i: int) -> None:
    call_id = store.begin(caller="bench:runner", source="bench", session=None, tool="scale", risk="write",
                          arguments=ARGUMENTS | {"i": i}, context="sandbox")
    store.decide(call_id, decision="allow", command="kubectl scale deployment/todo-backend --replicas=3")
    store.finish(call_id, outcome="ok", result="replicas: 3", duration_ms=1.0)


def _one_writer(url: str, calls: int) -> dict[str, float]:
    store = AuditStore(url)
    try:
        _call(store, -1)  # connections and statement caches warm
        samples = []
        start = time.perf_counter()
        for i in range(calls):
            t0 = time.perf_counter()
            _call(store, i)
            samples.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    ordered = sorted(samples)
    return {"calls": calls, "calls_per_second": round(calls / elapsed, 1),
            "writes_per_second": round(3 * calls / elapsed, 1),
            "call_p50_ms": round(statistics.median(ordered) * 1000, 2),
            "call_p99_ms": round(ordered[round(0.99 * (len(ordered) - 1))] * 1000, 2)}


def _many_writers(url: str, calls: int, writers: int = WRITERS) -> dict[str, float]:
    """``writers`` threads, each with a store (engine) of its own, as separate kai processes."""
    stores = [AuditStore(url) for _ in range(writers)]
    barrier = threading.Barrier(writers + 1)
    each = calls // writers

    def work(store: AuditStore) -> None:
        barrier.wait()
        for i in range(each):
            _call(store, i)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for s in stores:
        s.close()
    done = each * writers
    return {"writers": writers, "calls": done, "calls_per_second": round(done / elapsed, 1),
            "writes_per_second": round(3 * done / elapsed, 1)}


def _measure(url: str, calls: int) -> dict[str, Any]:
    result: dict[str, Any] = {"one_writer": _one_writer(url, calls),
                              f"{WRITERS}_writers": _many_writers(url, calls)}
    store = AuditStore(url)
    try:
        result["rows"] = len(store.records(limit=10 * calls + 10))  # nothing lost:
        result["rows_expected"] = 1 + calls + result[f"{WRITERS}_writers"]["calls"]
    finally:
        store.close()
    return result


def run(calls: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = _measure(f"sqlite:///{Path(tmp) / 'kai.db'}", calls)
    results["sqlite"]["settings"] = "file, WAL, synchronous=FULL"
    reason = postgres.unavailable()
    if reason:
        results["postgresql"] = {"skipped": reason}
    else:
        with postgres.PostgresServer(fsync=True) as server:
            results["postgresql"] = _measure(server.create_database("bench"), calls)
            results["postgresql"]["settings"] = (f"PostgreSQL {server.bin.parent.name}, fsync=on, "
                                                 "synchronous_commit=on, TCP on loopback, psycopg 3")
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}
    return results


def markdown(results: dict[str, Any]) -> str:
    rows = ["| database | calls/s (1 writer) | writes/s (1 writer) | call p50 ms | call p99 ms "
            f"| calls/s ({WRITERS} writers) |", "|---|---|---|---|---|---|"]
    for name in ("sqlite", "postgresql"):
        r = results[name]
        if "skipped" in r:
            rows.append(f"| {name} | skipped: {r['skipped']} | | | | |")
            continue
        one, many = r["one_writer"], r[f"{WRITERS}_writers"]
        rows.append(f"| {name} | {one['calls_per_second']} | {one['writes_per_second']} | {one['call_p50_ms']} "
                    f"| {one['call_p99_ms']} | {many['calls_per_second']} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/audit.json"))
    parser.add_argument("--calls", type=int, default=2000, help="audited calls per measure")
    args = parser.parse_args()
    results = run(args.calls)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
