"""The run loop with a scripted provider: tool calls through the real guard to the sandbox,
results back to the model, events, figures, retries, corrections and limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from agent.events import Event
from agent.messages import Message, ModelTurn, ToolCall
from agent.provider import ModelRequest, ProviderError
from agent.retry import Backoff
from agent.runner import EMPTY_REPLY_NUDGE
from agent.trace import Trace
from tests.agent.conftest import MakeRunner, reject_all, run
from tests.agent.scripted import Scripted, calls, say
from tests.conftest import replicas
from tests.tools.conftest import Kubectl

FAST = Backoff(base=0.001, jitter=0)



def test_a_write_runs_through_the_guard_and_the_result_goes_back(make_runner: MakeRunner, fresh_todo: str,
                                                                  kc: Kubectl) -> None:
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    provider = Scripted(calls(("scale", {"name": "backend", "replicas": "3", "namespace": fresh_todo})),
                        say("Scaled todo-backend to 3."))
    runner = make_runner(provider, sink=sink)
    result = run(runner, "scale backend to 3")
    assert (result.status, result.answer) == ("done", "Scaled todo-backend to 3.")
    assert replicas(kc, fresh_todo) == 3
    [call] = result.calls
    assert (call.tool, call.status, call.decision, call.approver) == ("scale", "ok", "confirm", "repl:local")
    assert call.audit_id is not None
    second = provider.requests[1].messages
    assert [m.role for m in second] == ["user", "assistant", "tool"]
    assert second[2].tool_call_id == "call-1" and yaml.safe_load(second[2].content)["to"] == 3
    assert [e.kind for e in events] == ["thinking", "tool_requested", "preview", "decided", "tool_finished",
                                        "thinking", "answer"]
    stats = result.stats
    assert (stats.iterations, stats.usage.input_tokens, stats.usage.output_tokens) == (2, 220, 30)
    assert stats.tool_output_tokens > 0 and stats.latency_ms >= stats.tool_ms > 0


def test_refusals_and_errors_return_to_the_model(make_runner: MakeRunner, fresh_todo: str, kc: Kubectl) -> None:
    provider = Scripted(calls(("scale", {"name": "backend", "replicas": "3", "namespace": fresh_todo}),
                              ("no_such_tool", {}),
                              ("scale", {"name": "nothing-like-it", "replicas": "2", "namespace": fresh_todo})),
                        say("I could not."))
    result = run(make_runner(provider, approve=reject_all), "scale things")
    assert [c.status for c in result.calls] == ["rejected", "error", "error"]
    assert result.status == "refused" and replicas(kc, fresh_todo) == 2
    texts = [m.content for m in provider.requests[1].messages if m.role == "tool"]
    assert texts[0].startswith("rejected:") and "unknown_tool" in texts[1] and "not_found" in texts[2]


def test_no_approver_means_approval_required(make_runner: MakeRunner, fresh_todo: str, kc: Kubectl) -> None:
    provider = Scripted(calls(("scale", {"name": "backend", "replicas": "3", "namespace": fresh_todo})),
                        say("It needs approval."))
    result = run(make_runner(provider, approve=None), "scale backend to 3")
    assert result.status == "refused" and result.calls[0].status == "approval_required"
    assert replicas(kc, fresh_todo) == 2


def test_retryable_errors_are_retried_then_others_raise(make_runner: MakeRunner, todo: str) -> None:
    provider = Scripted(ProviderError("429", retryable=True, retry_after=0.0),
                        ProviderError("503", retryable=True), say("ok"))
    result = run(make_runner(provider, backoff=FAST), "hello")
    assert result.answer == "ok" and result.stats.retries == 2
    failing = Scripted(ProviderError("bad key", retryable=False), say("never"))
    runner = make_runner(failing, backoff=FAST)
    with pytest.raises(ProviderError, match="bad key"):
        run(runner, "hello")
    assert runner.history == []  # a failed turn leaves no half-written conversation
    exhausted = Scripted(*[ProviderError("503", retryable=True)] * 4)
    with pytest.raises(ProviderError):
        run(make_runner(exhausted, backoff=FAST), "hello")


def test_one_nudge_for_an_empty_reply(make_runner: MakeRunner, todo: str) -> None:
    provider = Scripted(ModelTurn(), say("Here."))
    result = run(make_runner(provider), "hi")
    assert result.answer == "Here." and provider.requests[1].messages[-1].content == EMPTY_REPLY_NUDGE
    twice = Scripted(ModelTurn(), ModelTurn())
    assert run(make_runner(twice), "hi").status == "error"


def test_one_correction_for_unreadable_arguments(make_runner: MakeRunner, todo: str) -> None:
    bad = ModelTurn(tool_calls=[ToolCall(id="c1", name="list_resources", error="arguments are not JSON: '{kind'")])
    good = calls(("list_resources", {"kind": "pods", "namespace": todo}))
    provider = Scripted(bad, good, say("Two pods."))
    result = run(make_runner(provider), "pods?")
    assert result.answer == "Two pods." and [c.status for c in result.calls] == ["error", "ok"]
    assert "invalid_arguments" in provider.requests[1].messages[-1].content
    again = Scripted(bad, bad)
    ended = run(make_runner(again), "pods?")
    assert ended.status == "error" and "twice" in ended.answer


def test_max_iterations(make_runner: MakeRunner, todo: str) -> None:
    provider = Scripted(*[calls(("list_namespaces", {}))] * 3)
    result = run(make_runner(provider, max_iterations=3), "loop")
    assert result.status == "max_iterations" and len(result.calls) == 3


def test_cancelling_a_turn_keeps_the_history_well_formed(make_runner: MakeRunner, todo: str) -> None:
    class Slow(Scripted):
        async def respond(self, request: ModelRequest) -> ModelTurn:
            turn = await super().respond(request)
            if len(self.requests) == 2:  # the model thinks forever after the tool ran
                await asyncio.sleep(30)
            return turn

    history = [Message.user("before"), Message(role="assistant", content="earlier answer")]
    provider = Slow(calls(("list_namespaces", {})), say("never"))
    runner = make_runner(provider, history=history)

    async def go() -> None:
        task = asyncio.ensure_future(runner.run("slow one"))
        while len(provider.requests) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert [m.content for m in runner.history] == ["before", "earlier answer"]


def test_trace_is_a_yaml_stream(make_runner: MakeRunner, todo: str, tmp_path: Path) -> None:
    path = tmp_path / "trace.yaml"
    trace = Trace(path)
    provider = Scripted(calls(("list_resources", {"kind": "pods", "namespace": todo})), say("Pods listed."))
    run(make_runner(provider, trace=trace), "show pods")
    trace.close()
    docs = list(yaml.safe_load_all(path.read_text()))
    assert [d["action"] for d in docs] == ["user-input", "llm-response", "tool-request", "tool-response", "answer"]
    assert docs[2]["payload"] == {"id": "call-1", "name": "list_resources",
                                  "arguments": {"kind": "pods", "namespace": todo}}
    assert docs[3]["payload"]["status"] == "ok" and "todo-backend" in docs[3]["payload"]["text"]
    assert all("timestamp" in d for d in docs)


def test_a_provider_refusal_makes_the_run_refused(make_runner: MakeRunner, todo: str) -> None:
    provider = Scripted(ModelTurn(text="I will not print Secret values.", refusal="unsafe: secret values"))
    result = run(make_runner(provider), "print the secret values")
    assert result.status == "refused" and result.calls == []
