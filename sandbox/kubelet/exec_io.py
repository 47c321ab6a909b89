"""What a simulated process does, as events its driver plays out.

A process is a generator (:data:`Proc`) yielding :class:`Out` (text on fd 1 or 2),
:class:`Wait` (simulated seconds) and :class:`Read` (a line, or everything to EOF,
of the session's standard input; the driver sends back the text, or None at EOF);
it returns its exit code. The pod runner plays a container's process without input;
``kubectl exec`` plays one over a WebSocket (:mod:`sandbox.streaming`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass


@dataclass(frozen=True)
class Out:
    fd: int
    text: str


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Read:
    line: bool = True  # False: everything up to EOF


Event = Out | Wait | Read
Proc = Generator[Event, "str | None", int]
Gen = Generator[Event, "str | None", "object"]


class ShellExit(Exception):
    """``exit N``: leave the (sub)shell."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Input:
    """A process's standard input: given text (a pipe, a file) or the session's stream."""

    def __init__(self, text: str | None = None) -> None:
        self.text = text  # None: read from the session

    @property
    def is_stream(self) -> bool:
        return self.text is None

    def read_all(self) -> Generator[Event, str | None, str]:
        if self.text is not None:
            data: str = self.text
            self.text = ""
            return data
        got = yield Read(line=False)
        return got or ""

    def read_line(self) -> Generator[Event, str | None, str | None]:
        if self.text is not None:
            if not self.text:
                return None
            line, sep, rest = str(self.text).partition("\n")
            self.text = rest
            return line + sep
        got = yield Read(line=True)
        return got


NO_INPUT = ""


def capture(proc: Proc, fd: int = 1) -> Generator[Event, str | None, tuple[int, str]]:
    """Run ``proc``, keeping what it writes on ``fd``; other events pass through."""
    kept: list[str] = []
    reply: str | None = None
    try:
        event = next(proc)
        while True:
            if isinstance(event, Out) and event.fd == fd:
                kept.append(event.text)
                reply = None
            else:
                reply = yield event
            event = proc.send(reply)
    except StopIteration as stop:
        return int(stop.value or 0), "".join(kept)


def play(proc: Proc, stdin: str = NO_INPUT) -> tuple[int, list[Event]]:
    """Drive ``proc`` to its end without a session: reads get ``stdin`` (then EOF)."""
    events: list[Event] = []
    pending = stdin
    reply: str | None = None
    try:
        event = next(proc)
        while True:
            reply = None
            if isinstance(event, Read):
                if event.line:
                    line, sep, pending = pending.partition("\n")
                    reply = (line + sep) or None
                else:
                    reply, pending = pending or None, ""
            else:
                events.append(event)
            event = proc.send(reply)
    except StopIteration as stop:
        return int(stop.value or 0), events
    except ShellExit as done:
        return done.code, events
