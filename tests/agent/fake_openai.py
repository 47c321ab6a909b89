"""A local OpenAI API for the tests: a real HTTP server on 127.0.0.1 that answers
``POST /v1/responses`` and ``POST /v1/chat/completions`` (non-streaming) with scripted turns,
in the JSON shapes the openai package parses, and records every request.

The script is one list for both APIs: a :class:`Reply` (text, function calls, reasoning,
usage) is rendered as a Responses ``Response`` or as a ``ChatCompletion`` depending on the
path asked; a :class:`Failure` is answered as it is (status, headers, body), as a 429 or a 500
would be. A request without ``Authorization: Bearer <key>`` gets OpenAI's 401 and uses up no
turn. Trace exports (``/v1/traces/ingest``) are accepted and recorded, so a test can show
there were none.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RESPONSES = "/v1/responses"
CHAT = "/v1/chat/completions"
TRACES = "/v1/traces/ingest"


@dataclass(frozen=True)
class Call:
    """A function call the model makes; ``arguments`` as a dict is sent as JSON, as a string
    verbatim (for malformed arguments)."""

    name: str
    arguments: dict[str, Any] | str


@dataclass(frozen=True)
class Reply:
    text: str = ""
    calls: tuple[Call, ...] = ()
    reasoning: str = ""
    refusal: str = ""  # the model declines (a refusal content part / message.refusal)
    input_tokens: int = 100
    output_tokens: int = 10


@dataclass(frozen=True)
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Hang:
    """No answer until the server stops: for the client's timeout."""


def say(text: str, **kw: Any) -> Reply:
    return Reply(text=text, **kw)


def calls(*made: tuple[str, dict[str, Any] | str], text: str = "", **kw: Any) -> Reply:
    return Reply(text=text, calls=tuple(Call(name, args) for name, args in made), **kw)


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@dataclass
class Recorded:
    """One request the server received, with views of its body that read the same for both APIs."""

    path: str
    headers: dict[str, str]
    body: Any

    @property
    def api(self) -> str:
        return "chat" if self.path == CHAT else "responses"

    def tool(self, name: str) -> dict[str, Any]:
        """The tool called ``name`` as sent: {"name", "description", "parameters", "strict"}."""
        for tool in self.body.get("tools") or []:
            spec = tool["function"] if self.api == "chat" else tool
            if spec["name"] == name:
                return dict(spec)
        raise AssertionError(f"no tool {name!r} in the request")

    @property
    def tool_names(self) -> list[str]:
        return [(tool["function"] if self.api == "chat" else tool)["name"] for tool in self.body.get("tools") or []]

    @property
    def system(self) -> str | None:
        if self.api == "responses":
            given = self.body.get("instructions")
            return None if given is None else str(given)
        first = self.body["messages"][0]
        return str(first["content"]) if first["role"] == "system" else None

    @property
    def tool_results(self) -> list[tuple[str, str]]:
        """(call id, output) of each tool result, in order."""
        if self.api == "chat":
            return [(m["tool_call_id"], m["content"]) for m in self.body["messages"] if m["role"] == "tool"]
        return [(i["call_id"], i["output"]) for i in self.body["input"] if i.get("type") == "function_call_output"]

    @property
    def function_calls(self) -> list[dict[str, Any]]:
        """The assistant's earlier calls as sent back: {"call_id", "name", "arguments", ...}."""
        if self.api == "chat":
            return [{"call_id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                    for m in self.body["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]
        return [dict(i) for i in self.body["input"] if i.get("type") == "function_call"]

    @property
    def user_texts(self) -> list[str]:
        if self.api == "chat":
            return [m["content"] for m in self.body["messages"] if m["role"] == "user"]
        return [i["content"] for i in self.body["input"] if i.get("role") == "user"]


class FakeOpenAI:
    """``with FakeOpenAI(key) as api: api.script(...)``; ``api.url`` is the base URL (…/v1)."""

    def __init__(self, key: str = "sk-test-fake-0123456789") -> None:
        self.key = key
        self.turns: list[Reply | Failure | Hang] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopped = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def script(self, *turns: Reply | Failure | Hang) -> None:
        with self._lock:
            self.turns.extend(turns)

    def model_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path in (RESPONSES, CHAT)]

    def traces(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/v1/traces")]

    # ----- answering

    def answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests.append(Recorded(path, headers, body))
            if path.startswith("/v1/traces"):
                return 204, {}, None
            if path not in (RESPONSES, CHAT):
                return 404, {}, error_body(f"Invalid URL (POST {path})", "invalid_request_error")
            if headers.get("authorization") != f"Bearer {self.key}":
                given = headers.get("authorization", "").removeprefix("Bearer ")
                masked = given[:3] + "*" * 8 + given[-4:] if len(given) > 8 else "***"
                return 401, {}, error_body(f"Incorrect API key provided: {masked}.", "invalid_request_error",
                                           "invalid_api_key")
            if not self.turns:
                return 500, {}, error_body("the fake's script ran out of turns", "server_error")
            turn = self.turns.pop(0)
            n = next(self._ids)
        if isinstance(turn, Hang):
            self._stopped.wait()
            return 503, {}, error_body("the fake stopped", "server_error")
        if isinstance(turn, Failure):
            return turn.status, turn.headers, turn.body
        model = str(body.get("model", ""))
        return 200, {}, (_chat(turn, n, model) if path == CHAT else _response(turn, n, model))


def _response(reply: Reply, n: int, model: str) -> dict[str, Any]:
    """A Responses API ``Response`` (openai.types.responses.Response)."""
    output: list[dict[str, Any]] = []
    if reply.reasoning:
        output.append({"type": "reasoning", "id": f"rs_{n}", "status": "completed",
                       "summary": [{"type": "summary_text", "text": reply.reasoning}]})
    if reply.text:
        output.append({"type": "message", "id": f"msg_{n}", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}]})
    if reply.refusal:
        output.append({"type": "message", "id": f"msg_{n}r", "role": "assistant", "status": "completed",
                       "content": [{"type": "refusal", "refusal": reply.refusal}]})
    for i, call in enumerate(reply.calls, 1):
        output.append({"type": "function_call", "id": f"fc_{n}_{i}", "call_id": f"call_{n}_{i}", "name": call.name,
                       "arguments": _arguments(call), "status": "completed"})
    return {
        "id": f"resp_{n}", "object": "response", "created_at": int(time.time()), "status": "completed",
        "model": model, "output": output, "error": None, "incomplete_details": None, "instructions": None,
        "metadata": {}, "parallel_tool_calls": True, "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto",
        "tools": [], "text": {"format": {"type": "text"}}, "reasoning": {"effort": None, "summary": None},
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
                  "total_tokens": reply.input_tokens + reply.output_tokens,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }


def _chat(reply: Reply, n: int, model: str) -> dict[str, Any]:
    """A ``ChatCompletion`` as Ollama or vLLM send it (usage without token details)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.calls:
        message["tool_calls"] = [{"id": f"call_{n}_{i}", "type": "function",
                                  "function": {"name": call.name, "arguments": _arguments(call)}}
                                 for i, call in enumerate(reply.calls, 1)]
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.refusal:
        message["refusal"] = reply.refusal
    return {
        "id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if reply.calls else "stop"}],
        "usage": {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
                  "total_tokens": reply.input_tokens + reply.output_tokens},
    }


def _arguments(call: Call) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the API serves it
        timeout = 30  # an idle kept-alive connection is closed after this

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, extra, payload = fake.answer(self.path, headers, body)
            data = b"" if payload is None else json.dumps(payload).encode()
            try:
                self.send_response(status)
                if payload is not None:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return None

    return Handler
