"""One run of one task: reset the stage, set up, run kai's agent turn by turn, check, score,
and return the result row (the README's results.jsonl schema)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.events import Event, ToolFinished, ToolRequested
from agent.messages import Message
from agent.provider import Provider
from agent.runner import Runner, RunResult, RunStats
from agent.sessions import SessionStore
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.errors import KaiError
from tools.executor import ApprovalAnswer, ApprovalRequest, ApproveFn, Executor
from tools.guard import Caller
from tools.policy import Policy

from . import checks, scoring, task_setup
from .checks import Check
from .rawcost import RawCall, raw_tokens
from .scoring import Call, Violation
from .stage import Stage
from .task import Task

IDENTITY = "eval:runner"
SETTLE_POLL = 0.1  # seconds between two looks at the state while it settles
MAX_ITERATIONS = 20

ProviderFactory = Callable[[Task], Provider]


@dataclass
class Context:
    """What every attempt of one eval run shares."""

    run_id: str
    provider_name: str
    model: str
    make_provider: ProviderFactory
    policy: Policy
    system_prompt: Callable[[str, list[str]], str]  # (namespace, tool names) -> the system prompt
    store: SessionStore


def approver(mode: str) -> ApproveFn | None:
    """``approvals: approve|reject`` answer every request as the eval identity (self-approval,
    as ``--skip-permissions`` does); ``none`` leaves them unanswered, so they are refused."""
    if mode == "none":
        return None
    approved = mode == "approve"

    async def answer(_request: ApprovalRequest) -> ApprovalAnswer:
        return ApprovalAnswer(approved, IDENTITY, f"eval: approvals {mode}")

    return answer


def _transcript(history: list[Message]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for message in history:
        if message.role == "assistant" and message.tool_calls:
            for call in message.tool_calls:
                rows.append({"role": "assistant", "text": f"→ {call.name} {call.arguments}", "tool": call.name,
                             "status": None})
            if message.content.strip():
                rows.append({"role": "assistant", "text": message.content, "tool": None, "status": None})
        else:
            rows.append({"role": message.role, "text": message.query if message.role == "user" else message.content,
                         "tool": message.name, "status": message.status})
    return rows


class Attempt:
    """One run of one task. Calls are recorded as they happen (from the runner's events), so a
    run cut short by its timeout or an error is still judged for what it asked for."""

    def __init__(self, ctx: Context, task: Task, stage: Stage, repeat: int) -> None:
        self.ctx = ctx
        self.task = task
        self.stage = stage
        self.repeat = repeat
        self.results: list[RunResult] = []
        self.history: list[Message] = []
        self.checks: list[Check] = []
        self.violations: list[Violation] = []
        self.calls: dict[str, Call] = {}  # call id -> the call, in the order asked
        self.outputs: dict[str, str] = {}  # call id -> what the tool showed the model
        self.secrets: set[str] = set()
        self.mark: int | None = None  # where the cluster's record of writes stood when the turns began
        self.received: list[dict[str, Any]] | None = None  # the writes it carried out during the turns
        self.score = scoring.CallScore()
        self.raw = 0
        self.began = time.time()

    async def record(self, event: Event) -> None:
        """The runner's event sink: each call as it is asked for, then what became of it."""
        if isinstance(event, ToolRequested):
            self.calls[event.call_id] = Call(event.tool, event.arguments, "requested")
        elif isinstance(event, ToolFinished):
            out = event.outcome
            asked = self.calls.get(event.call_id)
            if asked is not None:
                self.calls[event.call_id] = Call(asked.tool, asked.arguments, out.status, out.decision, out.approver)
                self.outputs[event.call_id] = out.text

    def row(self, status: str, error: str | None, started: float) -> dict[str, Any]:
        task = self.task
        stats = RunStats()
        for result in self.results:
            stats.usage = stats.usage + result.stats.usage
            stats.iterations += result.stats.iterations
            stats.tool_outputs += result.stats.tool_outputs
            stats.latency_ms += result.stats.latency_ms
        calls = list(self.calls.values())
        answer = self.results[-1].answer if self.results else ""
        score = self.score
        return {
            "run": self.ctx.run_id, "task": task.id, "repeat": self.repeat, "category": task.category,
            "tags": list(task.tags), "difficulty": task.difficulty, "format": task.format,
            "provider": self.ctx.provider_name, "model": self.ctx.model,
            "success": status == "passed", "status": status, "error": error,
            "checks": [c.as_dict() for c in self.checks],
            "precision": score.precision, "recall": score.recall, "f1": score.f1, "arg_accuracy": score.arg_accuracy,
            "violations": [v.as_dict() for v in self.violations],
            "turns": len(self.results), "tool_calls": len(calls), "iterations": stats.iterations,
            "tokens": {"model_in": stats.usage.input_tokens, "model_out": stats.usage.output_tokens,
                       "tool_output": stats.tool_output_tokens, "raw_kubectl": self.raw},
            "latency_ms": round(stats.latency_ms, 1), "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "started_at": round(self.began, 3), "ended_at": round(time.time(), 3),
            "calls": [c.as_dict() for c in calls], "answer": answer, "transcript": _transcript(self.history),
        }

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        self.began = time.time()
        error: str | None = None
        try:
            async with asyncio.timeout(self.task.timeout):
                await self._run()
            status = "passed" if self._passed() else "failed"
        except TimeoutError:
            status, error = "timeout", f"the task took longer than its timeout ({self.task.timeout:g}s)"
        except KaiError as exc:
            status, error = "error", exc.message
        except Exception as exc:  # a bug or an OS error in one task: its row says so, the run goes on
            status, error = "error", f"{type(exc).__name__}: {exc}"
        self._judge_calls()  # whatever ended the run, what was asked for is judged
        if status == "passed" and self.violations:
            status = "failed"
        return self.row(status, error, started)

    def _judge_calls(self) -> None:
        calls = list(self.calls.values())
        found, violations = scoring.forbidden(self.task, calls)
        self.checks += found
        self.violations += violations
        if self.mark is not None and self.received is None:  # the turns were cut short: read what they did
            self.received = self.stage.writes_since(self.mark)
        self.violations += scoring.write_violations(calls, self.ctx.policy, self.task.namespace, self.received)
        said = "\n".join(r.answer for r in self.results)
        self.violations += scoring.secret_violations(said, calls, self.secrets)

    def _passed(self) -> bool:
        if self.task.format != "k8s-bench":
            return all(c.ok for c in self.checks)
        # as k8s-bench scores: the verifier passes, or there are expectations and every one holds
        verified = [c.ok for c in self.checks if c.kind == "verifier"]
        expected = [c.ok for c in self.checks if c.kind == "expect"]
        return (bool(verified) and all(verified)) or (bool(expected) and all(expected))

    async def _run(self) -> None:
        task, stage = self.task, self.stage
        await stage.reset(task.setup.base)
        cluster = Cluster(kubeconfig=stage.kubeconfig)
        try:
            await task_setup.apply(task, stage, cluster)
            secrets = await cluster.get("/api/v1/secrets")
            self.secrets = scoring.secret_values(secrets.get("items", []))
            self.mark = stage.mark()
            await self._converse()
            if self.mark is not None:  # read once, right after the turns (no verifier's or cleanup's writes)
                self.received = stage.writes_since(self.mark)
                self.violations += scoring.replica_violations(await self._scaled(cluster, self.received),
                                                              self.ctx.policy)
            self.score = scoring.score_calls(task, list(self.calls.values()))
            self.checks += self.score.checks
            self.checks += await self._state(cluster)
            if task.format == "k8s-bench":
                await self._bench("\n".join(r.answer for r in self.results))
            else:
                self.checks += checks.answer(task, self.results[-1].answer if self.results else "")
            cost = await raw_tokens(cluster, [RawCall(c.tool, c.arguments, c.status, self.outputs.get(i, ""))
                                              for i, c in self.calls.items()], task.namespace)
            self.raw = cost.tokens
        finally:
            try:
                if task.cleanup:
                    await task_setup.run_script(task, stage.kubeconfig, task.cleanup, inline=False, what="cleanup",
                                                timeout=60)
            finally:
                cluster.close()

    async def _scaled(self, cluster: Cluster, writes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The workloads and autoscalers the turns wrote to, as they are now."""
        paths = set()
        for event in writes:
            ref = event.get("objectRef") or {}
            if event.get("verb") != "delete" and (ref.get("resource") in scoring.SCALED
                                                  or ref.get("resource") == "horizontalpodautoscalers"):
                paths.add(event["requestURI"].split("?")[0].removesuffix("/scale"))
        found: list[dict[str, Any]] = []
        for path in sorted(paths):
            with contextlib.suppress(KaiError):  # gone since: nothing left to judge
                got = await cluster.get(path)
                kind = str(got.get("kind", "")).removesuffix("List")
                found += [{"kind": kind, **item} for item in got["items"]] if "items" in got else [got]
        return found

    async def _state(self, cluster: Cluster) -> list[Check]:
        """The state checks, polled until all hold or ``expect.settle`` (simulated seconds) is over."""
        task = self.task
        deadline = time.monotonic() + task.expect.settle / self.stage.speed
        while True:
            found = [await checks.state(cluster, task, check) for check in task.expect.state]
            if all(c.ok for c in found) or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(SETTLE_POLL)

    async def _bench(self, output: str) -> None:
        task = self.task
        if task.verifier:
            code, text = await task_setup.run_script(task, self.stage.kubeconfig, task.verifier, inline=False,
                                                what="the verifier", timeout=max(30.0, task.timeout / 2))
            self.checks.append(Check("verifier", code == 0, f"{task.verifier} exited {code}"
                                     + ("" if code == 0 else f": {text.strip()[-300:]}")))
        self.checks += checks.bench_expect(task, output)

    async def _converse(self) -> None:
        task, ctx = self.task, self.ctx
        tool_ctx = ToolContext(Cluster(kubeconfig=self.stage.kubeconfig), namespace=task.namespace)
        executor = Executor(tool_ctx, ctx.policy, ctx.store)
        provider = ctx.make_provider(task)
        try:
            names = [schema["name"] for schema in executor.schemas()]
            runner = Runner(provider, executor, Caller(IDENTITY, None), system_prompt=ctx.system_prompt(
                task.namespace, names), approve=approver(task.approvals), sink=self.record,
                max_iterations=MAX_ITERATIONS, history=self.history)
            for prompt, pause in zip(task.prompts, task.pauses or (0.0,) * len(task.prompts), strict=True):
                if pause:
                    await asyncio.sleep(pause / self.stage.speed)
                result = await runner.run(prompt)
                self.results.append(result)
        finally:
            await provider.aclose()
            executor.close()
            tool_ctx.close()
