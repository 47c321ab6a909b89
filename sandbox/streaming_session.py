"""One ``exec``/``attach`` session over an accepted WebSocket, in the Kubernetes
remote-command channel protocol (``v4.channel.k8s.io``, ``v5.channel.k8s.io``).

Every binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 error
(one JSON ``Status`` before the server closes), 4 resize (``{"Width":…,"Height":…}``);
v5 adds the close signal ``[255, channel]`` (the client's stdin is done). The server
sends an empty message on the lowest output channel first, as the kubelet does, and
closes with a normal closure when the command ends: client-go then reads the error
channel to EOF and turns a ``NonZeroExitCode`` Status into kubectl's exit code. With a
TTY the session is the terminal's line discipline: it echoes keys, handles erase,
Ctrl-C and Ctrl-D, and writes ``\\r\\n``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from .clock import Clock
from .kubelet.exec_io import Out, Proc, Read, ShellExit, Wait

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)


def exit_status(code: int, argv: list[str] | None = None) -> dict[str, Any]:
    """What the error channel carries for an exit code."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    what = f"error executing command [{' '.join(argv)}], exit code {code}" if argv else f"exit code {code}"
    return {"metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: {what}",
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


class Session:
    def __init__(self, ws: WebSocket, protocol: str, *, stdin: bool, stdout: bool, stderr: bool, tty: bool,
                 clock: Clock) -> None:
        self.ws = ws
        self.protocol = protocol
        self.want_stdin, self.want_stdout, self.want_stderr, self.tty = stdin, stdout, stderr, tty
        self.clock = clock
        self.data = ""  # stdin received and not read yet (cooked lines with a TTY)
        self.line = ""  # the TTY line being typed
        self.eof = not stdin
        self.changed = asyncio.Event()
        self.closed = False
        self.size = (80, 24)
        self._send_lock = asyncio.Lock()

    # --- output -------------------------------------------------------------------------

    async def send(self, channel: int, payload: bytes) -> None:
        if self.closed:
            return
        async with self._send_lock:
            with contextlib.suppress(Exception):
                await self.ws.send_bytes(bytes([channel]) + payload)

    async def write(self, fd: int, text: str) -> None:
        if self.tty:
            fd = STDOUT
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        if (fd == STDOUT and not self.want_stdout) or (fd == STDERR and not self.want_stderr) or not text:
            return
        await self.send(fd, text.encode())

    async def start(self) -> None:
        first = STDOUT if self.want_stdout else STDERR if self.want_stderr and not self.tty else ERROR
        await self.send(first, b"")

    async def finish(self, status: dict[str, Any]) -> None:
        await self.send(ERROR, orjson.dumps(status))
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close(code=1000)

    # --- input --------------------------------------------------------------------------

    async def receive(self) -> None:
        """Read the client's messages until it goes away."""
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("bytes")
                if raw is None:
                    raw = (message.get("text") or "").encode()
                if not raw:
                    continue
                channel, body = raw[0], raw[1:]
                if channel == CLOSE and self.protocol == V5:
                    if body[:1] == bytes([STDIN]):
                        self._eof()
                elif channel == STDIN and self.want_stdin:
                    self._input(body.decode(errors="replace"))
                elif channel == RESIZE:
                    with contextlib.suppress(Exception):
                        size = orjson.loads(body)
                        self.size = (int(size.get("Width", 80)), int(size.get("Height", 24)))
        except (WebSocketDisconnect, RuntimeError):
            pass
        self.closed = True
        self._eof()

    def _eof(self) -> None:
        self.eof = True
        self.changed.set()

    def _input(self, text: str) -> None:
        if not self.tty:
            self.data += text
            self.changed.set()
            return
        echo: list[str] = []
        for ch in text:
            if ch in "\r\n":
                echo.append("\r\n")
                self.data += self.line + "\n"
                self.line = ""
            elif ch in "\x7f\x08":
                if self.line:
                    self.line = self.line[:-1]
                    echo.append("\b \b")
            elif ch == "\x03":
                echo.append("^C\r\n")
                self.line = ""
                self.data += "\n"
            elif ch == "\x04":
                if not self.line:
                    self._eof()
            elif ch == "\x15":
                echo.append("\b \b" * len(self.line))
                self.line = ""
            elif ch >= " " and ch != "\x1b":
                echo.append(ch)
                self.line += ch
        if echo:
            asyncio.get_running_loop().create_task(self.send(STDOUT, "".join(echo).encode()))
        self.changed.set()

    async def read(self, line: bool) -> str | None:
        while True:
            if line and "\n" in self.data:
                head, _, self.data = self.data.partition("\n")
                return head + "\n"
            if self.eof:
                rest, self.data = self.data, ""
                return rest or None
            self.changed.clear()
            await self.changed.wait()

    # --- running ------------------------------------------------------------------------

    async def drive(self, proc: Proc) -> int:
        """Play a process here: its output to the client, its reads from the client."""
        reply: str | None = None
        try:
            event = next(proc)
            while True:
                reply = None
                if isinstance(event, Out):
                    await self.write(event.fd, event.text)
                elif isinstance(event, Wait):
                    await (self.clock.sleep(event.seconds) if event.seconds > 0 else asyncio.sleep(0))
                elif isinstance(event, Read):
                    reply = await self.read(event.line)
                event = proc.send(reply)
        except StopIteration as stop:
            return int(stop.value or 0)
        except ShellExit as done:
            return done.code

    async def run(self, work: Any) -> None:
        """Run ``work`` (a coroutine giving the final Status) until it ends or the client
        leaves, then send the Status and close."""
        await self.start()
        reader = asyncio.create_task(self.receive())
        task = asyncio.create_task(work)
        try:
            done, _ = await asyncio.wait({task, reader}, return_when=asyncio.FIRST_COMPLETED)
            while task not in done and not self.closed:
                done, _ = await asyncio.wait({task}, timeout=0.2)
            if task in done:
                await self.finish(task.result())
        finally:
            task.cancel()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
