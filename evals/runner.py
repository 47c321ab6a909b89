"""Running a set of tasks: J workers, each with its own stage (a sandbox reset before every
task, or the given cluster), pulling (task, repeat) pairs from one queue. Each finished run is
appended to ``results.jsonl`` at once, so Ctrl-C keeps every run that ended.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.provider import Provider, ProviderSettings, create_provider
from agent.sessions import SessionStore
from tools import policy as policies

from . import results
from .attempt import Attempt, Context
from .stage import EVAL_SPEED, ClusterStage, SandboxStage, Stage
from .task import Task

POLICY = Path(__file__).resolve().parent / "policy.yaml"
SCRIPTED = "scripted"


@dataclass(frozen=True)
class EvalOptions:
    tasks: list[Task]
    out: Path
    provider: str = "offline"
    model: str | None = None
    repeat: int = 1
    jobs: int = 1
    kubeconfig: Path | None = None
    speed: float = EVAL_SPEED


def run_id(provider: str, model: str) -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{provider}-{model}".replace("/", "_")


def _factory(options: EvalOptions) -> tuple[Callable[[Task], Provider], str]:
    """A new provider per task run (the scripted one replays that task), and the model's name."""
    if options.provider == SCRIPTED:
        from .scripted import ScriptedProvider

        return ScriptedProvider, "ideal"
    settings = ProviderSettings(model=options.model)
    probe = create_provider(options.provider, settings)  # fails fast on an unknown name or a missing key
    model = probe.model

    def make(_task: Task) -> Provider:
        return create_provider(options.provider, settings)

    return make, model


async def _stages(options: EvalOptions, scratch: Path) -> list[Stage]:
    if options.kubeconfig is not None:
        return [ClusterStage(options.kubeconfig)]
    started = await asyncio.gather(*(SandboxStage.start(scratch / f"sandbox-{i}", options.speed)
                                     for i in range(options.jobs)), return_exceptions=True)
    stages: list[Stage] = [s for s in started if isinstance(s, SandboxStage)]
    failed = [s for s in started if isinstance(s, BaseException)]
    if failed:
        await asyncio.gather(*(s.close() for s in stages))
        raise failed[0]
    return stages


async def run(options: EvalOptions, on_row: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    """Run every task ``repeat`` times; each row goes to ``out/results.jsonl`` and to ``on_row``
    as soon as it ends. Cancelling (Ctrl-C) stops the workers; the rows written stay."""
    make, model = _factory(options)
    options.out.mkdir(parents=True, exist_ok=True)
    path = options.out / results.RESULTS_FILE
    path.unlink(missing_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="kai-eval-"))
    store = SessionStore(f"sqlite:///{scratch / 'audit.db'}")
    from agent.prompts import system_prompt

    def prompt(namespace: str, tools: list[str]) -> str:
        return system_prompt(context="kai-eval", namespace=namespace, tools=tools)

    ctx = Context(run_id=run_id(options.provider, model), provider_name=options.provider, model=model,
                  make_provider=make, policy=policies.load(POLICY), system_prompt=prompt, store=store)
    queue: asyncio.Queue[tuple[Task, int]] = asyncio.Queue()
    for repeat in range(options.repeat):
        for task in options.tasks:
            queue.put_nowait((task, repeat))
    rows: list[dict[str, Any]] = []

    async def worker(stage: Stage) -> None:
        while not queue.empty():
            task, repeat = queue.get_nowait()
            row = await Attempt(ctx, task, stage, repeat).run()
            results.append_row(path, row)
            rows.append(row)
            on_row(row)

    stages: list[Stage] = []
    try:
        stages = await _stages(options, scratch)
        await asyncio.gather(*(worker(stage) for stage in stages))
    finally:
        await asyncio.shield(asyncio.gather(*(stage.close() for stage in stages)))
        store.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return rows
