"""Stand-ins for Slack at the HTTP level: a local server that takes what kai posts to a
``response_url``, and requests signed as Slack signs them (v0 HMAC-SHA256 of ``v0:ts:body``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "tok-ci-0123456789abcdef"
BOSS_TOKEN = "tok-boss-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sign(body: bytes, secret: str = SECRET, stamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Posted:
    path: str
    body: dict[str, Any]


@dataclass
class ResponseUrls:
    """Slack's side of ``response_url``: every message kai posts, by path (one path per command)."""

    port: int
    posts: list[Posted] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    server: ThreadingHTTPServer | None = None
    fail_next: int = 0  # answer that many posts with 500 first

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def messages(self, name: str) -> list[dict[str, Any]]:
        with self.changed:
            return [p.body for p in self.posts if p.path == f"/hooks/{name}"]

    def wait(self, name: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len([p for p in self.posts if p.path == f"/hooks/{name}"]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{name}: {len(self.messages(name))} messages, waited for {count}: "
                                         f"{self.messages(name)}")
                self.changed.wait(left)
            return [p.body for p in self.posts if p.path == f"/hooks/{name}"]


def start_response_urls() -> ResponseUrls:
    sink = ResponseUrls(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with sink.changed:
                if sink.fail_next > 0:
                    sink.fail_next -= 1
                    status = 500
                else:
                    sink.posts.append(Posted(self.path, json.loads(body)))
                    sink.changed.notify_all()
                    status = 200
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    sink.server = ThreadingHTTPServer(("127.0.0.1", sink.port), Handler)
    threading.Thread(target=sink.server.serve_forever, daemon=True).start()
    return sink


def command(text: str, hook: str, sink: ResponseUrls, *, user: str = "UOPS", team: str = "T1",
            channel: str = "C1", trigger: str | None = None, channel_name: str = "ops") -> bytes:
    return urlencode({"token": "unused", "team_id": team, "team_domain": "acme", "channel_id": channel,
                      "channel_name": channel_name, "user_id": user, "user_name": user.lower(), "command": "/kai",
                      "text": text, "api_app_id": "A1", "response_url": sink.url(hook),
                      "trigger_id": trigger or f"trig-{hook}-{time.monotonic_ns()}"}).encode()


def button(approval_id: str, action: str, hook: str, sink: ResponseUrls, *, user: str = "UADMIN",
           team: str = "T1", channel: str = "C1", channel_name: str = "ops") -> bytes:
    payload = {"type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": team},
               "team": {"id": team, "domain": "acme"}, "channel": {"id": channel, "name": channel_name},
               "api_app_id": "A1", "trigger_id": f"click-{time.monotonic_ns()}", "response_url": sink.url(hook),
               "container": {"type": "message", "message_ts": "1.2"},
               "actions": [{"action_id": action, "block_id": f"kai:{approval_id}", "value": approval_id,
                            "type": "button", "action_ts": str(time.time())}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def approval_id(message: dict[str, Any]) -> str:
    for block in message.get("blocks", []):
        if block.get("type") == "actions":
            value: str = block["elements"][0]["value"]
            return value
    raise AssertionError(f"no buttons in {message}")


@dataclass
class KaiServer:
    """``kai serve`` running for real (uvicorn on loopback) as a child process."""

    port: int
    env: dict[str, str]
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _out: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KaiServer:
        self._out = self.log.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(self.port),
                                         *self.args], cwd=ROOT, env=self.env, stdout=self._out, stderr=self._out)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"kai serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"kai serve did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._out is not None:
            self._out.close()
            self._out = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.url + path, content=body, headers=headers, timeout=30)


def serve_env(database: str, policy: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAI_", "GEMINI", "GOOGLE", "OPENAI"))}
    env.update({"KAI_SLACK_SIGNING_SECRET": SECRET, "KAI_DATABASE_URL": database, "KAI_POLICY": str(policy),
                "KAI_SLACK_RESPONSE_HOSTS": "127.0.0.1", "KAI_API_TOKENS": f"ci={TOKEN},boss={BOSS_TOKEN}",
                "KAI_LLM_PROVIDER": "offline", **extra})
    return env


def iter_texts(message: dict[str, Any]) -> Iterator[str]:
    yield str(message.get("text", ""))
    stack: list[Any] = [message.get("blocks", [])]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                yield str(node.get("text", ""))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(iter_texts(message))
