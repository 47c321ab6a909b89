"""What a run tells its front end as it goes: the REPL draws spinners and previews from
these, ``-o json`` collects them, the webhook turns them into messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from tools.executor import Outcome, Preview


@dataclass(frozen=True)
class Thinking:
    """The model is being asked (``iteration`` counts from 1); ``text`` is any reasoning it showed."""

    iteration: int
    text: str = ""
    kind: Literal["thinking"] = "thinking"


@dataclass(frozen=True)
class ToolRequested:
    call_id: str
    tool: str
    arguments: dict[str, Any]
    kind: Literal["tool_requested"] = "tool_requested"


@dataclass(frozen=True)
class PreviewShown:
    """A write waits for a human: what it would change."""

    call_id: str
    tool: str
    preview: Preview
    reason: str
    kind: Literal["preview"] = "preview"


@dataclass(frozen=True)
class Decided:
    """A human (or the policy) answered a preview."""

    call_id: str
    tool: str
    approved: bool
    approver: str
    kind: Literal["decided"] = "decided"


@dataclass(frozen=True)
class ToolFinished:
    call_id: str
    outcome: Outcome
    kind: Literal["tool_finished"] = "tool_finished"


@dataclass(frozen=True)
class Answer:
    text: str
    kind: Literal["answer"] = "answer"


Event = Thinking | ToolRequested | PreviewShown | Decided | ToolFinished | Answer
EventSink = Callable[[Event], Awaitable[None]]
