"""Fixtures for the agent suites: a runner over the guarded executor, a real SQLite audit
store, and the controller sandbox with the todo stack (fixtures of tests/tools)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tools.catalog  # noqa: F401  (every tool registered)
from agent.messages import Message
from agent.provider import Provider
from agent.runner import Runner, RunResult
from tools import policy as policies
from tools.audit import AuditStore
from tools.context import ToolContext
from tools.executor import ApprovalAnswer, ApprovalRequest, ApproveFn, Executor
from tools.guard import Caller

ADMIN = Caller("repl:local", session="test")


async def approve_all(request: ApprovalRequest) -> ApprovalAnswer:
    return ApprovalAnswer(True, "repl:local")


async def reject_all(request: ApprovalRequest) -> ApprovalAnswer:
    return ApprovalAnswer(False, "repl:local", "not now")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    audit = AuditStore(f"sqlite:///{tmp_path / 'kai.db'}")
    yield audit
    audit.close()


MakeRunner = Callable[..., Runner]


@pytest.fixture
def make_runner(ctx: ToolContext, store: AuditStore) -> Iterator[MakeRunner]:
    """``make_runner(provider, policy="", approve=approve_all, caller=ADMIN, namespace=None, **runner_kwargs)``:
    a runner whose tool calls go through a real executor (guard, audit) to the sandbox."""
    made: list[Executor] = []

    def build(provider: Provider, policy: str = "", approve: ApproveFn | None = approve_all,
              caller: Caller = ADMIN, namespace: str | None = None, history: list[Message] | None = None,
              **kwargs: object) -> Runner:
        if namespace is not None:
            ctx.namespace = namespace
        executor = Executor(ctx, policies.parse(policy), store)
        made.append(executor)
        return Runner(provider, executor, caller, system_prompt="You are kai.", approve=approve,
                      history=history, **kwargs)  # type: ignore[arg-type]

    yield build
    for executor in made:
        executor.close()


def run(runner: Runner, prompt: str) -> RunResult:
    return asyncio.run(runner.run(prompt))


def ask(runner: Runner, prompt: str) -> RunResult:
    """One run, then the provider closed, in the same event loop (its connections belong to it)."""
    async def go() -> RunResult:
        try:
            return await runner.run(prompt)
        finally:
            await runner.provider.aclose()

    return asyncio.run(go())
