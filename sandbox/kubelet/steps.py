"""What a simulated program does, as a sequence of steps the pod runner plays out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Log:
    line: str


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Serve:
    """From here on the program answers on its ports."""


@dataclass(frozen=True)
class Exit:
    code: int


@dataclass(frozen=True)
class Forever:
    """Run until stopped, logging ``lines`` every ``every`` seconds (none when empty)."""

    lines: tuple[str, ...] = ()
    every: float = 0.0


Step = Log | Sleep | Serve | Exit | Forever
