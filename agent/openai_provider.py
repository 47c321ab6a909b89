"""The ``openai`` and ``openai-compatible`` providers, on the openai-agents SDK's ``Model`` interface.

kai's runner owns the loop and runs every tool call through the guard, so these providers use
the SDK one model call at a time (``Model.get_response``), never ``agents.Runner``:
``openai`` speaks the Responses API (``OpenAIResponsesModel``), ``openai-compatible`` the Chat
Completions API (``OpenAIChatCompletionsModel``) that Ollama, vLLM and llama.cpp serve.

The SDK is given function tools built from the same JSON schemas as every provider, so the
model sees them; it never runs them, and if it ever tried, their ``on_invoke_tool`` refuses.
Each reply's output items are kept with the assistant message and sent back as they came, as
the SDK's own runner does (ids, reasoning, arguments as written); the SDK converts them for
either API. The client does not retry (``max_retries=0``): errors become :class:`ProviderError`
with ``retryable`` and ``retry_after``, and the runner retries with its backoff. The SDK's
trace export (to OpenAI) stays off unless ``KAI_OPENAI_TRACING=1``; for ``openai-compatible``
its spans then carry no inputs or outputs, so a local server's conversation stays local.

``openai`` and ``agents`` are imported only here, when a provider is built, never when this
module is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from .messages import Message, ModelTurn, ToolCall, Usage
from .provider import ModelRequest, ProviderError, ProviderSettings

if TYPE_CHECKING:
    from agents import FunctionTool, Model, ModelResponse, Tool, TResponseInputItem
    from agents.tool_context import ToolContext
    from openai import APIStatusError, AsyncOpenAI

OPENAI_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4.1"
OPENAI_MODELS = ("gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "o4-mini")
# What Ollama calls its common tool-calling model; vLLM and llama.cpp serve the model they were
# started with (llama.cpp ignores the name), so pass --model for them.
COMPATIBLE_DEFAULT_MODEL = "llama3.1"
COMPATIBLE_MODELS = ("llama3.1", "qwen2.5", "mistral-nemo")
# Local servers mostly need no key, but the client sends one: this is what they receive then.
NO_KEY = "no-key"

TRACING_ENV = "KAI_OPENAI_TRACING"
TOOL_REFUSAL = ("refused: kai runs tools only through its guard (policy, preview, approval, audit); "
                "the SDK never runs them")
MAX_DETAIL = 300

# The key of Message.extra / ModelTurn.extra under which these providers keep a reply's output
# items (the SDK's input item dicts), replayed as they came.
ITEMS = "openai_items"

Api = Literal["responses", "chat"]


class _OpenAIBase:
    """What both providers share: settings, the client, tools, the conversation's items, errors."""

    name: str
    api: Api
    label: str
    markdown = True

    def __init__(self, *, model: str, api_key: str, base_url: str, settings: ProviderSettings) -> None:
        _require_sdk(self.name)
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.timeout = settings.timeout
        self._key = api_key
        self._tracing = settings.env.get(TRACING_ENV) == "1"
        _configure_tracing(self._tracing)
        self._client: AsyncOpenAI | None = None
        self._sdk_model: Model | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ----- the Provider protocol

    def models(self) -> list[str]:
        known = OPENAI_MODELS if self.api == "responses" else COMPATIBLE_MODELS
        return [self.model, *(name for name in known if name != self.model)]

    async def respond(self, request: ModelRequest) -> ModelTurn:
        from agents import ModelSettings, ModelTracing

        model = self._model()
        tools: list[Tool] = [function_tool(schema) for schema in request.tools]
        if not self._tracing:
            tracing = ModelTracing.DISABLED
        elif self.api == "responses":
            tracing = ModelTracing.ENABLED
        else:  # a local server's conversation stays local: spans without inputs and outputs
            tracing = ModelTracing.ENABLED_WITHOUT_DATA
        try:
            with self._trace():
                response = await model.get_response(
                    request.system or None, self._input(request.messages), ModelSettings(), tools, None, [],
                    tracing, previous_response_id=None, conversation_id=None, prompt=None)
        except Exception as exc:
            error = self._error(exc)
            if error is None:
                raise
            raise error from exc
        return self._turn(response)

    async def aclose(self) -> None:
        client, loop = self._client, self._loop
        self._client = self._sdk_model = self._loop = None
        if client is not None and loop is asyncio.get_running_loop():
            await client.close()

    # ----- the SDK

    def _model(self) -> Model:
        """The SDK model on a client of the running event loop. A client's connections belong to
        the loop that opened them, so a new loop (each ``asyncio.run``) gets a new client; the old
        one cannot be closed once its loop is gone, so close the provider (:meth:`aclose`) in
        the loop that used it, as the front ends do."""
        loop = asyncio.get_running_loop()
        if self._sdk_model is None or self._loop is not loop:
            from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
            from openai import AsyncOpenAI

            client = AsyncOpenAI(api_key=self._key, base_url=self.base_url, max_retries=0, timeout=self.timeout)
            self._client, self._loop = client, loop
            if self.api == "responses":
                self._sdk_model = OpenAIResponsesModel(model=self.model, openai_client=client)
            else:
                self._sdk_model = OpenAIChatCompletionsModel(model=self.model, openai_client=client)
        return self._sdk_model

    @contextlib.contextmanager
    def _trace(self) -> Iterator[None]:
        """With tracing configured, one SDK trace per model call (a span needs a trace to go to).
        ``openai`` exports it with its own key; ``openai-compatible``'s key is the local
        server's, so its traces go with the exporter's default (``OPENAI_API_KEY``)."""
        if not self._tracing:
            yield
            return
        from agents.tracing import TracingConfig, trace

        export = TracingConfig(api_key=self._key) if self.api == "responses" else None
        with trace(f"kai {self.name}", metadata={"model": self.model}, tracing=export):
            yield

    # ----- kai's conversation -> the SDK's input items

    def _input(self, messages: list[Message]) -> list[TResponseInputItem]:
        items: list[dict[str, Any]] = []
        for message in messages:
            if message.role == "user":
                items.append({"role": "user", "content": message.content})
            elif message.role == "assistant":
                items.extend(self._assistant(message))
            else:
                items.append({"type": "function_call_output", "call_id": message.tool_call_id or "",
                              "output": message.content})
        return items  # type: ignore[return-value]  # dicts of the SDK's TypedDict shapes

    def _assistant(self, message: Message) -> list[dict[str, Any]]:
        replay = message.extra.get(ITEMS)
        if _replayable(replay, message.tool_calls):
            # As the SDK's own runner does: the output items as they came, so function calls keep
            # their ids and arguments as written, with the reasoning they belong to. Items of the
            # other API (a resumed session) are converted by the SDK too. Copies: the SDK edits
            # the items it sends (it drops placeholder ids for the Responses API).
            return [dict(item) for item in replay]
        # Another provider's message (or none kept): rebuilt from its fields.
        items: list[dict[str, Any]] = []
        if message.content:
            if self.api == "responses":
                items.append({"role": "assistant", "content": message.content})
            else:
                # An output message, as the SDK makes of a Chat Completions reply (its placeholder
                # id is what marks it as one), so the calls below join it in one assistant message.
                from agents.models.fake_id import FAKE_RESPONSES_ID

                items.append({"type": "message", "id": FAKE_RESPONSES_ID, "role": "assistant",
                              "content": [{"type": "output_text", "text": message.content, "annotations": []}]})
        items.extend({"type": "function_call", "call_id": call.id, "name": call.name,
                      "arguments": json.dumps(call.arguments)} for call in message.tool_calls)
        return items

    # ----- the SDK's ModelResponse -> a ModelTurn

    def _turn(self, response: ModelResponse) -> ModelTurn:
        from openai.types.responses import (
            ResponseFunctionToolCall,
            ResponseOutputMessage,
            ResponseOutputRefusal,
            ResponseOutputText,
            ResponseReasoningItem,
        )

        texts: list[str] = []
        refusals: list[str] = []
        thoughts: list[str] = []
        calls: list[ToolCall] = []
        for item in response.output:
            if isinstance(item, ResponseOutputMessage):
                for part in item.content:
                    if isinstance(part, ResponseOutputText):
                        texts.append(part.text)
                    elif isinstance(part, ResponseOutputRefusal):
                        texts.append(part.refusal)
                        refusals.append(part.refusal)
            elif isinstance(item, ResponseFunctionToolCall):
                calls.append(tool_call(item.call_id or f"call_{uuid.uuid4().hex[:16]}", item.name, item.arguments))
            elif isinstance(item, ResponseReasoningItem):
                summary = [part.text for part in item.summary if part.text]
                thoughts.extend(summary or [part.text for part in item.content or [] if part.text])
        extra: dict[str, Any] = {ITEMS: response.to_input_items()} if response.output else {}
        usage = Usage(input_tokens=response.usage.input_tokens or 0, output_tokens=response.usage.output_tokens or 0)
        return ModelTurn(text="\n".join(t for t in texts if t), tool_calls=calls, thinking="\n".join(thoughts),
                         usage=usage, extra=extra, refusal="\n".join(r for r in refusals if r))

    # ----- errors

    def _error(self, exc: Exception) -> ProviderError | None:
        """The SDK's error as a ProviderError (short, never the key); ``None`` for errors that are
        not the service's or the SDK's (a bug here), which go up as they are."""
        import openai
        from agents.exceptions import AgentsException

        if isinstance(exc, openai.APITimeoutError):
            return ProviderError(f"{self.label}: no answer from {self.base_url} within {self.timeout:g} s",
                                 retryable=True)
        if isinstance(exc, openai.APIConnectionError):
            cause = self._redact(str(exc.__cause__ or "") or exc.message)
            return ProviderError(f"{self.label}: cannot reach {self.base_url} ({cause})", retryable=True)
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc)
        if isinstance(exc, (openai.OpenAIError, AgentsException)):
            return ProviderError(f"{self.label}: {self._redact(str(exc))[:MAX_DETAIL]}")
        return None

    def _status_error(self, exc: APIStatusError) -> ProviderError:
        status = exc.status_code
        detail = self._detail(exc.body)
        said = f": {detail}" if detail else ""
        if status == 429:
            if exc.code == "insufficient_quota":
                return ProviderError(f"{self.label}: the account's quota is used up (429){said}", status=status)
            return ProviderError(f"{self.label}: rate limited (429){said}", retryable=True,
                                 retry_after=retry_after(exc.response.headers), status=status)
        if status in (408, 409) or status >= 500:
            return ProviderError(f"{self.label}: server error ({status}){said}", retryable=True,
                                 retry_after=retry_after(exc.response.headers), status=status)
        if status == 401:
            return ProviderError(f"{self.label}: the API key was rejected (401){said}. {self._key_hint()}",
                                 status=status)
        if status == 403:
            return ProviderError(f"{self.label}: permission denied (403){said}", status=status)
        if status == 404:
            return ProviderError(f"{self.label}: not found (404){said}. {self._not_found_hint()}", status=status)
        return ProviderError(f"{self.label}: the request was refused ({status}){said}", status=status)

    def _detail(self, body: object) -> str:
        if isinstance(body, Mapping):
            text = body.get("message") or body.get("error") or ""
            text = text if isinstance(text, str) else json.dumps(text)
        else:
            text = "" if body is None else str(body)
        text = " ".join(self._redact(text).split()).rstrip(".")
        return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL] + "…"

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key and self._key != NO_KEY else text

    def _key_hint(self) -> str:
        return "Check OPENAI_API_KEY."

    def _not_found_hint(self) -> str:
        return f"Check the model name ({self.model!r}, --model)."


class OpenAIProvider(_OpenAIBase):
    """OpenAI's Responses API. Key: ``settings.api_key`` or ``OPENAI_API_KEY``; model:
    ``--model`` or :data:`OPENAI_DEFAULT_MODEL`; base URL: ``--llm-endpoint`` or
    ``OPENAI_BASE_URL`` (a proxy or Azure-style gateway), else OpenAI's."""

    name = "openai"
    api: Api = "responses"
    label = "OpenAI"

    def __init__(self, settings: ProviderSettings) -> None:
        key = settings.api_key or settings.env.get("OPENAI_API_KEY")
        if not key:
            raise ProviderError("the openai provider needs an API key: set OPENAI_API_KEY (or use "
                                "--llm-provider openai-compatible --llm-endpoint URL for a local server, "
                                "or --llm-provider offline)")
        super().__init__(model=settings.model or OPENAI_DEFAULT_MODEL, api_key=key,
                         base_url=settings.base_url or settings.env.get("OPENAI_BASE_URL") or OPENAI_URL,
                         settings=settings)


class OpenAICompatibleProvider(_OpenAIBase):
    """A server speaking OpenAI's Chat Completions API (Ollama, vLLM, llama.cpp): base URL
    required (``--llm-endpoint`` or ``OPENAI_BASE_URL``, e.g. ``http://localhost:11434/v1`` for
    Ollama); key optional (``OPENAI_API_KEY``, else a placeholder); model: ``--model``, else
    :data:`COMPATIBLE_DEFAULT_MODEL` (Ollama's name; vLLM wants the name it serves)."""

    name = "openai-compatible"
    api: Api = "chat"

    def __init__(self, settings: ProviderSettings) -> None:
        base_url = settings.base_url or settings.env.get("OPENAI_BASE_URL")
        if not base_url:
            raise ProviderError("the openai-compatible provider needs the server's base URL: pass --llm-endpoint "
                                "URL or set OPENAI_BASE_URL (for Ollama: http://localhost:11434/v1)")
        self.label = f"the OpenAI-compatible server at {base_url.rstrip('/')}"
        super().__init__(model=settings.model or COMPATIBLE_DEFAULT_MODEL,
                         api_key=settings.api_key or settings.env.get("OPENAI_API_KEY") or NO_KEY,
                         base_url=base_url, settings=settings)

    def _key_hint(self) -> str:
        return "Check OPENAI_API_KEY against the key the server expects."

    def _not_found_hint(self) -> str:
        return (f"Check the model name ({self.model!r}, --model) and that {self.base_url} is the server's "
                "OpenAI-compatible base URL (usually ending in /v1).")


# ----- helpers shared by both


def function_tool(schema: Mapping[str, Any]) -> FunctionTool:
    """An SDK function tool for one of kai's tool schemas. The SDK only describes it to the
    model: kai's runner runs the calls, through the guard. Should the SDK ever invoke it, it
    answers with a refusal instead of acting."""
    from agents import FunctionTool

    async def refuse(_context: ToolContext[Any], _arguments: str) -> str:
        return TOOL_REFUSAL

    return FunctionTool(name=schema["name"], description=schema.get("description", ""),
                        params_json_schema=dict(schema.get("parameters") or {"type": "object", "properties": {}}),
                        on_invoke_tool=refuse, strict_json_schema=False)


def tool_call(call_id: str, name: str, arguments: str) -> ToolCall:
    """A call with its arguments read; arguments that are not a JSON object set ``error`` (the
    runner answers with one corrective result). Empty arguments are ``{}``, as some local
    servers send for tools without parameters."""
    if not arguments.strip():
        return ToolCall(id=call_id, name=name)
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        return ToolCall(id=call_id, name=name, error=f"the arguments are not JSON ({exc.msg} at position {exc.pos})")
    if not isinstance(parsed, dict):
        return ToolCall(id=call_id, name=name,
                        error=f"the arguments must be a JSON object, not {type(parsed).__name__}")
    return ToolCall(id=call_id, name=name, arguments=parsed)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait as the service said: ``retry-after-ms``, else ``Retry-After`` in seconds
    or as an HTTP date; ``None`` if it said nothing readable."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        return max(float(lowered["retry-after-ms"]) / 1000, 0.0)
    except (KeyError, ValueError):
        pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _replayable(items: object, calls: list[ToolCall]) -> TypeGuard[list[dict[str, Any]]]:
    """Stored output items fit the message when they are dicts holding exactly its calls."""
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return False
    call_ids = [item.get("call_id") for item in items if item.get("type") == "function_call"]
    return call_ids == [call.id for call in calls]


def _require_sdk(provider: str) -> None:
    try:
        import agents  # noqa: F401
        import openai  # noqa: F401
    except ImportError as exc:
        raise ProviderError(f"the {provider} provider needs the openai-agents package "
                            f"(pip install openai-agents): {exc}") from exc


def _configure_tracing(enabled: bool) -> None:
    """The SDK exports traces to OpenAI by default: off unless KAI_OPENAI_TRACING=1. Its logger
    gets a NullHandler, so its error lines ("Error getting response", which kai reports itself)
    do not reach stderr through logging's last resort unless the application configures logging."""
    from agents import set_tracing_disabled

    set_tracing_disabled(not enabled)
    sdk_logger = logging.getLogger("openai.agents")
    if not any(isinstance(handler, logging.NullHandler) for handler in sdk_logger.handlers):
        sdk_logger.addHandler(logging.NullHandler())
