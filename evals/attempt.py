"""One run of one task: reset the stage, set up, run kai's agent turn by turn, check, score,
and return the result row (the README's results.jsonl schema)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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

from . import checks, scoring, setup
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
    def __init__(self, ctx: Context, task: Task, stage: Stage, repeat: int) -> None:
        self.ctx = ctx
        self.task = task
        self.stage = stage
        self.repeat = repeat
        self.results: list[RunResult] = []
        self.history: list[Message] = []
        self.checks: list[Check] = []
        self.violations: list[Violation] = []
        self.began = time.time()

    def row(self, status: str, error: str | None, started: float, score: scoring.CallScore | None = None,
            raw: int = 0) -> dict[str, Any]:
        task = self.task
        stats = RunStats()
        calls: list[Call] = []
        for result in self.results:
            stats.usage = stats.usage + result.stats.usage
            stats.iterations += result.stats.iterations
            stats.tool_outputs += result.stats.tool_outputs
            stats.latency_ms += result.stats.latency_ms
            calls += [Call(c.tool, c.arguments, c.status, c.decision, c.approver) for c in result.calls]
        answer = self.results[-1].answer if self.results else ""
        score = score or scoring.CallScore()
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
                       "tool_output": stats.tool_output_tokens, "raw_kubectl": raw},
            "latency_ms": round(stats.latency_ms, 1), "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "started_at": round(self.began, 3), "ended_at": round(time.time(), 3),
            "calls": [c.as_dict() for c in calls], "answer": answer, "transcript": _transcript(self.history),
        }

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        self.began = time.time()
        try:
            async with asyncio.timeout(self.task.timeout):
                return await self._run(started)
        except TimeoutError:
            return self.row("timeout", f"the task took longer than its timeout ({self.task.timeout:g}s)", started)
        except KaiError as exc:
            return self.row("error", exc.message, started)

    async def _run(self, started: float) -> dict[str, Any]:
        task, stage = self.task, self.stage
        await stage.reset(task.setup.base)
        cluster = Cluster(kubeconfig=stage.kubeconfig)
        try:
            await setup.apply(task, stage, cluster)
            secrets = await cluster.get("/api/v1/secrets")
            values = scoring.secret_values(secrets.get("items", []))
            await self._converse(cluster)
            calls = [Call(c.tool, c.arguments, c.status, c.decision, c.approver)
                     for result in self.results for c in result.calls]
            score = scoring.score_calls(task, calls)
            self.checks += score.checks
            found, violations = scoring.forbidden(task, calls)
            self.checks += found
            self.violations += violations
            self.violations += scoring.write_violations(calls, self.ctx.policy, task.namespace)
            output = "\n".join(r.answer for r in self.results)
            self.violations += scoring.secret_violations(output, values)
            self.checks += await self._state(cluster)
            answer = self.results[-1].answer if self.results else ""
            if task.format == "k8s-bench":
                await self._bench(output)
            else:
                self.checks += checks.answer(task, answer)
            raw = await raw_tokens(cluster, [RawCall(c.tool, c.arguments, c.status, c.text)
                                             for r in self.results for c in r.calls], task.namespace)
        finally:
            if task.cleanup:
                await setup.run_script(task, stage.kubeconfig, task.cleanup, inline=False, what="cleanup",
                                       timeout=60)
            cluster.close()
        passed = all(c.ok for c in self.checks) and not self.violations
        if task.format == "k8s-bench":  # as k8s-bench scores: the verifier passes, or every expectation holds
            verified = [c.ok for c in self.checks if c.kind == "verifier"]
            expected = [c.ok for c in self.checks if c.kind == "expect"]
            passed = ((bool(verified) and all(verified)) or (bool(expected) and all(expected))) and not self.violations
        return self.row("passed" if passed else "failed", None, started, score, raw.tokens)

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
            code, text = await setup.run_script(task, self.stage.kubeconfig, task.verifier, inline=False,
                                                what="the verifier", timeout=max(30.0, task.timeout / 2))
            self.checks.append(Check("verifier", code == 0, f"{task.verifier} exited {code}"
                                     + ("" if code == 0 else f": {text.strip()[-300:]}")))
        self.checks += checks.bench_expect(task, output)

    async def _converse(self, cluster: Cluster) -> None:
        task, ctx = self.task, self.ctx
        tool_ctx = ToolContext(Cluster(kubeconfig=self.stage.kubeconfig), namespace=task.namespace)
        executor = Executor(tool_ctx, ctx.policy, ctx.store)
        provider = ctx.make_provider(task)
        try:
            names = [schema["name"] for schema in executor.schemas()]
            runner = Runner(provider, executor, Caller(IDENTITY, None), system_prompt=ctx.system_prompt(
                task.namespace, names), approve=approver(task.approvals), max_iterations=MAX_ITERATIONS,
                history=self.history)
            for prompt, pause in zip(task.prompts, task.pauses or (0.0,) * len(task.prompts), strict=True):
                if pause:
                    await asyncio.sleep(pause / self.stage.speed)
                result = await runner.run(prompt)
                self.results.append(result)
        finally:
            await provider.aclose()
            executor.close()
            tool_ctx.cluster.close()
