"""A provider that replays a script of model turns, for testing the runner without any model."""

from __future__ import annotations

from agent.messages import ModelTurn, ToolCall, Usage
from agent.provider import ModelRequest, ProviderError


class Scripted:
    """Returns the given turns in order (an exception in the list is raised instead), and
    keeps every request it was sent."""

    name = "scripted"
    markdown = True
    model = "script"

    def __init__(self, *turns: ModelTurn | ProviderError) -> None:
        self.turns = list(turns)
        self.requests: list[ModelRequest] = []

    async def respond(self, request: ModelRequest) -> ModelTurn:
        self.requests.append(request)
        if not self.turns:
            raise AssertionError("the script ran out of turns")
        turn = self.turns.pop(0)
        if isinstance(turn, ProviderError):
            raise turn
        return turn

    async def aclose(self) -> None:
        return None

    def models(self) -> list[str]:
        return [self.model]


def calls(*calls: tuple[str, dict[str, object]]) -> ModelTurn:
    """A turn asking for tool calls, numbered call-1, call-2…"""
    return ModelTurn(tool_calls=[ToolCall(id=f"call-{i}", name=name, arguments=dict(args))
                                 for i, (name, args) in enumerate(calls, 1)], usage=Usage(input_tokens=100,
                                                                                          output_tokens=10))


def say(text: str) -> ModelTurn:
    return ModelTurn(text=text, usage=Usage(input_tokens=120, output_tokens=20))
