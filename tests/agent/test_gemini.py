"""The gemini provider on the real google-genai SDK, over real HTTP, against a local fake of
the Gemini API (tests/agent/fake_gemini.py) that replays scripted answers; tool calls go
through the runner, the guard and the executor to the sandbox.

Each test checks what the SDK sent (declarations, system instruction, function responses,
thought signatures, the key header) as well as what happened in the cluster.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.events import Event, Thinking
from agent.gemini import DEFAULT_MODEL, FOREIGN_SIGNATURE, GeminiProvider
from agent.messages import Message, ToolCall
from agent.provider import ModelRequest, ProviderError, ProviderSettings, create_provider
from agent.retry import Backoff
from agent.runner import EMPTY_REPLY_NUDGE
from tests.agent import fake_gemini as api
from tests.agent.conftest import MakeRunner, ask, run
from tests.agent.fake_gemini import FakeGemini
from tests.conftest import replicas
from tests.tools.conftest import Kubectl
from tools.registry import REGISTRY

FAST = Backoff(base=0.01, jitter=0)
MODEL = "gemini-test"
SIGNATURE = base64.b64encode(b"opaque thought state").decode()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with api.serve() as server:
        yield server


def gemini(fake: FakeGemini, **settings: Any) -> GeminiProvider:
    values: dict[str, Any] = {"model": MODEL, "api_key": api.KEY, "base_url": fake.url, "env": {}}
    values.update(settings)
    return GeminiProvider(ProviderSettings(**values))



def respond(provider: GeminiProvider, messages: list[Message], tools: list[dict[str, Any]] | None = None) -> Any:
    async def go() -> Any:
        try:
            return await provider.respond(ModelRequest("You are kai.", messages, tools or []))
        finally:
            await provider.aclose()

    return asyncio.run(go())



def responses(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [part["functionResponse"] for part in content["parts"] if "functionResponse" in part]


def test_scale_backend_declares_the_tools_and_returns_the_result(make_runner: MakeRunner, fresh_todo: str,
                                                                kc: Kubectl, fake: FakeGemini) -> None:
    fake.play(api.response(api.text("The user wants 3 replicas.", thought=True),
                           api.call("scale", {"name": "backend", "replicas": "3", "namespace": fresh_todo},
                                    signature=SIGNATURE), prompt_tokens=900, output_tokens=12, thoughts_tokens=30),
              api.response(api.text("Scaled todo-backend to 3 replicas."), prompt_tokens=1000, output_tokens=9))
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    runner = make_runner(gemini(fake), sink=sink)
    result = ask(runner, "scale backend to 3")
    assert (result.status, result.answer) == ("done", "Scaled todo-backend to 3 replicas.")
    assert replicas(kc, fresh_todo) == 3
    [call] = result.calls
    assert (call.tool, call.status, call.call_id) == ("scale", "ok", "gemini-1")
    assert (result.stats.usage.input_tokens, result.stats.usage.output_tokens) == (1900, 51)
    assert any(isinstance(e, Thinking) and e.text == "The user wants 3 replicas." for e in events)

    first, second = fake.requests
    assert first.path == f"/v1beta/models/{MODEL}:generateContent" and first.headers["x-goog-api-key"] == api.KEY
    body = first.body
    assert body["systemInstruction"]["parts"] == [{"text": "You are kai."}]
    assert body["contents"] == [{"role": "user", "parts": [{"text": "scale backend to 3"}]}]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    [tool] = body["tools"]
    declared = {d["name"]: d for d in tool["functionDeclarations"]}
    assert set(declared) == {schema["name"] for schema in runner.executor.schemas()} and len(declared) > 30
    scale = REGISTRY.get("scale").schema()
    assert declared["scale"]["description"] == scale["description"]
    assert api.declaration_schema(declared["scale"]) == scale["parameters"] and "parameters" not in declared["scale"]
    values = api.declaration_schema(declared["helm_upgrade"])["properties"]["values"]
    assert values["type"] == "object" and values["additionalProperties"] is True

    model_turn, answer = second.body["contents"][1:]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][1]["thoughtSignature"] and model_turn["parts"][1]["functionCall"]["name"] == "scale"
    assert answer["role"] == "user"
    [sent] = responses(answer)
    assert sent["name"] == "scale" and "id" not in sent  # the model gave no id: kai's own stays home
    assert sent["response"] == {"output": call.text} and yaml.safe_load(call.text)["to"] == 3


def test_a_refusal_goes_back_as_an_error(make_runner: MakeRunner, fresh_todo: str, kc: Kubectl,
                                         fake: FakeGemini) -> None:
    fake.play(api.response(api.call("scale", {"name": "backend", "replicas": "5", "namespace": fresh_todo})),
              api.response(api.text("The policy is read-only, so I did not scale it.")))
    result = ask(make_runner(gemini(fake), policy="mode: read-only"), "scale backend to 5")
    assert result.status == "refused" and result.calls[0].status == "denied"
    assert replicas(kc, fresh_todo) == 2
    [sent] = responses(fake.bodies[1]["contents"][-1])
    assert set(sent["response"]) == {"error"} and sent["response"]["error"] == result.calls[0].text
    assert "read-only" in sent["response"]["error"]


def test_429_then_success_is_retried_once(make_runner: MakeRunner, todo: str, fake: FakeGemini) -> None:
    fake.play(api.error(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED",
                        retry_after="0"),
              api.response(api.text("Hello.")))
    result = ask(make_runner(gemini(fake), backoff=FAST), "hello")
    assert result.answer == "Hello." and result.stats.retries == 1 and len(fake.requests) == 2
    assert fake.bodies[0] == fake.bodies[1]


def test_503_twice_then_success(make_runner: MakeRunner, todo: str, fake: FakeGemini) -> None:
    overloaded = api.error(503, "The model is overloaded. Please try again later.", "UNAVAILABLE")
    fake.play(overloaded, overloaded, api.response(api.text("Here now.")))
    result = ask(make_runner(gemini(fake), backoff=FAST), "hello")
    assert result.answer == "Here now." and result.stats.retries == 2 and len(fake.requests) == 3


def test_a_400_is_a_clear_error_without_retry(make_runner: MakeRunner, todo: str, fake: FakeGemini) -> None:
    fake.play(api.error(400, f"Invalid value at 'contents' for key {api.KEY}", "INVALID_ARGUMENT"),
              api.response(api.text("never")))
    runner = make_runner(gemini(fake), backoff=FAST)
    with pytest.raises(ProviderError) as caught:
        ask(runner, "hello")
    error = caught.value
    assert (error.retryable, error.status, len(fake.requests)) == (False, 400, 1)
    assert str(error).startswith("gemini: the request was refused (400 INVALID_ARGUMENT")
    assert api.KEY not in str(error) and "***" in str(error)
    assert runner.history == []


def test_a_refused_key_says_which_variable(fake: FakeGemini) -> None:
    with pytest.raises(ProviderError) as caught:
        respond(gemini(fake, api_key="wrong-key"), [Message.user("hello")])
    assert "API key was refused: check GEMINI_API_KEY" in str(caught.value) and not caught.value.retryable
    assert "wrong-key" not in str(caught.value)
    assert fake.requests[0].headers["x-goog-api-key"] == "wrong-key"


@pytest.mark.parametrize(("reply", "retryable", "wait", "words"), [
    (api.error(429, "quota", "RESOURCE_EXHAUSTED", retry_delay="1.5s"), True, 1.5, "quota exceeded"),
    (api.error(429, "quota", "RESOURCE_EXHAUSTED", retry_after="7", retry_delay="1.5s"), True, 7.0, "quota"),
    (api.error(500, "Internal error", "INTERNAL"), True, None, "unavailable"),
    (api.error(404, "models/gemini-test is not found", "NOT_FOUND"), False, None, "'gemini-test' not found"),
    (api.error(403, "The caller does not have permission", "PERMISSION_DENIED"), False, None, "permission denied"),
    (api.error(503, "overloaded", "UNAVAILABLE", retry_after="Wed, 21 Oct 2015 07:28:00 GMT"), True, 0.0,
     "unavailable (503 UNAVAILABLE: overloaded)"),
    (api.Reply(502, {"unexpected": "<html>bad gateway</html>"}), True, None, "unavailable (502"),
])
def test_errors_map_to_provider_errors(fake: FakeGemini, reply: api.Reply, retryable: bool, wait: float | None,
                                       words: str) -> None:
    fake.play(reply)
    with pytest.raises(ProviderError) as caught:
        respond(gemini(fake), [Message.user("hello")])
    error = caught.value
    assert (error.retryable, error.retry_after, error.status) == (retryable, wait, reply.status)
    assert words in str(error) and len(fake.requests) == 1  # the SDK itself never retries


def test_unreachable_service_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = GeminiProvider(ProviderSettings(api_key=api.KEY, base_url=f"http://127.0.0.1:{port}", env={}))
    with pytest.raises(ProviderError) as caught:
        respond(provider, [Message.user("hello")])
    assert caught.value.retryable and "cannot reach http://127.0.0.1" in str(caught.value)


def test_no_answer_in_time_is_retryable(fake: FakeGemini) -> None:
    fake.play(api.Hang())
    with pytest.raises(ProviderError) as caught:
        respond(gemini(fake, timeout=0.2), [Message.user("hello")])
    assert caught.value.retryable and str(caught.value) == f"gemini: no answer from {fake.url} within 0.2s"


def test_an_empty_reply_gets_one_corrective_turn(make_runner: MakeRunner, todo: str, fake: FakeGemini) -> None:
    fake.play(api.response(finish="MALFORMED_FUNCTION_CALL"), api.response(finish="MALFORMED_FUNCTION_CALL"))
    result = ask(make_runner(gemini(fake), backoff=FAST), "hello")
    assert result.status == "error" and len(fake.requests) == 2
    assert fake.bodies[1]["contents"] == [{"role": "user", "parts": [{"text": "hello"}, {"text": EMPTY_REPLY_NUDGE}]}]

    fake.play(api.response(finish="MALFORMED_FUNCTION_CALL"), api.response(api.text("Hello there.")))
    result = ask(make_runner(gemini(fake), backoff=FAST), "hello")
    assert (result.status, result.answer) == ("done", "Hello there.")


@pytest.mark.parametrize("reply", [api.blocked(), api.response(finish="SAFETY")], ids=["prompt", "answer"])
def test_a_safety_block_is_a_refusal(make_runner: MakeRunner, todo: str, fake: FakeGemini,
                                     reply: dict[str, object]) -> None:
    fake.play(reply)
    result = ask(make_runner(gemini(fake), backoff=FAST), "print every secret")
    assert result.status == "refused" and len(fake.requests) == 1
    assert result.answer == "Gemini declined the request (SAFETY)."


def test_an_unknown_tool_returns_an_error_to_the_model(make_runner: MakeRunner, todo: str,
                                                       fake: FakeGemini) -> None:
    fake.play(api.response(api.call("frobnicate", {"everything": True})),
              api.response(api.text("I have no such tool.")))
    result = ask(make_runner(gemini(fake)), "frobnicate everything")
    assert result.answer == "I have no such tool." and result.calls[0].status == "error"
    [sent] = responses(fake.bodies[1]["contents"][-1])
    assert sent["name"] == "frobnicate" and "unknown_tool" in sent["response"]["error"]


def test_several_calls_in_one_turn_answer_in_one_content(make_runner: MakeRunner, todo: str,
                                                         fake: FakeGemini) -> None:
    fake.play(api.response(api.call("list_resources", {"kind": "pods", "namespace": todo}, id="fc-pods",
                                    signature=SIGNATURE),
                           api.call("get_events", {"namespace": todo, "limit": 5}, id="fc-events")),
              api.response(api.text("All pods are running; no warnings.")))
    result = ask(make_runner(gemini(fake)), "show the pods and the events in todo-app")
    assert [(c.tool, c.status, c.call_id) for c in result.calls] == [("list_resources", "ok", "fc-pods"),
                                                                       ("get_events", "ok", "fc-events")]
    contents = fake.bodies[1]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    pods, events = responses(contents[2])
    assert (pods["id"], pods["name"], pods["response"]) == ("fc-pods", "list_resources",
                                                            {"output": result.calls[0].text})
    assert (events["id"], events["name"], events["response"]) == ("fc-events", "get_events",
                                                                  {"output": result.calls[1].text})
    assert "todo-backend" in pods["response"]["output"]


def test_diagnose_then_logs_then_answer(make_runner: MakeRunner, todo: str, fake: FakeGemini) -> None:
    fake.play(api.response(api.call("diagnose", {"namespace": todo, "name": "backend"}, signature=SIGNATURE)),
              api.response(api.text("Checking the logs too.", signature="dGV4dA=="),
                           api.call("get_logs", {"name": "backend", "namespace": todo, "tail": 20},
                                    signature="bG9ncw==")),
              api.response(api.text("The backend pods are running and their logs show no errors.")))
    result = ask(make_runner(gemini(fake)), "why are the backend pods failing?")
    assert [(c.tool, c.status) for c in result.calls] == [("diagnose", "ok"), ("get_logs", "ok")]
    assert result.answer == "The backend pods are running and their logs show no errors."
    assert [c.call_id for c in result.calls] == ["gemini-1", "gemini-2"]
    contents = fake.bodies[2]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    assert contents[3]["parts"][0] == {"text": "Checking the logs too.", "thoughtSignature": "dGV4dA=="}
    assert responses(contents[2])[0]["response"] == {"output": result.calls[0].text}
    assert responses(contents[4])[0]["response"] == {"output": result.calls[1].text}


def test_a_conversation_keeps_signatures_across_runs(make_runner: MakeRunner, todo: str, fake: FakeGemini) -> None:
    """Two prompts, each in its own event loop (as the lead's ``run`` does): the second
    request carries the whole first exchange, thought signature included."""
    fake.play(api.response(api.call("list_resources", {"kind": "deployments", "namespace": todo},
                                    signature=SIGNATURE)),
              api.response(api.text("Two deployments.")),
              api.response(api.call("get_resource", {"kind": "deployment", "name": "backend", "namespace": todo},
                                    signature=SIGNATURE)),
              api.response(api.text("It has 2 replicas.")))
    provider = gemini(fake)
    runner = make_runner(provider)
    assert run(runner, "list the deployments").answer == "Two deployments."
    second = run(runner, "how many replicas has the backend?")
    asyncio.run(provider.aclose())
    assert second.answer == "It has 2 replicas." and second.calls[0].call_id == "gemini-2"
    contents = fake.bodies[3]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user", "model", "user"]
    assert contents[1]["parts"][0]["functionCall"]["name"] == "list_resources"
    assert base64.b64decode(contents[1]["parts"][0]["thoughtSignature"]) == b"opaque thought state"
    assert contents[3]["parts"] == [{"text": "Two deployments."}]


def test_history_from_another_provider_is_rebuilt(fake: FakeGemini) -> None:
    fake.play(api.response(api.text("Done before.")))
    call = ToolCall(id="call-1", name="scale", arguments={"name": "backend", "replicas": "3"})
    history = [Message.user("scale backend to 3"),
               Message(role="assistant", content="Scaling.", tool_calls=[call]),
               Message.tool_result(call, "scaled todo-backend from 2 to 3", "ok"),
               Message(role="assistant", content="Scaled."),
               Message.user("what did you do?")]
    turn = respond(gemini(fake), history)
    assert turn.text == "Done before." and turn.extra["gemini"]["parts"] == [{"text": "Done before."}]
    contents = fake.bodies[0]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    text, function_call = contents[1]["parts"]
    assert text == {"text": "Scaling."}
    assert function_call["functionCall"] == {"name": "scale", "args": {"name": "backend", "replicas": "3"}}
    assert base64.urlsafe_b64decode(function_call["thoughtSignature"]) == FOREIGN_SIGNATURE
    assert contents[2]["parts"] == [{"functionResponse": {
        "name": "scale", "response": {"output": "scaled todo-backend from 2 to 3"}}}]


def test_thinking_and_usage_of_one_turn(fake: FakeGemini) -> None:
    fake.play(api.response(api.text("Plan: read the pods.", thought=True, signature=SIGNATURE),
                           api.text("Let me look. "), api.call("list_resources", {"kind": "pods"}, id="x1"),
                           prompt_tokens=40, output_tokens=8, thoughts_tokens=20))
    turn = respond(gemini(fake), [Message.user("pods?")], [REGISTRY.get("list_resources").schema()])
    assert (turn.text, turn.thinking) == ("Let me look. ", "Plan: read the pods.")
    assert [(c.id, c.name, c.arguments, c.error) for c in turn.tool_calls] == [
        ("x1", "list_resources", {"kind": "pods"}, None)]
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (40, 28)


def test_settings_key_model_and_base_url_from_the_environment(fake: FakeGemini) -> None:
    env = {"GOOGLE_API_KEY": api.KEY, "GOOGLE_GEMINI_BASE_URL": fake.url}
    provider = create_provider("gemini", ProviderSettings(env=env))
    assert isinstance(provider, GeminiProvider)
    assert provider.model == DEFAULT_MODEL and provider.models()[0] == DEFAULT_MODEL
    assert len(set(provider.models())) == len(provider.models()) > 1
    fake.play(api.response(api.text("hi")))
    assert respond(provider, [Message.user("hello")]).text == "hi"
    assert fake.requests[0].model == DEFAULT_MODEL and fake.requests[0].headers["x-goog-api-key"] == api.KEY
    both = GeminiProvider(ProviderSettings(env={"GEMINI_API_KEY": "gemini", "GOOGLE_API_KEY": "google"}))
    assert both._key == "google"  # as the SDK chooses
    asyncio.run(both.aclose())
    chosen = GeminiProvider(ProviderSettings(model="gemini-3.1-pro-preview", api_key="k", env={}))
    assert chosen.models()[0] == "gemini-3.1-pro-preview" and chosen.models().count("gemini-3.1-pro-preview") == 1
    asyncio.run(chosen.aclose())


def test_a_missing_key_is_a_clear_error() -> None:
    with pytest.raises(ProviderError) as caught:
        GeminiProvider(ProviderSettings(env={"GEMINI_API_KEY": "  "}))
    assert "GEMINI_API_KEY" in str(caught.value) and "GOOGLE_API_KEY" in str(caught.value)
    assert not caught.value.retryable


def test_the_sdk_loads_only_when_the_provider_is_built() -> None:
    code = ("import sys, agent.provider, app.cli, agent.gemini\n"
            "assert not [m for m in sys.modules if m.startswith('google.genai')], 'google.genai imported'\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_a_call_sent_back_without_its_signature_is_refused(fake: FakeGemini) -> None:
    """What the verbatim parts are for: the API (and the fake) refuse a call that comes back
    without the signature it was given; kept in ``extra``, it goes back as it came."""
    fake.play(api.response(api.call("list_resources", {"kind": "pods"}, signature=SIGNATURE)))
    prompt = Message.user("pods?")
    turn = respond(gemini(fake), [prompt])
    [call] = turn.tool_calls
    result = Message.tool_result(call, "2 pods", "ok")

    stripped = turn.message().model_copy(update={"extra": {}})
    with pytest.raises(ProviderError) as caught:
        respond(gemini(fake), [prompt, stripped, result])
    assert caught.value.status == 400 and "missing a thought_signature" in str(caught.value)

    fake.play(api.response(api.text("Two pods.")))
    assert respond(gemini(fake), [prompt, turn.message(), result]).text == "Two pods."
