"""Where tasks run: a sandbox of the harness's own, reset to a snapshot before every task, or a
cluster the user gives (``--kubeconfig``), used as it is.

A :class:`SandboxStage` starts ``python -m sandbox`` once, snapshots it empty, installs the
todo stack with Helm, snapshots it again, and then restores one of the two snapshots before
each task (the sandbox swaps its store; no process starts). ``--jobs J`` runs J stages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from tools.cluster import Cluster
from tools.errors import KaiError

from .errors import StageError

REPO = Path(__file__).resolve().parents[1]
TODO_CHART = REPO / "helm" / "todo-app"
Base = Literal["todo-app", "empty"]
SNAPSHOTS = "/sandbox/v1/snapshots"
EVAL_SPEED = 20.0  # simulated seconds per wall-clock second in the harness's sandboxes


WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}


class Stage(Protocol):
    @property
    def kubeconfig(self) -> Path: ...

    speed: float  # simulated seconds per wall-clock second (1 on a real cluster)

    async def reset(self, base: Base) -> None: ...

    def mark(self) -> int | None:
        """Where the record of writes the cluster received stands now (None: no record)."""
        ...

    def writes_since(self, mark: int) -> list[dict[str, Any]]:
        """The writes the cluster carried out since ``mark``: audit.k8s.io Events (not dry runs)."""
        ...

    async def close(self) -> None: ...


@dataclass
class SandboxStage:
    """A sandbox process owned by the harness, with the ``empty`` and ``todo-app`` snapshots."""

    state: Path
    speed: float = EVAL_SPEED
    cluster: Cluster = field(init=False)

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.state / "audit.log"

    def mark(self) -> int | None:
        return self.audit_log.stat().st_size if self.audit_log.exists() else 0

    def writes_since(self, mark: int) -> list[dict[str, Any]]:
        """Read from the sandbox's own audit log (``--audit-log``): what it received, whoever sent it."""
        with self.audit_log.open("rb") as log:
            log.seek(mark)
            events = [json.loads(line) for line in log.read().splitlines() if line.strip()]
        return [e for e in events if e.get("verb") in WRITE_VERBS and e.get("responseStatus", {}).get("code", 500) < 400
                and not e.get("annotations", {}).get("sandbox.kai.dev/dry-run")]

    @classmethod
    async def start(cls, state: Path, speed: float = EVAL_SPEED) -> SandboxStage:
        stage = cls(state.resolve(), speed)
        up = asyncio.ensure_future(asyncio.to_thread(stage._up))
        try:
            await asyncio.shield(up)
            stage.cluster = Cluster(kubeconfig=stage.kubeconfig)
            await stage._snapshot("empty")
            await asyncio.to_thread(stage._install_todo)
            await stage._snapshot("todo-app")
        except BaseException:  # failed or cancelled (Ctrl-C, SIGTERM): let a start under way end, then stop it
            with contextlib.suppress(Exception):
                await up
            await stage.close()
            raise
        return stage

    def _up(self) -> None:
        proc = subprocess.run([sys.executable, "-m", "sandbox", "up", "--state", str(self.state), "--speed",
                               str(self.speed), "--audit-log"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise StageError(f"the eval sandbox did not start: {(proc.stderr or proc.stdout).strip()[-500:]}")

    def _install_todo(self) -> None:
        from tools import helm

        helm.install(self.kubeconfig, TODO_CHART, "todo-app", "todo-app", wait=True)

    async def _snapshot(self, name: str) -> None:
        await self.cluster.request("POST", SNAPSHOTS, body={"name": name})

    async def reset(self, base: Base) -> None:
        try:
            await self.cluster.request("POST", f"{SNAPSHOTS}/{base}/restore")
        except KaiError as exc:
            raise StageError(f"could not restore the sandbox to {base}: {exc.message}") from exc
        self.cluster.close()  # no connection or cached discovery outlives a state
        self.cluster = Cluster(kubeconfig=self.kubeconfig)

    async def close(self) -> None:
        if hasattr(self, "cluster"):
            self.cluster.close()
        await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "sandbox", "down", "--state", str(self.state)],
                                capture_output=True, check=False)


@dataclass
class ClusterStage:
    """A cluster the user gave: tasks run on it as it is, one after the other (no reset).
    ``base: todo-app`` tasks install the todo release when it is missing."""

    kubeconfig: Path
    speed: float = 1.0

    def mark(self) -> int | None:
        return None  # a real cluster's audit log is not ours to read

    def writes_since(self, mark: int) -> list[dict[str, Any]]:
        return []

    async def reset(self, base: Base) -> None:
        if base != "todo-app":
            return
        from tools import helm

        try:
            current = await asyncio.to_thread(helm.status, self.kubeconfig, "todo-app", "todo-app")
            if current is None:
                await asyncio.to_thread(helm.install, self.kubeconfig, TODO_CHART, "todo-app", "todo-app", wait=True)
        except KaiError as exc:
            raise StageError(f"could not install the todo release: {exc.message}") from exc

    async def close(self) -> None:
        return None
