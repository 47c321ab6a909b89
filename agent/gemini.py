"""The ``gemini`` provider: Gemini through the google-genai SDK, with kai's tools declared as
functions the model may call and kai's runner running every call (through the guard).

google-genai is imported inside the class only: importing this module costs nothing, and
importing ``agent.provider`` or ``app.cli`` never loads the SDK (it takes most of a second).

The key comes from the settings, else ``$GEMINI_API_KEY`` or ``$GOOGLE_API_KEY``; when both
are set ``GOOGLE_API_KEY`` wins, as in the SDK (which logs that it does). The base URL comes
from the settings, else ``$GOOGLE_GEMINI_BASE_URL`` (a proxy, or the tests' fake).

What the SDK is told, and why:

- Function declarations carry each tool's JSON schema as ``parameters_json_schema``, passed
  unchanged: the API reads full JSON Schema there (a free-form object such as helm's
  ``values`` included), where the older ``parameters`` field takes an OpenAPI subset. The SDK
  serialises the declaration with snake_case keys (``parameters_json_schema``), which the API
  accepts as it accepts every proto field name.
- Automatic function calling is off and the calling mode is AUTO: the SDK never runs
  anything; the model's calls come back to the runner.
- The SDK does not retry (one attempt): the runner retries with its own backoff, so a 429 is
  never retried twice over. Errors become :class:`ProviderError` here, retryable for 408, 429,
  5xx, timeouts and connection failures, with ``retry_after`` from ``Retry-After`` or the
  error's ``google.rpc.RetryInfo``.
- Requests go through httpx without keep-alive: front ends may run each turn in an event loop
  of its own (``asyncio.run`` per prompt), and a pooled connection is bound to the loop that
  opened it; one left open when that loop ends is a leaked socket. A model turn takes seconds,
  a fresh connection one handshake. (This also keeps the SDK off its aiohttp path, which
  retries failed connections by itself.)
- The API version is pinned (``v1beta``, ``$GOOGLE_GENAI_API_VERSION`` to change it), so a
  base URL of a proxy or of the tests' fake serves the same paths whatever the SDK's default.

The conversation: the model's parts are kept verbatim in ``ModelTurn.extra["gemini"]`` and sent
back as they came, because Gemini 3 models require each function call's thought signature
back (400 otherwise). History that Gemini did not write (another provider's turns) is rebuilt
from the messages, its first call marked with the placeholder signature the API documents for
that case. Call ids the model gave travel back in the function responses; calls without one get
``gemini-<n>`` ids, numbered along the conversation, which stay on kai's side.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .messages import Message, ModelTurn, ToolCall, Usage
from .provider import ModelRequest, ProviderError, ProviderSettings

if TYPE_CHECKING:  # the SDK is imported at run time only inside the functions that use it
    from google.genai import errors, types

DEFAULT_MODEL = "gemini-3.8-flash"
KNOWN_MODELS = ("gemini-3.8-flash", "gemini-3.7-flash", "gemini-3.5-flash", "gemini-3.5-flash-lite",
                "gemini-3.1-pro-preview")
KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # the SDK's order: GOOGLE_API_KEY wins when both are set
BASE_URL_VARIABLE = "GOOGLE_GEMINI_BASE_URL"
API_VERSION = "v1beta"
EXTRA = "gemini"  # the key of ModelTurn.extra / Message.extra this provider owns
# What the API accepts in place of a thought signature on calls it did not produce.
FOREIGN_SIGNATURE = b"skip_thought_signature_validator"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
BLOCKED_FINISH = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"})
MESSAGE_LIMIT = 300  # characters of the API's own error message kept in ours


class GeminiProvider:
    """One Gemini model through google-genai's async client."""

    name = "gemini"
    markdown = True

    def __init__(self, settings: ProviderSettings) -> None:
        env = settings.env
        key = (settings.api_key or "").strip() or next(
            (env[name].strip() for name in KEY_VARIABLES if (env.get(name) or "").strip()), "")
        if not key:
            raise ProviderError("the gemini provider needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY), "
                                "e.g. one from https://aistudio.google.com/apikey, or choose another provider "
                                "with --llm-provider")
        self.model = settings.model or DEFAULT_MODEL
        self.base_url = settings.base_url or env.get(BASE_URL_VARIABLE) or None
        self.timeout = settings.timeout if settings.timeout and settings.timeout > 0 else None
        self._key = key

        import httpx
        from google import genai
        from google.genai import types

        options = types.HttpOptions(
            base_url=self.base_url,
            api_version=env.get("GOOGLE_GENAI_API_VERSION") or API_VERSION,
            timeout=round(self.timeout * 1000) if self.timeout else None,
            retry_options=types.HttpRetryOptions(attempts=1),
            async_client_args={"transport": httpx.AsyncHTTPTransport(
                retries=0, limits=httpx.Limits(max_keepalive_connections=0))},
        )
        self._client = genai.Client(api_key=key, vertexai=False, http_options=options)
        self._closed = False

    def models(self) -> list[str]:
        return [self.model, *(m for m in KNOWN_MODELS if m != self.model)]

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._client.aio.aclose()
        self._client.close()

    async def respond(self, request: ModelRequest) -> ModelTurn:
        from google.genai import types

        config = types.GenerateContentConfig(
            system_instruction=request.system or None,
            tools=[types.Tool(function_declarations=declarations(request.tools))] if request.tools else None,
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode.AUTO)) if request.tools else None,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        contents = to_contents(request.messages)
        try:
            response = await self._client.aio.models.generate_content(model=self.model, contents=contents,
                                                                      config=config)
        except Exception as exc:
            error = self._error(exc)
            if error is None:
                raise
            raise error from exc
        return to_turn(response, request.messages)

    def _error(self, exc: Exception) -> ProviderError | None:
        """The :class:`ProviderError` for what the SDK or the network raised; None for the
        unexpected (a bug, not a service failure), which propagates as it is."""
        import httpx
        import pydantic
        from google.genai import errors

        if isinstance(exc, errors.APIError):
            return self._api_error(exc)
        where = self.base_url or "the Gemini API"
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(f"gemini: no answer from {where} within {self.timeout:g}s" if self.timeout
                                 else f"gemini: {where} timed out", retryable=True)
        if isinstance(exc, httpx.TransportError):
            return ProviderError(f"gemini: cannot reach {where}: {self._redact(str(exc)) or type(exc).__name__}",
                                 retryable=True)
        if isinstance(exc, (errors.UnknownApiResponseError, pydantic.ValidationError)):
            return ProviderError(f"gemini: unreadable answer from {where}: {self._redact(str(exc))[:MESSAGE_LIMIT]}")
        return None

    def _api_error(self, exc: errors.APIError) -> ProviderError:
        code = int(exc.code or 0)
        said = self._redact(" ".join(str(exc.message or exc.status or "").split()))[:MESSAGE_LIMIT]
        reasons = {str(d.get("reason")) for d in _details(exc.details) if d.get("reason")}
        if code == 400 and ("API_KEY_INVALID" in reasons or "api key" in said.lower()):
            hint = "the API key was refused: check GEMINI_API_KEY (or GOOGLE_API_KEY)"
        elif code in (401, 403):
            hint = "permission denied: check the API key and that it may use the Gemini API"
        elif code == 404:
            hint = f"model {self.model!r} not found (--model; known: {', '.join(KNOWN_MODELS)})"
        elif code == 429:
            hint = "rate limit or quota exceeded"
        elif code in RETRYABLE_STATUS:
            hint = "the service is unavailable"
        else:
            hint = "the request was refused"
        status = f"{code} {exc.status}" if exc.status else str(code)
        message = f"gemini: {hint} ({status}: {said})" if said else f"gemini: {hint} ({status})"
        retryable = code in RETRYABLE_STATUS
        return ProviderError(message, retryable=retryable, status=code,
                             retry_after=_retry_after(exc) if retryable else None)

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def declarations(tools: Sequence[Mapping[str, Any]]) -> list[types.FunctionDeclaration]:
    """A function declaration per tool schema, its JSON schema passed unchanged."""
    from google.genai import types

    return [types.FunctionDeclaration(name=tool["name"], description=tool.get("description") or None,
                                      parameters_json_schema=tool.get("parameters") or None)
            for tool in tools]


def to_contents(messages: Sequence[Message]) -> list[types.Content]:
    """kai's messages as Gemini contents: users' words and tool results in ``user`` turns
    (consecutive ones merged, so turns alternate), the model's turns as ``model`` turns."""
    from google.genai import types

    contents: list[types.Content] = []
    given: set[str] = set()  # call ids the model gave (sent back); the others are kai's own
    names: dict[str, str] = {}
    for message in messages:
        role = "user"
        parts: list[types.Part]
        if message.role == "user":
            parts = [types.Part(text=message.content)] if message.content else []
        elif message.role == "assistant":
            role = "model"
            parts = _model_parts(message)
            for part in parts:
                if part.function_call is not None and part.function_call.id:
                    given.add(part.function_call.id)
            names.update({call.id: call.name for call in message.tool_calls})
        else:
            parts = [_function_response(message, given, names)]
        if not parts:
            continue
        last = contents[-1] if contents else None
        if last is not None and last.role == role and last.parts is not None:
            last.parts.extend(parts)
        else:
            contents.append(types.Content(role=role, parts=parts))
    return contents


def _model_parts(message: Message) -> list[types.Part]:
    """The model's parts as it sent them (thought signatures included) when the message still
    holds what they say; otherwise rebuilt from the message."""
    from google.genai import types

    own = message.extra.get(EXTRA)
    stored = own.get("parts") if isinstance(own, dict) else None
    if isinstance(stored, list) and stored:
        parts = [types.Part.model_validate_json(json.dumps(part)) for part in stored]
        sent = [(p.function_call.name, p.function_call.args or {}) for p in parts if p.function_call is not None]
        if sent == [(call.name, call.arguments) for call in message.tool_calls]:
            return parts
    rebuilt: list[types.Part] = [types.Part(text=message.content)] if message.content else []
    for index, call in enumerate(message.tool_calls):
        rebuilt.append(types.Part(function_call=types.FunctionCall(name=call.name, args=call.arguments),
                                  thought_signature=FOREIGN_SIGNATURE if index == 0 else None))
    return rebuilt


def _function_response(message: Message, given: set[str], names: Mapping[str, str]) -> types.Part:
    from google.genai import types

    call_id = message.tool_call_id or ""
    name = message.name or names.get(call_id) or "unknown"
    key = "output" if message.status in (None, "ok") else "error"
    return types.Part(function_response=types.FunctionResponse(
        name=name, id=call_id if call_id in given else None, response={key: message.content}))


def to_turn(response: types.GenerateContentResponse, messages: Sequence[Message]) -> ModelTurn:
    """The model's answer as a :class:`ModelTurn`. A prompt or an answer blocked for safety is
    the model's refusal (the run counts as refused); a candidate without parts for another
    reason (a malformed function call) is an empty turn, which the runner asks once more."""
    meta = response.usage_metadata
    usage = Usage(input_tokens=(meta.prompt_token_count or 0) if meta else 0,
                  output_tokens=((meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)) if meta else 0)
    candidate = response.candidates[0] if response.candidates else None
    parts = candidate.content.parts if candidate and candidate.content and candidate.content.parts else []
    if not parts:
        blocked = response.prompt_feedback.block_reason if response.prompt_feedback else None
        finish = candidate.finish_reason if candidate else None
        reason = blocked or (finish if finish and finish.name in BLOCKED_FINISH else None)
        if reason:
            why = f"Gemini declined the request ({getattr(reason, 'name', reason)})"
            return ModelTurn(text=why + ".", refusal=why, usage=usage)
        return ModelTurn(usage=usage)
    numbered = sum(len(m.tool_calls) for m in messages if m.role == "assistant")
    text: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    for part in parts:
        if part.function_call is not None:
            calls.append(_tool_call(part.function_call, numbered + len(calls) + 1))
        elif part.text:
            (thinking if part.thought else text).append(part.text)
    return ModelTurn(text="".join(text), tool_calls=calls, thinking="\n".join(thinking), usage=usage,
                     extra={EXTRA: {"parts": [part.model_dump(mode="json", exclude_none=True) for part in parts]}})


def _tool_call(call: types.FunctionCall, number: int) -> ToolCall:
    args: Any = call.args if call.args is not None else {}
    error = None
    if not call.name:
        error = "the function call has no name"
    elif not isinstance(args, dict):
        error = f"arguments must be an object, not {type(args).__name__}"
    return ToolCall(id=call.id or f"gemini-{number}", name=call.name or "",
                    arguments=args if isinstance(args, dict) else {}, error=error)


def _details(body: Any) -> list[dict[str, Any]]:
    error = body.get("error", body) if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _retry_after(exc: errors.APIError) -> float | None:
    """Seconds the service asked to wait: ``Retry-After`` (seconds or a date), else the
    ``retryDelay`` of a ``google.rpc.RetryInfo`` detail (``"1.5s"``)."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(when.timestamp() - time.time(), 0.0)
    for detail in _details(exc.details):
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = str(detail.get("retryDelay", "")).strip()
            try:
                return max(float(delay.removesuffix("s")), 0.0)
            except ValueError:
                return None
    return None


__all__ = ["DEFAULT_MODEL", "KNOWN_MODELS", "GeminiProvider"]
