"""`make chat` as the README says to run it: the sandbox with the todo stack, the REPL on it,
"scale backend to 3", approve, and kubectl shows 3/3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect

from tests.conftest import kubectl_for, wait_for

REPO = Path(__file__).resolve().parents[2]


def test_make_chat(tmp_path: Path) -> None:
    state = tmp_path / "sandbox"
    env = {**os.environ, "KAI_STATE_DIR": str(tmp_path / "kai"), "TERM": "xterm", "HOME": str(tmp_path)}
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "KAI_LLM_PROVIDER", "KUBECONFIG", "KAI_POLICY"):
        env.pop(key, None)
    chat = pexpect.spawn("make", ["-s", "-C", str(REPO), "chat", f"SANDBOX_STATE={state}"], env=env,
                         encoding="utf-8", timeout=180, dimensions=(40, 120))
    try:
        chat.expect("todo-app installed: revision 1, deployed")
        chat.expect("offline/planner")
        chat.expect_exact("kai>")
        chat.sendline("scale backend to 3")
        chat.expect_exact("Apply this change?")
        chat.sendline("y")
        chat.expect("Scaled deployment todo-backend in todo-app from 2 to 3 replicas")
        chat.expect_exact("kai>")
        chat.sendline("exit")
        chat.expect(pexpect.EOF)
        kc = kubectl_for(state / "kubeconfig", tmp_path / "kubecache")
        wait_for(lambda: "3/3" in kc("get", "deploy", "todo-backend", "-n", "todo-app"), timeout=60)
        assert "3/3" in kc("get", "deploy", "-n", "todo-app")
    finally:
        chat.close(force=True)
        subprocess.run([sys.executable, "-m", "sandbox", "down", "--state", str(state)], capture_output=True,
                       check=False)
