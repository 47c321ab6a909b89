"""A local Gemini API for the gemini provider's tests: real HTTP on 127.0.0.1, the part of
the API that ``client.aio.models.generate_content`` calls, replaying a script.

``POST /{version}/models/{model}:generateContent`` checks the ``x-goog-api-key`` header the
SDK sends (a wrong key gets the real API's 400 ``API_KEY_INVALID``), records the request, and
answers with the next scripted reply: a JSON body in the API's shape (``candidates[].content
.parts[]`` with ``text``/``functionCall``/``thoughtSignature``, ``usageMetadata``…), a
:class:`Reply` with a status and headers, for 429/5xx, or :class:`Hang`, no answer at all.
When the script runs out it answers 400 with ``fake: script ran out``, which the provider
turns into a clear, non-retryable error.

Like the real API it refuses (400 ``INVALID_ARGUMENT``) what would fail there: a function
declaration whose ``parametersJsonSchema`` is not a valid JSON Schema or that also has
``parameters``; function responses that do not answer the calls of the model turn before them;
and a function call sent back without the thought signature the fake gave it (Gemini 3's rule).

Helpers build bodies as the real API writes them (camelCase JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema  # type: ignore[import-untyped]

KEY = "test-key-not-secret"
PATH = re.compile(r"^/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+):generateContent$")


@dataclass
class Reply:
    """A scripted answer other than a plain 200 JSON body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """A scripted request that gets no answer until the server stops (for client timeouts)."""


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeGemini:
    """The server's state: the script still to play and the requests received."""

    def __init__(self, key: str = KEY) -> None:
        self.key = key
        self.script: list[dict[str, Any] | Reply | Hang] = []
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.url = ""
        self.signed: dict[str, bytes] = {}  # function call (name and args) -> the signature given with it
        self.stopping = threading.Event()

    def play(self, *replies: dict[str, Any] | Reply | Hang) -> None:
        with self.lock:
            self.script.extend(replies)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests]

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        match = PATH.match(path.split("?", 1)[0])
        if method != "POST" or match is None:
            return error(404, f"fake: no route for {method} {path}", "NOT_FOUND")
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            return error(400, f"Invalid JSON payload received. {exc}", "INVALID_ARGUMENT")
        with self.lock:
            self.requests.append(Recorded(method, path, match["model"], headers, body))
            if headers.get("x-goog-api-key") != self.key:
                return Reply(400, {"error": {
                    "code": 400, "message": "API key not valid. Please pass a valid API key.",
                    "status": "INVALID_ARGUMENT",
                    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                                 "domain": "googleapis.com"}]}})
            problem = self.check(body)
            if problem is not None:
                return error(400, problem, "INVALID_ARGUMENT")
            if not self.script:
                return error(400, "fake: script ran out", "FAILED_PRECONDITION")
            reply = self.script.pop(0)
            if isinstance(reply, Reply):
                return reply
            if not isinstance(reply, Hang):
                self.remember_signatures(reply)
                return Reply(200, reply)
        self.stopping.wait(60)
        return error(504, "fake: no answer", "DEADLINE_EXCEEDED")

    def check(self, body: dict[str, Any]) -> str | None:
        """What the real API would refuse in ``body``, or None."""
        for tool in body.get("tools") or []:
            for declaration in tool.get("functionDeclarations") or tool.get("function_declarations") or []:
                schema = declaration_schema(declaration)
                if schema is not None and "parameters" in declaration:
                    return f"function {declaration.get('name')}: parameters and parametersJsonSchema are exclusive"
                if schema is not None:
                    try:
                        jsonschema.validators.validator_for(schema).check_schema(schema)
                    except jsonschema.SchemaError as exc:
                        return f"function {declaration.get('name')}: invalid parametersJsonSchema: {exc.message}"
        previous: list[dict[str, Any]] = []
        for content in body.get("contents") or []:
            parts = content.get("parts") or []
            if not parts:
                return "contents.parts must not be empty"
            answered = [p["functionResponse"] for p in parts if "functionResponse" in p]
            if answered:
                asked = [p["functionCall"] for p in previous if "functionCall" in p]
                if sorted(a.get("name", "") for a in answered) != sorted(c.get("name", "") for c in asked):
                    return ("Please ensure that the number of function response parts is equal to the number "
                            "of function call parts of the function call turn.")
                ids = {c.get("id") for c in asked}
                if any(a.get("id") and a["id"] not in ids for a in answered):
                    return "function response id does not match any function call of the previous turn"
            for part in parts:
                if content.get("role") == "model" and "functionCall" in part:
                    given = self.signed.get(_call_key(part["functionCall"]))
                    if given is not None and _decode(part.get("thoughtSignature")) != given:
                        return ("Function call is missing a thought_signature in functionCall parts. "
                                f"function call {part['functionCall'].get('name')}")
            previous = parts
        return None

    def remember_signatures(self, reply: dict[str, Any]) -> None:
        for candidate in reply.get("candidates") or []:
            for part in (candidate.get("content") or {}).get("parts") or []:
                if "functionCall" in part and part.get("thoughtSignature"):
                    self.signed[_call_key(part["functionCall"])] = _decode(part["thoughtSignature"]) or b""


def declaration_schema(declaration: dict[str, Any]) -> Any:
    """A declaration's JSON schema, under either spelling the API accepts (proto JSON takes the
    camelCase name and the field's own snake_case name)."""
    return declaration.get("parametersJsonSchema", declaration.get("parameters_json_schema"))


def _call_key(function_call: dict[str, Any]) -> str:
    return json.dumps([function_call.get("name"), function_call.get("args") or {}], sort_keys=True)


def _decode(signature: Any) -> bytes | None:
    if not isinstance(signature, str):
        return None
    try:
        return base64.urlsafe_b64decode(signature.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    fake: FakeGemini

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.fake.answer(self.command, self.path, headers, raw)
        data = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True

    do_POST = _serve
    do_GET = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def serve(key: str = KEY) -> Iterator[FakeGemini]:
    """A running fake on a free port of 127.0.0.1 (``fake.url``), stopped on exit."""
    fake = FakeGemini(key)
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-gemini",
                              daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


# Bodies in the API's shape.

def text(value: str, *, thought: bool = False, signature: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {"text": value}
    if thought:
        part["thought"] = True
    if signature:
        part["thoughtSignature"] = signature
    return part


def call(name: str, args: dict[str, Any] | None = None, *, id: str | None = None,
         signature: str | None = None) -> dict[str, Any]:
    function_call: dict[str, Any] = {"name": name, "args": args if args is not None else {}}
    if id is not None:
        function_call["id"] = id
    part: dict[str, Any] = {"functionCall": function_call}
    if signature:
        part["thoughtSignature"] = signature
    return part


def response(*parts: dict[str, Any], prompt_tokens: int = 100, output_tokens: int = 10, thoughts_tokens: int = 0,
             finish: str = "STOP", model: str = "gemini-test") -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": output_tokens,
                             "totalTokenCount": prompt_tokens + output_tokens + thoughts_tokens}
    if thoughts_tokens:
        usage["thoughtsTokenCount"] = thoughts_tokens
    candidate: dict[str, Any] = {"finishReason": finish, "index": 0}
    if parts:  # the API leaves content out when there is none (SAFETY, MALFORMED_FUNCTION_CALL)
        candidate["content"] = {"role": "model", "parts": list(parts)}
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": "fake-response"}


def blocked(reason: str = "SAFETY") -> dict[str, Any]:
    """A prompt the API refused: no candidates, only ``promptFeedback``."""
    return {"promptFeedback": {"blockReason": reason},
            "usageMetadata": {"promptTokenCount": 50, "totalTokenCount": 50}, "modelVersion": "gemini-test"}


def error(status: int, message: str, code_name: str, *, retry_after: str | None = None,
          retry_delay: str | None = None) -> Reply:
    """An error as the API sends it; ``retry_delay`` adds a ``google.rpc.RetryInfo`` detail
    (``"2s"``), ``retry_after`` a ``Retry-After`` header."""
    details: list[dict[str, Any]] = []
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    payload: dict[str, Any] = {"code": status, "message": message, "status": code_name}
    if details:
        payload["details"] = details
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(status, {"error": payload}, headers)
