"""The REPL in a real pseudo-terminal (pexpect): a write previewed and approved at the
prompt, refused, approved for the session; meta-commands and completion; Ctrl-C cancelling a
slow turn without leaving the REPL; history across runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from sandbox.control import Sandbox
from tests.conftest import Kubectl, replicas, wait_for

BIN = Path(sys.executable).parent
PROMPT = "kai>"


@pytest.fixture
def env(cluster: Sandbox, tmp_path: Path) -> dict[str, str]:
    environment = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "KAI_STATE_DIR": str(tmp_path / "kai"),
                   "KAI_LLM_PROVIDER": "offline", "TERM": "xterm", "COLUMNS": "120", "LINES": "40"}
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "KAI_POLICY"):
        environment.pop(key, None)
    return environment


def spawn(env: dict[str, str], *args: str) -> pexpect.spawn[str]:
    child = pexpect.spawn(str(BIN / "kai"), list(args), env=env, encoding="utf-8", timeout=60,
                          dimensions=(40, 120))
    child.expect("Type a request, or help")
    child.expect_exact(PROMPT)
    return child


def say(child: pexpect.spawn[str], line: str) -> None:
    child.sendline(line)



@pytest.fixture
def repl(env: dict[str, str], fresh_todo: str) -> Iterator[pexpect.spawn[str]]:
    child = spawn(env, "-n", fresh_todo)
    yield child
    if child.isalive():
        child.sendcontrol("d")
        child.expect(pexpect.EOF)


def test_approve_refuse_and_always(repl: pexpect.spawn[str], kc: Kubectl, fresh_todo: str) -> None:
    say(repl, "scale backend to 3")
    repl.expect("preview")
    repl.expect("kubectl scale")
    repl.expect_exact("Apply this change? [y]es / [a]lways in this session / [n]o:")
    say(repl, "y")
    repl.expect("approved by repl:local")
    repl.expect("tool calls")
    repl.expect_exact(PROMPT)
    assert replicas(kc, fresh_todo, "todo-backend") == 3
    wait_for(lambda: kc.json("get", "deployment", "todo-backend", "-n", fresh_todo)["status"]
             .get("readyReplicas") == 3, timeout=30)

    say(repl, "scale frontend to 4")
    repl.expect_exact("Apply this change?")
    say(repl, "n")
    repl.expect("rejected by repl:local")
    repl.expect_exact(PROMPT)
    assert replicas(kc, fresh_todo, "todo-frontend") == 2

    say(repl, "scale frontend to 3")
    repl.expect_exact("Apply this change?")
    say(repl, "a")
    repl.expect_exact(PROMPT)
    say(repl, "add one replica")
    repl.expect("not to be asked again")
    repl.expect_exact(PROMPT)
    assert replicas(kc, fresh_todo, "todo-frontend") == 4


def test_meta_commands(repl: pexpect.spawn[str]) -> None:
    say(repl, "help")
    repl.expect("resume-session ID")
    repl.expect_exact(PROMPT)
    say(repl, "tools")
    repl.expect("scale")
    repl.expect_exact(PROMPT)
    say(repl, "models")
    repl.expect(r"\* planner")
    repl.expect_exact(PROMPT)
    repl.send("sessi\t")  # completion of meta-commands
    repl.expect("sessions")
    repl.sendline("")
    repl.expect_exact(PROMPT)
    say(repl, "show all pods")
    repl.expect("todo-backend")
    repl.expect_exact(PROMPT)
    say(repl, "save-session pods check")
    repl.expect(r"session \w+ is saved")
    repl.expect_exact(PROMPT)
    say(repl, "audit")
    repl.expect("list_resources")
    repl.expect_exact(PROMPT)
    say(repl, "policy")
    repl.expect(r"mode.{0,40}confirm")  # highlighted YAML: colour codes between the words
    repl.expect_exact(PROMPT)
    say(repl, "resume-session [/bold]nope")  # markup-like text is shown as typed, and the REPL stays
    repl.expect_exact("error: no session '[/bold]nope'")
    repl.expect_exact(PROMPT)
    say(repl, "exit code of the backend pod?")  # a question that starts with a meta-command's word
    repl.expect("tool calls")
    repl.expect_exact(PROMPT)
    say(repl, "exit")
    repl.expect(pexpect.EOF)


def test_ctrl_c_cancels_a_slow_turn_and_history_survives(env: dict[str, str], cluster: Sandbox,
                                                          fresh_todo: str) -> None:
    child = spawn(env, "-n", fresh_todo)
    child.sendcontrol("c")  # at the prompt: nothing to cancel, the REPL stays
    child.expect_exact(PROMPT)
    fault = [sys.executable, "-m", "sandbox", "fault", "--state", str(cluster.state)]
    subprocess.run([*fault, "api-throttle", "requests/40"], check=True, capture_output=True)
    try:
        say(child, "show all pods")
        child.expect("running list_resources")
        child.sendcontrol("c")
        child.expect("cancelled")
        child.expect_exact(PROMPT)
    finally:
        subprocess.run([*fault, "clear", "all"], check=True, capture_output=True)
    say(child, "show all pods")
    child.expect("todo-frontend")
    child.expect_exact(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    again = spawn(env, "-n", fresh_todo)
    again.send("\x1b[A")  # up arrow: the last line of the previous run
    again.expect("show all pods")
    again.sendcontrol("c")  # drops the recalled line
    say(again, "exit")
    again.expect(pexpect.EOF)


def test_show_tool_output(env: dict[str, str], fresh_todo: str) -> None:
    child = spawn(env, "-n", fresh_todo, "--show-tool-output")
    say(child, "show all pods")
    child.expect("by_status")  # the tool's own result, as YAML, before the answer
    child.expect("tool calls")
    child.expect_exact(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)


def test_one_shot_asks_at_the_terminal_even_with_stdin_piped(env: dict[str, str], kc: Kubectl,
                                                             fresh_todo: str) -> None:
    """`… | kai "scale backend to 3"`: stdin is a pipe, so the question goes to the controlling
    terminal (/dev/tty), as git and ssh ask for passwords."""
    command = f"echo 'some piped context' | {BIN / 'kai'} -n {fresh_todo} 'scale backend to 3'"
    child = pexpect.spawn("bash", ["-c", command], env=env, encoding="utf-8", timeout=60, dimensions=(40, 120))
    child.expect("preview")
    child.expect_exact("Apply this change? [y]es / [a]lways in this session / [n]o:")
    child.sendline("y")
    child.expect("Scaled deployment todo-backend")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert replicas(kc, fresh_todo, "todo-backend") == 3
