"""Slack's side of a load test of ``kai serve``: signed slash commands sent on a fixed schedule
(open loop), and a fast server standing in for the ``response_url``s, counting what kai posts.

The response-URL sink runs in a process of its own (``python -m benchmarks.slack_load --port
N``: aiohttp) so that taking kai's replies costs the load generator nothing; ``GET /hooks``
gives, for each hook, how many messages came, when the first came and its text.

The generator (:func:`fire`) is coordinated-omission free: request ``i`` is due at
``start + i / rate`` whatever happened to the ones before, and its latency is counted from
that due time, so a server that stalls is charged for every request it held up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.serve.slack import sign

ROOT = Path(__file__).resolve().parents[1]


# --- the response URLs ---------------------------------------------------------------------

@dataclass
class Hook:
    """What one response URL received."""

    posts: int
    first_at: float  # time.monotonic() (system-wide on Linux) when the first message came
    text: str  # the first message's text (and its blocks' texts), cut short


@dataclass
class Sink:
    """The response-URL server, running as a child process."""

    port: int
    process: subprocess.Popen[bytes]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def hooks(self) -> dict[str, Hook]:
        data = httpx.get(f"http://127.0.0.1:{self.port}/hooks", timeout=30).json()
        return {name: Hook(**value) for name, value in data.items()}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_sink(port: int, log: Path) -> Sink:
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "benchmarks.slack_load", "--port", str(port)], cwd=ROOT,
                                   stdout=out, stderr=out)
    sink = Sink(port, process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the response-URL sink exited: {log.read_text()[-2000:]}")
        try:
            sink.hooks()
            return sink
        except httpx.HTTPError:
            time.sleep(0.05)
    sink.stop()
    raise SystemExit("the response-URL sink did not start")


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [str(node["text"])] if node.get("type") in ("mrkdwn", "plain_text") else []
        return own + [t for value in node.values() for t in _texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in _texts(value)]
    return []


def serve_sink(port: int) -> None:
    """Take every POST to ``/hooks/{name}`` (200) and count it; ``GET /hooks`` tells."""
    import uvloop
    from aiohttp import web

    hooks: dict[str, dict[str, Any]] = {}

    async def post(request: web.Request) -> web.Response:
        message = json.loads(await request.read())
        name = request.match_info["name"]
        hook = hooks.get(name)
        if hook is None:
            text = "\n".join([str(message.get("text", "")), *_texts(message.get("blocks", []))])
            hooks[name] = {"posts": 1, "first_at": time.monotonic(), "text": text[:400]}
        else:
            hook["posts"] += 1
        return web.Response(text="ok")

    async def listing(_request: web.Request) -> web.Response:
        return web.json_response(hooks)

    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_post("/hooks/{name}", post)
    app.router.add_get("/hooks", listing)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the commands ----------------------------------------------------------------------------

def command(text: str, *, team: str, user: str, channel: str, trigger: str, response_url: str) -> bytes:
    """A slash command's form body, as Slack sends it."""
    return urlencode({"token": "unused", "team_id": team, "team_domain": "load", "channel_id": channel,
                      "channel_name": "load", "user_id": user, "user_name": user.lower(), "command": "/kai",
                      "text": text, "api_app_id": "A1", "response_url": response_url,
                      "trigger_id": trigger}).encode()


def signed(body: bytes) -> dict[str, str]:
    return sign(body)


@dataclass
class Shot:
    """One request: when it was due, when it went out and came back (time.perf_counter()), the answer."""

    due: float
    sent: float = 0.0
    done: float = 0.0
    status: int = 0  # 0: no HTTP answer (connection error, timeout)
    text: str = ""

    @property
    def latency(self) -> float:
        return self.done - self.due


@dataclass
class Fired:
    shots: list[Shot]
    started: float  # time.perf_counter() of the first due request
    finished: float  # time.perf_counter() when the last answer came
    connections_opened: int
    peak_in_flight: int
    clock_offset: float = 0.0  # time.monotonic() - time.perf_counter(), to line shots up with the sink's clock
    errors: dict[str, int] = field(default_factory=dict)


async def fire(url: str, bodies: list[bytes], *, rate: float, connections: int, timeout: float = 10.0) -> Fired:
    """POST each body (signed when it goes out) to ``url``, body ``i`` due at ``start + i / rate``,
    over a pool of up to ``connections`` keep-alive connections."""
    import aiohttp

    clock = time.perf_counter  # not loop.time(): uvloop's is in whole milliseconds
    opened = [0]
    in_flight = [0, 0]  # now, peak
    errors: dict[str, int] = {}

    async def on_connect(_session: aiohttp.ClientSession, _ctx: SimpleNamespace,
                         _params: aiohttp.TraceConnectionCreateEndParams) -> None:
        opened[0] += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_connect)
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=0, keepalive_timeout=30)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout, trace_configs=[trace]) as session:

        async def one(shot: Shot, body: bytes) -> None:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
            shot.sent = clock()
            try:
                async with session.post(url, data=body, headers=signed(body)) as response:
                    shot.text = (await response.text())[:300]
                    shot.status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                kind = type(exc).__name__
                errors[kind] = errors.get(kind, 0) + 1
                shot.text = f"{kind}: {exc}"[:300]
            finally:
                shot.done = clock()
                in_flight[0] -= 1

        start = clock() + 0.05
        shots = [Shot(due=start + i / rate) for i in range(len(bodies))]
        tasks = []
        for shot, body in zip(shots, bodies, strict=True):
            delay = shot.due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(shot, body)))
        await asyncio.gather(*tasks)
    return Fired(shots, start, max(s.done for s in shots) if shots else start, opened[0], in_flight[1],
                 time.monotonic() - clock(), errors)


def run_fire(url: str, bodies: list[bytes], *, rate: float, connections: int) -> Fired:
    """:func:`fire` on a uvloop event loop of its own."""
    import uvloop

    return uvloop.run(fire(url, bodies, rate=rate, connections=connections))


def main() -> None:
    parser = argparse.ArgumentParser(description="The response-URL sink of benchmarks.serve_load")
    parser.add_argument("--port", type=int, required=True)
    serve_sink(parser.parse_args().port)


if __name__ == "__main__":
    main()
