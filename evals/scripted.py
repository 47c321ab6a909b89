"""The ``scripted`` provider: replays a task's ``ideal`` calls, one per model turn, then answers.

It tests the harness on its own (setup, scoring, state checks) independently of any planner:
a task whose ideal calls do not reach its expectations is a wrong task. Its answer is the
task's ``ideal_answer``, else what the tools returned in the turn (so read tasks answer with
the facts the tools reported).
"""

from __future__ import annotations

import itertools

from agent.messages import ModelTurn, ToolCall
from agent.provider import ModelRequest

from .task import Task


class ScriptedProvider:
    name = "scripted"
    markdown = False

    def __init__(self, task: Task) -> None:
        self.task = task
        self.model = f"ideal:{task.id}"
        self._ids = itertools.count(1)

    async def respond(self, request: ModelRequest) -> ModelTurn:
        users = [i for i, m in enumerate(request.messages) if m.role == "user"]
        turn = len(users)
        since = request.messages[users[-1] + 1:] if users else []
        done = sum(1 for m in since if m.role == "tool")
        planned = [c for c in self.task.ideal if c.turn == turn]
        if done < len(planned):
            call = planned[done]
            return ModelTurn(tool_calls=[ToolCall(id=f"ideal-{next(self._ids)}", name=call.tool,
                                                  arguments=dict(call.args))])
        last = turn == len(self.task.prompts)
        if self.task.ideal_answer and last:
            return ModelTurn(text=self.task.ideal_answer)
        shown = [m.content for m in since if m.role == "tool"]
        return ModelTurn(text="\n".join(shown) or "Nothing to do.")

    async def aclose(self) -> None:
        return None

    def models(self) -> list[str]:
        return [self.model]
