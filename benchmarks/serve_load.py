"""``kai serve`` under load: signed slash commands on loopback at a fixed rate, over many
connections, then the database stopped.

    python -m benchmarks.serve_load --out benchmarks/results/serve_load.json

A sandbox with the todo stack (Helm), a response-URL sink in a process of its own
(:mod:`benchmarks.slack_load`), and ``kai serve`` as a child process (offline provider, the
load users bound to the viewer role, a high per-user rate). For SQLite (a file, WAL,
synchronous=FULL) and PostgreSQL (a throwaway server, fsync on; skipped where there is none):

- load: ``--rate`` commands a second for ``--seconds`` from an open-loop generator (each due
  at its time whatever the others do; latency counted from the due time), each a unique
  ``/kai show pods in todo-app`` from one of ``--users`` Slack users, over a pool of up to
  ``--connections`` keep-alive connections. Acknowledgement latency p50/p90/p99/max; goal:
  p99 ≤ 100 ms at 200 requests a second.
- nothing lost: once every command ran, accepted acknowledgements = inbox rows done = audit
  rows (the offline planner answers ``show pods`` with one read, so one row a command) = new
  sessions = response-URL posts (one answer a command, none twice, none for a refused one).
- PostgreSQL only, the database stopped: ``/readyz`` answers 503 naming the database; each
  command gets the clear refusal (200, ephemeral, "its database does not answer") and, once
  the database is back, none of them left an inbox row, an audit row or a post; commands
  after the restart run again.

The figures depend on what else the machine runs (each run records the 1-minute load average
before its load). Most of the wall time is the wait for every command to run: kai answers far
fewer commands a second than it acknowledges, so the queue built during the load drains after it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks.report import write_report
from benchmarks.slack_load import Fired, Sink, command, run_fire, start_sink
from sandbox import control
from sandbox.controllers.manager import ClusterOptions
from tests.serve.slack import KaiServer, free_port, serve_env
from tests.tools import postgres

CHART = Path(__file__).resolve().parents[1] / "helm" / "todo-app"
NAMESPACE = "todo-app"
TEAM, CHANNEL = "TLOAD", "CLOAD"
PROMPT = f"show pods in {NAMESPACE}"
WORKING = "Working on it"
DATABASE_DOWN = "database does not answer"
GOAL_RATE, GOAL_P99_MS = 200.0, 100.0
SLACK_ACK_SECONDS = 3.0
POLICY = """
bindings:
  viewer: ["slack:TLOAD/*"]
chatops:
  channels: [CLOAD]
  requests_per_minute: 100000
"""


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)
    return {"p50_ms": _ms(statistics.median(ordered)), "p90_ms": _ms(_pct(ordered, 0.9)),
            "p99_ms": _ms(_pct(ordered, 0.99)), "max_ms": _ms(ordered[-1]), "mean_ms": _ms(statistics.fmean(ordered))}


# --- the database, as the benchmark reads it ---------------------------------------------------

class Ledger:
    """What kai wrote: inbox rows by state, audit rows and sessions of the benchmark's users."""

    def __init__(self, url: str) -> None:
        from app.serve.inbox import ServeStore

        self.store = ServeStore(url)

    def inbox(self, trigger_prefix: str) -> Counter[str]:
        from sqlalchemy import text

        with self.store.engine.connect() as db:
            rows = db.execute(text("SELECT state, count(*) FROM inbox WHERE id LIKE :p GROUP BY state"),
                              {"p": f"slack:command:{trigger_prefix}%"}).all()
        return Counter({str(state): int(n) for state, n in rows})

    def audit(self, user_prefix: str) -> dict[str, Any]:
        caller = f"slack:{TEAM}/{user_prefix}"
        rows = [r for r in self.store.records(limit=1_000_000) if r.caller.startswith(caller)]
        return {"rows": len(rows), "sessions": len({r.session for r in rows}),
                "by_tool_decision_outcome": dict(Counter(f"{r.tool}/{r.decision}/{r.outcome}" for r in rows))}

    def close(self) -> None:
        self.store.close()


# --- one kai serve ---------------------------------------------------------------------------

def start_kai(root: Path, url: str, kubeconfig: Path, workers: int) -> KaiServer:
    root.mkdir(parents=True, exist_ok=True)
    policy = root / "policy.yaml"
    policy.write_text(POLICY)
    env = serve_env(url, policy, KAI_WORKERS=str(workers))
    return KaiServer(free_port(), env, ["--kubeconfig", str(kubeconfig), "--namespace", NAMESPACE,
                                        "--log-level", "warning"], root / "serve.log").start()


def bodies(sink: Sink, tag: str, count: int, users: int, user_prefix: str) -> list[bytes]:
    """``count`` unique commands: trigger ``<tag>-<i>``, response URL ``/hooks/<tag>-<i>``."""
    return [command(PROMPT, team=TEAM, user=f"{user_prefix}{i % users:04d}", channel=CHANNEL,
                    trigger=f"{tag}-{i}", response_url=sink.url(f"{tag}-{i}")) for i in range(count)]


def server_seconds(kai: KaiServer) -> tuple[float, float]:
    """kai's own count and total seconds of /slack/commands requests (its /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    count = total = 0.0
    for family in text_string_to_metric_families(httpx.get(kai.url + "/metrics", timeout=30).text):
        for sample in family.samples:
            if sample.labels.get("route") != "/slack/commands":
                continue
            if sample.name == "kai_http_request_seconds_count":
                count = sample.value
            elif sample.name == "kai_http_request_seconds_sum":
                total = sample.value
    return count, total


def settle(done: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``done()`` (polled twice a second); raises after ``timeout``."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise TimeoutError
        time.sleep(0.5)
    return time.monotonic() - started


def tally(fired: Fired, sink: Sink, ledger: Ledger, tag: str, user_prefix: str, drain_timeout: float,
          ) -> dict[str, Any]:
    """Wait until every accepted command ran and answered, then count everything."""
    accepted = [i for i, s in enumerate(fired.shots) if s.status == 200 and WORKING in s.text]

    def finished() -> bool:
        states = ledger.inbox(tag)
        hooks = sink.hooks()
        answered = sum(1 for i in accepted if f"{tag}-{i}" in hooks)
        return states["done"] + states["failed"] >= len(accepted) and answered >= len(accepted)

    try:
        drain = round(settle(finished, drain_timeout), 1)
    except TimeoutError:
        drain = None
    time.sleep(1.0)  # anything posted twice, or late, shows now
    hooks = {name: hook for name, hook in sink.hooks().items() if name.startswith(f"{tag}-")}
    states = ledger.inbox(tag)
    audit = ledger.audit(user_prefix)
    answered = [hooks[f"{tag}-{i}"] for i in accepted if f"{tag}-{i}" in hooks]
    accepted_set = {f"{tag}-{i}" for i in accepted}
    end_to_end = [h.first_at - fired.clock_offset - fired.shots[i].due
                  for i in accepted if (h := hooks.get(f"{tag}-{i}"))]
    counts = {"sent": len(fired.shots), "accepted": len(accepted), "inbox_rows": sum(states.values()),
              "inbox_by_state": dict(states), "audit_rows": audit["rows"], "sessions": audit["sessions"],
              "audit_by_tool_decision_outcome": audit["by_tool_decision_outcome"],
              "posts": sum(h.posts for h in hooks.values()), "commands_answered": len(answered),
              "answered_twice": sum(1 for h in hooks.values() if h.posts > 1),
              "posts_for_unaccepted": sum(h.posts for n, h in hooks.items() if n not in accepted_set),
              "answers_not_a_pod_listing": sum(1 for h in answered if "pods" not in h.text),
              "drain_seconds_after_load": drain}
    n = len(accepted)
    counts["all_accepted"] = n == len(fired.shots)
    counts["nothing_lost"] = bool(
        counts["inbox_rows"] == n and states["done"] == n and counts["audit_rows"] == n and counts["sessions"] == n
        and counts["posts"] == n and counts["commands_answered"] == n and counts["posts_for_unaccepted"] == 0
        and counts["answers_not_a_pod_listing"] == 0)
    counts["answer_latency_from_due"] = latency(end_to_end)
    return counts


def acks(fired: Fired, rate: float, seconds: float) -> dict[str, Any]:
    shots = fired.shots
    answered = [s for s in shots if s.status]
    sent_span = max(s.sent for s in shots) - min(s.sent for s in shots)
    lag = [s.sent - s.due for s in shots]
    statuses = Counter(str(s.status) for s in shots)
    return {"requested_rate": rate, "seconds": seconds, "requests": len(shots),
            "achieved_send_rate": round((len(shots) - 1) / sent_span, 1) if sent_span > 0 else None,
            "achieved_ack_rate": round(len(answered) / (fired.finished - fired.started), 1),
            "latency_from_due": latency([s.latency for s in answered]),
            "over_3s_slack_limit": sum(1 for s in answered if s.latency > SLACK_ACK_SECONDS),
            "generator_lag_ms": {"p99": _ms(_pct(sorted(lag), 0.99)), "max": _ms(max(lag))},
            "statuses": dict(statuses), "transport_errors": fired.errors,
            "connections_opened": fired.connections_opened, "peak_in_flight": fired.peak_in_flight}


def warm_up(kai: KaiServer, sink: Sink, ledger: Ledger, tag: str, count: int = 20) -> None:
    """A few commands first: what kai imports or connects lazily is done before the clock runs."""
    fired = run_fire(kai.url + "/slack/commands", bodies(sink, tag, count, 4, "W"), rate=20, connections=8)
    if not all(s.status == 200 and WORKING in s.text for s in fired.shots):
        raise SystemExit(f"warm-up commands were refused: {[s.text for s in fired.shots][:3]}")
    settle(lambda: ledger.inbox(tag)["done"] == count, 60)


def load(kai: KaiServer, sink: Sink, ledger: Ledger, opts: argparse.Namespace, tag: str) -> dict[str, Any]:
    count = round(opts.rate * opts.seconds)
    sent = bodies(sink, tag, count, opts.users, "L")
    before = server_seconds(kai)
    fired = run_fire(kai.url + "/slack/commands", sent, rate=opts.rate, connections=opts.connections)
    after = server_seconds(kai)
    result = acks(fired, opts.rate, opts.seconds)
    handled = after[0] - before[0]
    result["server_side_mean_ms"] = _ms((after[1] - before[1]) / handled) if handled else None
    result["counts"] = tally(fired, sink, ledger, tag, "L", opts.drain_timeout)
    p99 = result["latency_from_due"].get("p99_ms", float("inf"))
    result["goal"] = {"p99_ms": GOAL_P99_MS, "at_rate": GOAL_RATE,
                      "met": bool(p99 <= GOAL_P99_MS and opts.rate >= GOAL_RATE
                                  and (result["achieved_send_rate"] or 0) >= 0.98 * opts.rate
                                  and result["statuses"] == {"200": count})}
    return result


# --- the database stopped ---------------------------------------------------------------------

def database_down(kai: KaiServer, sink: Sink, ledger: Ledger, server: postgres.PostgresServer,
                  refusals: int) -> dict[str, Any]:
    """Stop PostgreSQL under a running kai: /readyz, the refusals, nothing half-done once it is back."""
    server._halt()  # the server stops; its data stays (stop() would remove it)
    ready = httpx.get(kai.url + "/readyz", timeout=30)
    fired = run_fire(kai.url + "/slack/commands", bodies(sink, "down", refusals, refusals, "D"), rate=50,
                     connections=16)
    refused = [s for s in fired.shots if s.status == 200 and DATABASE_DOWN in s.text and WORKING not in s.text]
    time.sleep(2.0)  # a command that slipped in would be answered by now
    posts_while_down = sum(h.posts for n, h in sink.hooks().items() if n.startswith("down-"))
    if not server._launch():
        raise SystemExit(f"PostgreSQL did not start again: {server.log()[-2000:]}")
    back = settle(lambda: httpx.get(kai.url + "/readyz", timeout=30).status_code == 200, 60)
    time.sleep(1.0)
    posts_after = sum(h.posts for n, h in sink.hooks().items() if n.startswith("down-"))
    left = {"inbox_rows": sum(ledger.inbox("down").values()), "audit_rows": ledger.audit("D")["rows"],
            "posts": posts_after}
    after = run_fire(kai.url + "/slack/commands", bodies(sink, "after", 10, 10, "A"), rate=20, connections=8)
    recovered = tally(after, sink, ledger, "after", "A", 60)
    body = ready.json() if ready.headers.get("content-type", "").startswith("application/json") else {}
    checks = {
        "readyz_503_names_database": ready.status_code == 503 and any(
            str(p).startswith("database") for p in body.get("problems", [])),
        "every_command_refused_clearly": len(refused) == refusals,
        "nothing_half_done": posts_while_down == 0 and left == {"inbox_rows": 0, "audit_rows": 0, "posts": 0},
        "commands_run_again_after_restart": recovered["all_accepted"] and recovered["nothing_lost"],
    }
    return {"readyz": {"status": ready.status_code, "body": body}, "refusals_sent": refusals,
            "refused_clearly": len(refused), "refusal_statuses": dict(Counter(str(s.status) for s in fired.shots)),
            "refusal_text": fired.shots[0].text if fired.shots else "",
            "refusal_latency": latency([s.latency for s in fired.shots if s.status]),
            "left_behind_after_restart": left, "readyz_ok_again_after_s": round(back, 1),
            "after_restart": {k: recovered[k] for k in ("sent", "accepted", "inbox_rows", "audit_rows", "posts",
                                                           "all_accepted", "nothing_lost")},
            "checks": checks, "passed": all(checks.values())}


# --- the runs ---------------------------------------------------------------------------------

def run_database(name: str, url: str, root: Path, kubeconfig: Path, sink: Sink, opts: argparse.Namespace,
                 server: postgres.PostgresServer | None = None) -> dict[str, Any]:
    kai = start_kai(root / name, url, kubeconfig, opts.workers)
    ledger = Ledger(url)
    try:
        warm_up(kai, sink, ledger, f"warm-{name}")
        busy = os.getloadavg()[0]
        result = load(kai, sink, ledger, opts, f"load-{name}")
        result["load_average_1min_before"] = round(busy, 2)  # others' work on the machine shows here
        if server is not None:
            result["database_down"] = database_down(kai, sink, ledger, server, opts.refusals)
        return result
    finally:
        ledger.close()
        kai.stop()
        result_log = (root / name / "serve.log").read_text(errors="replace")
        if "Traceback" in result_log:
            print(f"--- {name}: kai serve's log has tracebacks (last 3000 characters) ---\n{result_log[-3000:]}")


def summary(results: dict[str, Any]) -> str:
    lines = []
    for name in ("sqlite", "postgresql"):
        r = results.get(name)
        if r is None:
            continue
        if "skipped" in r:
            lines.append(f"{name}: skipped ({r['skipped']})")
            continue
        lat, c = r["latency_from_due"], r["counts"]
        lines.append(f"{name}: {r['requests']} commands at {r['achieved_send_rate']}/s (asked {r['requested_rate']}), "
                     f"ack p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms, p99 {lat['p99_ms']} ms, "
                     f"max {lat['max_ms']} ms; goal p99 ≤ {GOAL_P99_MS:.0f} ms: "
                     f"{'met' if r['goal']['met'] else 'MISSED'}")
        lines.append(f"  accepted {c['accepted']}/{c['sent']} = inbox {c['inbox_rows']} = audit {c['audit_rows']} = "
                     f"posts {c['posts']}: {'nothing lost' if c['nothing_lost'] else 'MISMATCH'}; "
                     f"all answered {c['drain_seconds_after_load']} s after the load")
        if "database_down" in r:
            d = r["database_down"]
            lines.append(f"  database stopped: /readyz {d['readyz']['status']}, {d['refused_clearly']}/"
                         f"{d['refusals_sent']} refused clearly, left behind {d['left_behind_after_restart']}: "
                         f"{'passed' if d['passed'] else 'FAILED'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=GOAL_RATE, help="commands a second")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the load lasts")
    parser.add_argument("--connections", type=int, default=256, help="the generator's connection pool")
    parser.add_argument("--users", type=int, default=200, help="Slack users the commands come from")
    parser.add_argument("--workers", type=int, default=4, help="kai serve's KAI_WORKERS")
    parser.add_argument("--refusals", type=int, default=50, help="commands sent with the database stopped")
    parser.add_argument("--drain-timeout", type=float, default=180.0, help="seconds to wait for every answer")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path)
    opts = parser.parse_args()
    chosen = {d.strip() for d in opts.databases.split(",")}
    results: dict[str, Any] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kai-bench-serve-") as tmp:
        root = Path(tmp)
        state = root / "sandbox"
        running = control.up(state, options=ClusterOptions())
        sink = None
        try:
            from tools import helm

            helm.install(running.kubeconfig, CHART, "todo-app", NAMESPACE, wait=True, timeout=120)
            sink = start_sink(free_port(), root / "sink.log")
            if "sqlite" in chosen:
                results["sqlite"] = run_database("sqlite", f"sqlite:///{root / 'sqlite' / 'kai.db'}", root,
                                                 running.kubeconfig, sink, opts)
                results["sqlite"]["database"] = "SQLite file, WAL, synchronous=FULL"
            if "postgresql" in chosen:
                reason = postgres.unavailable()
                if reason:
                    results["postgresql"] = {"skipped": reason}
                else:
                    with postgres.PostgresServer(fsync=True) as server:
                        url = server.create_database("kai")
                        results["postgresql"] = run_database("postgresql", url, root, running.kubeconfig, sink,
                                                             opts, server)
                        results["postgresql"]["database"] = (f"PostgreSQL {server.bin.parent.name}, fsync=on, "
                                                             "synchronous_commit=on, TCP on loopback, psycopg 3")
        finally:
            if sink is not None:
                sink.stop()
            control.down(state)
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    write_report("serve_load", round(opts.rate * opts.seconds), results, opts.out,
                 goals={"ack_p99_ms": GOAL_P99_MS, "at_rate": GOAL_RATE},
                 settings={"connections": opts.connections, "users": opts.users, "kai_workers": opts.workers,
                           "prompt": PROMPT, "provider": "offline"},
                 cpus=os.cpu_count(), platform=platform.platform())
    print(summary(results))


if __name__ == "__main__":
    main()
