"""Offline planner latency: the time the ``offline`` provider takes for one turn, over every
phrasing of its tests (the seed's prompts, the further phrasings, the prompts it refuses or
asks about), and for the answer turns it writes from tool results.

    python -m benchmarks.offline_planner --out benchmarks/results/offline_planner.json

Each prompt's first turn (parse, plan, the tool calls) is timed ``--rounds`` times after one
warm-up; so is the last turn of a few conversations whose tool results are given (a table
read, a diagnosis with its logs and events, a follow-up in a longer conversation). No cluster:
the planner never touches one. Goal: p95 ≤ 5 ms per prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import tools.catalog  # noqa: F401  (every tool registered)
from agent.messages import Message, ToolCall
from agent.offline import OfflineProvider
from agent.provider import ModelRequest, ProviderSettings
from benchmarks.report import write_report
from tests.agent.planner_corpus import BACKOFF, DIAGNOSIS, PHRASINGS, PREVIOUS_LOG, REFUSE, SCALED, SEED
from tools.budget import render
from tools.registry import REGISTRY

GOAL_P95_MS = 5.0
SCHEMAS = [t.schema() for t in REGISTRY]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(ordered[round(0.95 * (len(ordered) - 1))] * 1000, 3),
            "max_ms": round(ordered[-1] * 1000, 3)}


def _conversations() -> dict[str, list[Message]]:
    """Conversations whose next turn is an answer written from tool results."""

    def answered(prompt: str, calls: list[tuple[str, dict[str, Any], dict[str, Any]]],
                 before: list[Message] | None = None) -> list[Message]:
        messages = [*(before or []), Message.user(prompt)]
        for n, (tool, args, result) in enumerate(calls):
            call = ToolCall(id=f"kai-{len(before or [])}-0-{n}-0", name=tool, arguments=args)
            messages += [Message(role="assistant", tool_calls=[call]), Message.tool_result(call, render(result), "ok")]
        return messages

    pods = {"kind": "Pod", "scope": "namespace todo-app", "total": 40, "by_status": {"Running": 40},
            "items": [{"name": f"todo-backend-7f76cf774c-{i:05d}", "ready": "1/1", "status": "Running", "restarts": 0,
                       "node": "minikube", "age": "5m"} for i in range(40)]}
    diagnosis = answered("why are the backend pods failing?", [
        ("diagnose", {"name": "backend"}, DIAGNOSIS),
        ("get_logs", {"name": "todo-backend-7f76cf774c-9lclf", "previous": True}, PREVIOUS_LOG),
        ("get_events", {"kind": "pod", "name": "todo-backend-7f76cf774c-9lclf"}, BACKOFF)])
    scaled = answered("scale backend to 3 in todo-app", [("scale", {"name": "backend", "replicas": "3"}, SCALED)])
    longer = [*scaled, Message(role="assistant", content="Scaled.")]
    for _ in range(10):
        longer = answered("add one replica", [("scale", {"name": "todo-backend", "replicas": "+1"}, SCALED)], longer)
        longer.append(Message(role="assistant", content="Scaled."))
    return {"list 40 pods": answered("show all pods in todo-app namespace", [("list_resources", {"kind": "pods"},
                                                                               pods)]),
            "diagnosis with logs and events": diagnosis, "scale": scaled,
            "follow-up after 10 turns": [*longer, Message.user("now restart it")]}


def run(rounds: int) -> dict[str, Any]:
    provider = OfflineProvider(ProviderSettings())
    loop = asyncio.new_event_loop()

    def timed(messages: list[Message]) -> float:
        request = ModelRequest(system="", messages=messages, tools=SCHEMAS)
        started = time.perf_counter()
        loop.run_until_complete(provider.respond(request))
        return time.perf_counter() - started

    prompts = [p for p, _ in SEED + PHRASINGS] + [p for p, _ in REFUSE]
    first: dict[str, list[float]] = {}
    for prompt in prompts:
        timed([Message.user(prompt)])  # warm (regex caches, the chart lookup)
        first[prompt] = [timed([Message.user(prompt)]) for _ in range(rounds)]
    answers: dict[str, list[float]] = {}
    for name, messages in _conversations().items():
        timed(messages)
        answers[name] = [timed(messages) for _ in range(rounds)]
    loop.close()
    every = [s for samples in first.values() for s in samples]
    medians = {p: statistics.median(s) * 1000 for p, s in first.items()}
    slowest = sorted(medians.items(), key=lambda item: -item[1])[:5]
    all_first = _percentiles(every)
    return {
        "prompts": len(prompts),
        "first_turn": {**all_first, "per_prompt_median_p95_ms": _percentiles(
            [m / 1000 for m in medians.values()])["p95_ms"], "goal_p95_ms": GOAL_P95_MS,
                       "goal_met": all_first["p95_ms"] <= GOAL_P95_MS,
                       "slowest_prompts_median_ms": {p: round(m, 3) for p, m in slowest}},
        "answer_turn": {name: _percentiles(samples) for name, samples in answers.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/offline_planner.json"))
    args = parser.parse_args()
    write_report("offline_planner", args.rounds, run(args.rounds), args.out)


if __name__ == "__main__":
    main()
