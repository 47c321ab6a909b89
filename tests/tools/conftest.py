"""Helpers for the tool suites, which run tools as the agent would (read: run; write: plan,
then apply) without the guard, which has suites of its own. The fixtures they use (``kc``,
``todo``, ``fresh_todo``, ``ctx``) live in tests/conftest.py, shared with the agent and app suites."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import TODO_CHART as CHART
from tests.conftest import Kubectl, install_todo, wait_for
from tools.context import ToolContext
from tools.registry import REGISTRY, Change, ToolResult


def read(ctx: ToolContext, name: str, /, **arguments: Any) -> Any:
    """Run read tool ``name`` and return its result."""
    item = REGISTRY.get(name)
    return asyncio.run(item.run(ctx, item.validate(arguments)))


def plan(ctx: ToolContext, name: str, /, **arguments: Any) -> Change:
    item = REGISTRY.get(name)
    return asyncio.run(item.plan(ctx, item.validate(arguments)))


def write(ctx: ToolContext, name: str, /, **arguments: Any) -> tuple[Change, ToolResult]:
    """Plan write tool ``name``, apply it, and return the change and the result."""
    item = REGISTRY.get(name)

    async def go() -> tuple[Change, ToolResult]:
        change = await item.plan(ctx, item.validate(arguments))
        return change, await change.apply()

    return asyncio.run(go())


__all__ = ["CHART", "Kubectl", "install_todo", "plan", "read", "wait_for", "write"]
