"""A conversation as every provider sees it: messages in, a model turn (text and tool calls) out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant", "tool"]


class ToolCall(BaseModel):
    """One call the model asks for. ``error`` is set when its arguments could not be read
    (not JSON, not an object): the runner answers it with a corrective result, never runs it."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class Message(BaseModel):
    """A user's words, the model's reply (text and/or tool calls), or one tool's result.

    Tool results carry the call's ``tool_call_id`` and ``name``; ``status`` is the guard's
    outcome (``ok``, ``denied``, ``approval_required``, ``rejected``, ``expired``, ``error``),
    which the offline planner reads and LLM providers may ignore (the text says it too).
    Provider-specific data that must travel with a message (Gemini's thought signatures,
    OpenAI response item ids) goes in ``extra``.
    """

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    status: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def user(cls, text: str, attachment: str | None = None) -> Message:
        """The user's words; text piped in (``kubectl logs … | kai "why?"``) comes as an
        ``attachment``: LLMs read it after the query, fenced as input, and ``extra["query"]``
        keeps the words typed apart, so that no planner takes piped text for a command."""
        if not attachment:
            return cls(role="user", content=text)
        fenced = attachment.replace("```", "ˋˋˋ")
        return cls(role="user", content=f"{text}\n\nInput from stdin:\n```\n{fenced}\n```",
                   extra={"query": text})

    @property
    def query(self) -> str:
        """What the user typed (without piped input)."""
        return str(self.extra.get("query", self.content))

    @classmethod
    def tool_result(cls, call: ToolCall, text: str, status: str) -> Message:
        return cls(role="tool", content=text, tool_call_id=call.id, name=call.name, status=status)


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(input_tokens=self.input_tokens + other.input_tokens,
                     output_tokens=self.output_tokens + other.output_tokens)


class ModelTurn(BaseModel):
    """What a provider returns for one request: text, tool calls, or both. ``refusal`` says why
    a provider declined the request itself, without calling a tool (unsafe, or not allowed by
    the policy): the run then counts as refused, as when the guard says no."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    thinking: str = ""
    usage: Usage = Field(default_factory=Usage)
    extra: dict[str, Any] = Field(default_factory=dict)
    refusal: str = ""

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.tool_calls

    def message(self) -> Message:
        return Message(role="assistant", content=self.text, tool_calls=self.tool_calls, extra=self.extra)
