"""The ``openai`` and ``openai-compatible`` providers end to end: kai's runner → the real
openai-agents SDK → real HTTP → a local fake of the OpenAI API (Responses and Chat
Completions) replaying scripted turns; tool calls → the guarded executor → the sandbox.

Each test checks what the SDK sent (tool schemas, system prompt, tool results) as well as
what happened in the cluster.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from agent.messages import Message
from agent.openai_provider import (
    NO_KEY,
    TOOL_REFUSAL,
    OpenAICompatibleProvider,
    OpenAIProvider,
    function_tool,
    retry_after,
)
from agent.provider import ModelRequest, Provider, ProviderError, ProviderSettings, create_provider
from agent.retry import Backoff
from agent.runner import EMPTY_REPLY_NUDGE
from tests.agent.conftest import MakeRunner, ask
from tests.agent.fake_openai import (
    CHAT,
    RESPONSES,
    Failure,
    FakeOpenAI,
    Hang,
    Recorded,
    Reply,
    calls,
    error_body,
    say,
)
from tests.conftest import Kubectl, replicas, wait_for
from tools.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
KINDS = ["openai", "openai-compatible"]
FAST = Backoff(base=0.01)


@pytest.fixture
def api() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake
    assert not fake.traces(), "the SDK exported traces"


def provider(kind: str, api: FakeOpenAI, *, key: str | None = None, base_url: str | None = None,
             timeout: float = 30.0, model: str | None = None, **env: str) -> Provider:
    return create_provider(kind, ProviderSettings(model=model, api_key=key or api.key, base_url=base_url or api.url,
                                                  timeout=timeout, env=env))



def respond(chosen: Provider, request: ModelRequest) -> Any:
    async def go() -> Any:
        try:
            return await chosen.respond(request)
        finally:
            await chosen.aclose()

    return asyncio.run(go())


def assistant_messages(sent: Recorded) -> list[tuple[str | None, list[tuple[str, str, str]]]]:
    """A Chat Completions request's assistant messages: (text, [(call id, tool, arguments)])."""
    return [(m.get("content"), [(c["id"], c["function"]["name"], c["function"]["arguments"])
                                for c in m.get("tool_calls") or []])
            for m in sent.body["messages"] if m["role"] == "assistant"]



def scale(namespace: str, name: str = "backend", count: str = "3") -> tuple[str, dict[str, Any]]:
    return "scale", {"name": name, "replicas": count, "namespace": namespace}


# ----- the main flow


@pytest.mark.parametrize("kind", KINDS)
def test_scale_backend_to_3(kind: str, api: FakeOpenAI, make_runner: MakeRunner, fresh_todo: str,
                            kc: Kubectl) -> None:
    api.script(calls(scale(fresh_todo), input_tokens=900, output_tokens=30),
               say("todo-backend now runs 3 replicas.", input_tokens=1000, output_tokens=12))
    runner = make_runner(provider(kind, api), namespace=fresh_todo, backoff=FAST)

    result = ask(runner, "scale backend to 3")

    assert result.status == "done", result.answer
    assert result.answer == "todo-backend now runs 3 replicas."
    assert replicas(kc, fresh_todo, "todo-backend") == 3
    [call] = result.calls
    assert (call.tool, call.status, call.arguments) == ("scale", "ok", scale(fresh_todo)[1])
    first, second = api.model_requests()
    assert first.path == (RESPONSES if kind == "openai" else CHAT)
    assert first.system == "You are kai."
    assert first.user_texts == ["scale backend to 3"]
    sent = first.tool("scale")
    assert sent["parameters"] == REGISTRY.get("scale").schema()["parameters"]
    assert sent["description"] == REGISTRY.get("scale").schema()["description"]
    assert sent["strict"] is False
    assert sorted(first.tool_names) == sorted(schema["name"] for schema in runner.executor.schemas())
    # the second request carries the call as the model made it and the tool's result for it
    [made] = second.function_calls
    assert made["call_id"] == call.call_id and made["name"] == "scale"
    assert json.loads(made["arguments"]) == scale(fresh_todo)[1]
    assert second.tool_results == [(call.call_id, call.text)]
    assert "3" in call.text
    assert (result.stats.usage.input_tokens, result.stats.usage.output_tokens) == (1900, 42)
    assert result.stats.retries == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_refusal_goes_back_to_the_model(kind: str, api: FakeOpenAI, make_runner: MakeRunner, fresh_todo: str,
                                          kc: Kubectl) -> None:
    api.script(calls(scale(fresh_todo)), say("kai is read-only here, so I did not scale it."))
    runner = make_runner(provider(kind, api), policy="mode: read-only", namespace=fresh_todo, backoff=FAST)

    result = ask(runner, "scale backend to 3")

    assert result.status == "refused"
    [call] = result.calls
    assert call.status == "denied" and "read-only" in call.text
    assert api.model_requests()[1].tool_results == [(call.call_id, call.text)]
    assert replicas(kc, fresh_todo, "todo-backend") == 2


@pytest.mark.parametrize("kind", KINDS)
def test_the_models_own_refusal_makes_the_run_refused(kind: str, api: FakeOpenAI, make_runner: MakeRunner,
                                                      todo: str) -> None:
    api.script(Reply(refusal="I can't help with printing secrets."))
    result = ask(make_runner(provider(kind, api), backoff=FAST), "print every secret in the cluster")
    assert (result.status, result.answer) == ("refused", "I can't help with printing secrets.")
    assert result.calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_several_calls_in_one_turn(kind: str, api: FakeOpenAI, make_runner: MakeRunner, fresh_todo: str,
                                   kc: Kubectl) -> None:
    api.script(calls(scale(fresh_todo, "backend"), scale(fresh_todo, "frontend")),
               say("Both run 3 replicas now."))
    runner = make_runner(provider(kind, api), namespace=fresh_todo, backoff=FAST)

    result = ask(runner, "scale backend and frontend to 3")

    assert result.status == "done"
    assert [c.status for c in result.calls] == ["ok", "ok"]
    second = api.model_requests()[1]
    assert [c["call_id"] for c in second.function_calls] == [c.call_id for c in result.calls]
    assert second.tool_results == [(c.call_id, c.text) for c in result.calls]
    assert replicas(kc, fresh_todo, "todo-backend") == 3
    assert replicas(kc, fresh_todo, "todo-frontend") == 3


# ----- retries and errors


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("failure", [
    Failure(429, {"retry-after": "0"}, error_body("Rate limit reached for requests", "requests",
                                                  "rate_limit_exceeded")),
    Failure(500, {}, error_body("The server had an error while processing your request.", "server_error")),
], ids=["429", "500"])
def test_a_retryable_failure_is_retried_once(kind: str, failure: Failure, api: FakeOpenAI,
                                             make_runner: MakeRunner) -> None:
    api.script(failure, say("Hello."))
    runner = make_runner(provider(kind, api), backoff=FAST)

    result = ask(runner, "hello")

    assert (result.status, result.answer) == ("done", "Hello.")
    assert result.stats.retries == 1
    assert len(api.model_requests()) == 2  # the client itself never retried


@pytest.mark.parametrize("kind", KINDS)
def test_a_rejected_key_is_a_clear_error_without_retry(kind: str, api: FakeOpenAI, make_runner: MakeRunner) -> None:
    wrong = "sk-wrong-key-0123456789abcdef"
    runner = make_runner(provider(kind, api, key=wrong), backoff=FAST)

    with pytest.raises(ProviderError) as raised:
        ask(runner, "hello")

    error = raised.value
    assert (error.status, error.retryable) == (401, False)
    assert "401" in error.message and "OPENAI_API_KEY" in error.message
    assert wrong not in error.message
    assert len(api.model_requests()) == 1
    assert runner.history == []  # the failed turn left no trace in the conversation


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("headers", "wait"), [({"retry-after-ms": "1500"}, 1.5), ({"Retry-After": "7"}, 7.0),
                                               ({}, None)])
def test_429_says_how_long_to_wait(kind: str, headers: dict[str, str], wait: float | None, api: FakeOpenAI) -> None:
    api.script(Failure(429, headers, error_body("Rate limit reached", "requests", "rate_limit_exceeded")))

    with pytest.raises(ProviderError) as raised:
        respond(provider(kind, api), ModelRequest("", [Message.user("hi")], []))

    assert (raised.value.retryable, raised.value.retry_after, raised.value.status) == (True, wait, 429)


def test_retry_after_as_an_http_date() -> None:
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # long past
    assert retry_after({"Retry-After": "soon"}) is None


@pytest.mark.parametrize("kind", KINDS)
def test_quota_exhausted_is_not_retried(kind: str, api: FakeOpenAI) -> None:
    api.script(Failure(429, {}, error_body("You exceeded your current quota.", "insufficient_quota",
                                           "insufficient_quota")))

    with pytest.raises(ProviderError) as raised:
        respond(provider(kind, api), ModelRequest("", [Message.user("hi")], []))

    assert not raised.value.retryable and "quota" in raised.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_timeout_is_retryable(kind: str, api: FakeOpenAI) -> None:
    api.script(Hang())

    with pytest.raises(ProviderError) as raised:
        respond(provider(kind, api, timeout=0.2), ModelRequest("", [Message.user("hi")], []))

    assert raised.value.retryable and "within 0.2 s" in raised.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreachable_server_is_retryable(kind: str, api: FakeOpenAI) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ProviderError) as raised:
        respond(provider(kind, api, base_url=f"http://127.0.0.1:{port}/v1"), ModelRequest("", [Message.user("hi")], []))

    assert raised.value.retryable and f"127.0.0.1:{port}" in raised.value.message


def test_a_compatible_server_url_without_v1_is_explained(api: FakeOpenAI) -> None:
    chosen = provider("openai-compatible", api, base_url=api.url.removesuffix("/v1"))

    with pytest.raises(ProviderError) as raised:
        respond(chosen, ModelRequest("", [Message.user("hi")], []))

    assert (raised.value.status, raised.value.retryable) == (404, False)
    assert "/v1" in raised.value.message and "llama3.1" in raised.value.message


# ----- malformed and empty replies


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_arguments_get_one_correction(kind: str, api: FakeOpenAI, make_runner: MakeRunner, fresh_todo: str,
                                                kc: Kubectl) -> None:
    broken = '{"name": "backend", "replicas": 3'
    api.script(calls(("scale", broken)), calls(scale(fresh_todo)), say("Scaled to 3."))
    runner = make_runner(provider(kind, api), namespace=fresh_todo, backoff=FAST)

    result = ask(runner, "scale backend to 3")

    assert result.status == "done"
    assert [c.status for c in result.calls] == ["error", "ok"]
    second = api.model_requests()[1]
    [made] = second.function_calls
    assert made["arguments"] == broken  # sent back as the model wrote it
    [(call_id, output)] = second.tool_results
    assert call_id == result.calls[0].call_id and output.startswith("invalid_arguments: the arguments are not JSON")
    assert replicas(kc, fresh_todo, "todo-backend") == 3


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_twice_ends_the_run(kind: str, api: FakeOpenAI, make_runner: MakeRunner, fresh_todo: str,
                                      kc: Kubectl) -> None:
    api.script(calls(("scale", "{oops")), calls(("scale", '["backend", 3]')))
    runner = make_runner(provider(kind, api), namespace=fresh_todo, backoff=FAST)

    result = ask(runner, "scale backend to 3")

    assert result.status == "error" and "unreadable arguments for scale twice" in result.answer
    assert len(api.model_requests()) == 2
    assert "must be a JSON object" in (runner.history[-2].tool_calls[0].error or "")
    assert replicas(kc, fresh_todo, "todo-backend") == 2


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_reply_gets_one_nudge(kind: str, api: FakeOpenAI, make_runner: MakeRunner) -> None:
    api.script(Reply(), say("There are 3 namespaces."))
    runner = make_runner(provider(kind, api), backoff=FAST)

    result = ask(runner, "how many namespaces are there?")

    assert (result.status, result.answer) == ("done", "There are 3 namespaces.")
    assert api.model_requests()[1].user_texts == ["how many namespaces are there?", EMPTY_REPLY_NUDGE]


@pytest.mark.parametrize("kind", KINDS)
def test_empty_twice_ends_the_run(kind: str, api: FakeOpenAI, make_runner: MakeRunner) -> None:
    api.script(Reply(), Reply())
    runner = make_runner(provider(kind, api), backoff=FAST)

    result = ask(runner, "hello")

    assert result.status == "error" and len(api.model_requests()) == 2


# ----- the mapping of turns


@pytest.mark.parametrize("kind", KINDS)
def test_reasoning_becomes_thinking_and_responses_items_are_replayed(kind: str, api: FakeOpenAI) -> None:
    api.script(calls(("list_namespaces", {}), text="Let me look.", reasoning="Namespaces first."), say("Three."))
    chosen = provider(kind, api)
    request = ModelRequest("sys", [Message.user("namespaces?")], [REGISTRY.get("list_namespaces").schema()])

    async def go() -> None:
        try:
            turn = await chosen.respond(request)
            assert (turn.text, turn.thinking) == ("Let me look.", "Namespaces first.")
            [call] = turn.tool_calls
            assert (call.name, call.arguments, call.error) == ("list_namespaces", {}, None)
            history = [*request.messages, turn.message(), Message.tool_result(call, "3 namespaces", "ok")]
            again = await chosen.respond(ModelRequest("sys", history, request.tools))
            assert again.text == "Three."
        finally:
            await chosen.aclose()

    asyncio.run(go())
    second = api.model_requests()[1]
    if kind == "openai":  # the output items go back as they came: reasoning, message, call, with their ids
        kinds = [(item.get("type"), item.get("id")) for item in second.body["input"]]
        assert kinds == [(None, None), ("reasoning", "rs_1"), ("message", "msg_1"), ("function_call", "fc_1_1"),
                         ("function_call_output", None)]
    else:  # one assistant message with its text and its call; reasoning goes back only to DeepSeek (below)
        assert assistant_messages(second) == [("Let me look.", [("call_1_1", "list_namespaces", "{}")])]
        [assistant] = [m for m in second.body["messages"] if m["role"] == "assistant"]
        assert "reasoning_content" not in assistant


def test_deepseek_gets_its_reasoning_back(api: FakeOpenAI) -> None:
    """DeepSeek's thinking mode wants the reasoning of a turn with tool calls sent back with it:
    the SDK does that from the output items kept with the message."""
    api.script(calls(("list_namespaces", {}), reasoning="Namespaces first."), say("Three."))
    chosen = provider("openai-compatible", api, model="deepseek-reasoner")
    request = ModelRequest("sys", [Message.user("namespaces?")], [REGISTRY.get("list_namespaces").schema()])

    async def go() -> None:
        try:
            turn = await chosen.respond(request)
            [call] = turn.tool_calls
            history = [*request.messages, turn.message(), Message.tool_result(call, "3 namespaces", "ok")]
            await chosen.respond(ModelRequest("sys", history, request.tools))
        finally:
            await chosen.aclose()

    asyncio.run(go())
    [assistant] = [m for m in api.model_requests()[1].body["messages"] if m["role"] == "assistant"]
    assert assistant["reasoning_content"] == "Namespaces first."
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_1_1"]


@pytest.mark.parametrize(("first", "then"), [("openai", "openai-compatible"), ("openai-compatible", "openai")])
def test_a_conversation_continued_on_the_other_api(first: str, then: str, api: FakeOpenAI) -> None:
    """A session resumed with the other provider: the kept output items are converted for the
    other API, and what only one API knows (placeholder ids, another provider's reasoning) stays out."""
    api.script(calls(("list_namespaces", {}), text="Let me look.", reasoning="Namespaces first."), say("Three."))
    before, after = provider(first, api), provider(then, api)
    request = ModelRequest("sys", [Message.user("namespaces?")], [REGISTRY.get("list_namespaces").schema()])

    async def go() -> str:
        try:
            turn = await before.respond(request)
            [call] = turn.tool_calls
            history = [*request.messages, turn.message(), Message.tool_result(call, "3 namespaces", "ok")]
            return (await after.respond(ModelRequest("sys", history, request.tools))).text
        finally:
            await before.aclose()
            await after.aclose()

    assert asyncio.run(go()) == "Three."
    second = api.model_requests()[1]
    assert second.api == ("chat" if then == "openai-compatible" else "responses")
    assert [(c["call_id"], c["name"]) for c in second.function_calls] == [("call_1_1", "list_namespaces")]
    assert second.tool_results == [("call_1_1", "3 namespaces")]
    if then == "openai-compatible":
        assert assistant_messages(second) == [("Let me look.", [("call_1_1", "list_namespaces", "{}")])]
    else:
        sent = json.dumps(second.body)
        assert "__fake_id__" not in sent and "provider_data" not in sent
        assert [item.get("type") for item in second.body["input"]] == [
            None, "message", "function_call", "function_call_output"]


@pytest.mark.parametrize("kind", KINDS)
def test_history_from_another_provider_is_sent(kind: str, api: FakeOpenAI) -> None:
    """Messages without this provider's extra (the offline planner's, Gemini's) are rebuilt from
    their fields, text and calls together."""
    from agent.messages import ToolCall

    call = ToolCall(id="call-1", name="list_namespaces", arguments={"limit": 5})
    history = [Message.user("namespaces?"), Message(role="assistant", content="Looking.", tool_calls=[call]),
               Message.tool_result(call, "default, todo-app", "ok"), Message(role="assistant", content="Two."),
               Message.user("and now?")]
    api.script(say("Still two."))

    turn = respond(provider(kind, api), ModelRequest("sys", history, []))

    assert turn.text == "Still two."
    [sent] = api.model_requests()
    assert sent.user_texts == ["namespaces?", "and now?"]
    assert [(c["call_id"], c["name"], json.loads(c["arguments"])) for c in sent.function_calls] == [
        ("call-1", "list_namespaces", {"limit": 5})]
    assert sent.tool_results == [("call-1", "default, todo-app")]
    if kind == "openai-compatible":  # the text and the call in one assistant message, as the model made them
        assert assistant_messages(sent) == [("Looking.", [("call-1", "list_namespaces", '{"limit": 5}')]),
                                            ("Two.", [])]
    else:
        assert [(i.get("role"), i.get("type"), i.get("content")) for i in sent.body["input"]] == [
            ("user", None, "namespaces?"), ("assistant", None, "Looking."), (None, "function_call", None),
            (None, "function_call_output", None), ("assistant", None, "Two."), ("user", None, "and now?")]


# ----- settings, tracing, imports, tools


def test_missing_key_is_a_clear_error() -> None:
    with pytest.raises(ProviderError) as raised:
        OpenAIProvider(ProviderSettings(env={}))
    assert "OPENAI_API_KEY" in raised.value.message and not raised.value.retryable


def test_key_and_base_url_from_the_environment(api: FakeOpenAI) -> None:
    chosen = OpenAIProvider(ProviderSettings(env={"OPENAI_API_KEY": api.key, "OPENAI_BASE_URL": api.url}))
    api.script(say("Hi."))

    assert respond(chosen, ModelRequest("", [Message.user("hi")], [])).text == "Hi."
    assert chosen.model == "gpt-4.1" and api.model_requests()[0].body["model"] == "gpt-4.1"
    assert chosen.models()[0] == "gpt-4.1" and len(chosen.models()) > 1


def test_openai_compatible_needs_a_base_url() -> None:
    with pytest.raises(ProviderError) as raised:
        OpenAICompatibleProvider(ProviderSettings(api_key="x", env={}))
    assert "--llm-endpoint" in raised.value.message and "OPENAI_BASE_URL" in raised.value.message


def test_openai_compatible_without_a_key_sends_a_placeholder() -> None:
    with FakeOpenAI(key=NO_KEY) as local:
        chosen = OpenAICompatibleProvider(ProviderSettings(model="qwen2.5", env={"OPENAI_BASE_URL": local.url}))
        local.script(say("Hi."))
        assert respond(chosen, ModelRequest("", [Message.user("hi")], [])).text == "Hi."
        assert local.model_requests()[0].body["model"] == "qwen2.5"
        assert chosen.models()[0] == "qwen2.5"


@pytest.mark.parametrize("kind", KINDS)
def test_aclose_closes_the_client(kind: str, api: FakeOpenAI) -> None:
    chosen = provider(kind, api)
    api.script(say("Hi."))

    async def go() -> bool:
        await chosen.respond(ModelRequest("", [Message.user("hi")], []))
        client = chosen._client  # type: ignore[attr-defined]
        await chosen.aclose()
        return bool(client.is_closed())

    assert asyncio.run(go())


@pytest.fixture
def exporter_to_fake(api: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The SDK's trace exporter pointed at the fake (it would post to OpenAI), so a test can see
    whether anything was exported; tracing is off again afterwards."""
    from agents import set_tracing_disabled
    from agents.tracing.processors import default_exporter

    exporter = default_exporter()
    endpoint = exporter.endpoint
    exporter.endpoint = api.url + "/traces/ingest"
    try:
        yield api
    finally:
        set_tracing_disabled(True)
        exporter.endpoint = endpoint


@pytest.mark.parametrize("kind", KINDS)
def test_no_trace_export_by_default(kind: str, exporter_to_fake: FakeOpenAI) -> None:
    from agents import flush_traces

    api = exporter_to_fake
    api.script(say("Hi."))
    assert respond(provider(kind, api), ModelRequest("", [Message.user("hi")], [])).text == "Hi."
    flush_traces()
    assert api.traces() == []


def test_trace_export_when_configured(exporter_to_fake: FakeOpenAI) -> None:
    """The positive case, so the check above can fail: with KAI_OPENAI_TRACING=1 the SDK exports."""
    from agents import flush_traces

    api = exporter_to_fake
    api.script(say("Hi."))
    assert respond(provider("openai", api, KAI_OPENAI_TRACING="1"), ModelRequest("", [Message.user("hi")], [])).text
    flush_traces()

    def exported() -> list[dict[str, Any]]:
        return [item for request in api.traces() for item in request.body["data"]]

    wait_for(lambda: len(exported()) >= 2, 10)  # the SDK's batch thread may be the one that sends them
    assert {item["object"] for item in exported()} == {"trace", "trace.span"}
    assert {request.headers["authorization"] for request in api.traces()} == {f"Bearer {api.key}"}
    api.requests = [r for r in api.requests if not r.path.startswith("/v1/traces")]  # seen; the fixture checks none


def test_the_cli_imports_neither_sdk() -> None:
    code = ("import sys, agent.provider, agent.openai_provider, app.cli; "
            "loaded = [m for m in ('openai', 'agents') if m in sys.modules]; print(loaded); sys.exit(bool(loaded))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_sdk_never_runs_a_tool() -> None:
    schema = REGISTRY.get("scale").schema()
    tool = function_tool(schema)

    assert (tool.name, tool.params_json_schema, tool.strict_json_schema) == ("scale", schema["parameters"], False)

    async def invoke() -> object:
        return await tool.on_invoke_tool(cast(Any, None), '{"name": "backend", "replicas": "3"}')

    answer = asyncio.run(invoke())
    assert answer == TOOL_REFUSAL and "guard" in TOOL_REFUSAL
