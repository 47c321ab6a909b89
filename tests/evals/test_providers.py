"""The same tasks run unchanged with an LLM provider: the real openai and google-genai SDKs
against the local fakes of tests/agent (HTTP servers speaking those APIs, replaying scripted
tool calls), with the model's tokens counted in the rows."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evals import loader
from evals.runner import EvalOptions, run
from tests.agent import fake_gemini
from tests.agent.fake_openai import FakeOpenAI, calls, say

TASK = Path(__file__).resolve().parent / "tasks" / "harness" / "state-must-fail.yaml"
SCALE = {"name": "todo-backend", "namespace": "todo-app", "replicas": 3}
STATE_ONLY = ["deploy/todo-backend {.spec.replicas} == 4: found 3"]  # the task's state check must fail


def failing(row: dict[str, Any]) -> list[str]:
    return [c["detail"] for c in row["checks"] if not c["ok"]]


def test_openai_compatible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI() as api:
        api.script(calls(("scale", SCALE), input_tokens=900, output_tokens=20),
                   say("Scaled todo-backend to 3.", input_tokens=1000, output_tokens=12))
        monkeypatch.setenv("OPENAI_BASE_URL", api.url)
        monkeypatch.setenv("OPENAI_API_KEY", api.key)
        options = EvalOptions(tasks=loader.load([TASK]), out=tmp_path, provider="openai-compatible", model="qwen3")
        (row,) = asyncio.run(run(options, lambda _row: None))
        sent = api.model_requests()
    assert row["provider"] == "openai-compatible" and row["model"] == "qwen3"
    assert failing(row) == STATE_ONLY and row["recall"] == 1
    assert row["tokens"]["model_in"] == 1900 and row["tokens"]["model_out"] == 32
    assert row["calls"][0]["tool"] == "scale" and row["calls"][0]["approver"] == "eval:runner"
    assert len(sent) == 2 and "scale" in str(sent[0].body.get("tools"))


def test_gemini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_gemini.serve() as api:
        api.play(fake_gemini.response(fake_gemini.call("scale", SCALE), prompt_tokens=700, output_tokens=15),
                 fake_gemini.response(fake_gemini.text("Done: 3 replicas."), prompt_tokens=800, output_tokens=9))
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", api.url)
        monkeypatch.setenv("GEMINI_API_KEY", api.key)
        options = EvalOptions(tasks=loader.load([TASK]), out=tmp_path, provider="gemini", model="gemini-test")
        (row,) = asyncio.run(run(options, lambda _row: None))
    assert row["provider"] == "gemini" and failing(row) == STATE_ONLY
    assert row["tokens"]["model_in"] == 1500 and row["tokens"]["model_out"] == 24
    assert row["answer"] == "Done: 3 replicas."
