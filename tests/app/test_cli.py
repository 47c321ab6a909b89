"""The kai command line: instant help, and `kai sandbox` driving a real sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

KAI = [sys.executable, "-m", "app"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KAI, *args], capture_output=True, text=True, timeout=60, check=False)


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys, app.cli; "
            "heavy = {'uvicorn', 'starlette', 'sandbox', 'kubernetes', 'helm_python', 'yaml', 'orjson', 'google', "
            "'openai', 'agents', 'rich', 'prompt_toolkit', 'sqlalchemy', 'sqlmodel', 'pydantic', 'tiktoken'}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    helped = run("--help")
    assert helped.returncode == 0 and "sandbox" in helped.stdout
    assert "--llm-provider" in helped.stdout and "--skip-permissions" in helped.stdout


def test_sandbox_up_status_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    up = run("sandbox", "up", "--state", str(state))
    assert up.returncode == 0, up.stderr
    lines = up.stdout.splitlines()
    assert lines[0].startswith("sandbox API server at https://127.0.0.1:")
    assert lines[1] == f"kubeconfig: {state / 'kubeconfig'}"
    assert lines[2] == f"export KUBECONFIG={state / 'kubeconfig'}"
    again = run("sandbox", "up", "--state", str(state))
    assert again.stdout.splitlines()[0] == lines[0]  # the running one is found, not a second
    status = run("sandbox", "status", "--state", str(state))
    assert status.returncode == 0 and "running at https://127.0.0.1:" in status.stdout
    down = run("sandbox", "down", "--state", str(state))
    assert down.returncode == 0 and down.stdout.strip() == "stopped"
    stopped = run("sandbox", "status", "--state", str(state))
    assert stopped.returncode == 1 and "no sandbox is running" in stopped.stdout


def test_sandbox_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("sandbox", "up", "--state", str(tmp_path / "s"), "--port", str(port))
    assert result.returncode == 1
    assert f"error: port {port} on 127.0.0.1 is in use" in result.stderr


def test_bad_combinations_start_nothing(tmp_path: Path) -> None:
    state = tmp_path / "s"
    refused = run("sandbox", "up", "--state", str(state), "--no-controllers", "--with-todo-app")
    assert refused.returncode == 2 and "--with-todo-app needs the controllers" in refused.stderr
    assert not state.exists()
    unknown = run("sandbox", "fault", "--state", str(state), "meteor", "web")
    assert unknown.returncode == 2 and "invalid choice: 'meteor'" in unknown.stderr
