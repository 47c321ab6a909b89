"""The scenario scripts against the sandbox: after setup the verifier fails, after the
fix it passes, as a benchmark would score a correct operator."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import control
from tests.conftest import kubectl_binary

HERE = Path(__file__).parent
SCENARIOS = sorted(p.name for p in HERE.iterdir() if (p / "setup.sh").exists())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("scenarios")
    running = control.up(state)
    cache = tmp_path_factory.mktemp("kubecache")
    tools = tmp_path_factory.mktemp("bin")
    (tools / "kubectl").symlink_to(kubectl_binary())
    yield {**os.environ, "KUBECONFIG": str(running.kubeconfig), "KUBECACHEDIR": str(cache), "HOME": str(cache),
           "PATH": f"{tools}:{os.environ['PATH']}"}
    control.down(state)


def run(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_there_are_a_dozen() -> None:
    assert len(SCENARIOS) >= 12


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name: str, env: dict[str, str]) -> None:
    folder = HERE / name
    scoped = {**env, "NAMESPACE": f"sc-{name}"}
    setup = run(folder / "setup.sh", scoped)
    assert setup.returncode == 0, f"setup failed:\n{setup.stdout}\n{setup.stderr}"
    before = run(folder / "verify.sh", {**scoped, "TIMEOUT": "2s"})
    assert before.returncode != 0, "the verifier passes before the fix: it checks nothing"
    fixed = run(folder / "fix.sh", scoped)
    assert fixed.returncode == 0, f"fix failed:\n{fixed.stdout}\n{fixed.stderr}"
    after = run(folder / "verify.sh", scoped)
    assert after.returncode == 0, f"verify failed after the fix:\n{after.stdout}\n{after.stderr}"
