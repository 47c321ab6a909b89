"""The ``offline`` provider: kai's deterministic planner behind the provider interface.

No network, no model, no randomness: each turn is computed from the conversation's messages
alone (:func:`agent.offline.plan.turn`), so a run can be resumed from its stored messages and
gives the same calls every time.
"""

from __future__ import annotations

from agent.messages import ModelTurn
from agent.provider import ModelRequest, ProviderSettings

from .plan import turn

MODEL = "planner"


class OfflineProvider:
    """Turns everyday sentences into calls of kai's tools, then answers from their results."""

    name = "offline"
    markdown = False

    def __init__(self, settings: ProviderSettings) -> None:
        # One model, whatever --model or $KAI_MODEL say: they may name another provider's model, and
        # offline must stay available when that provider's key is missing.
        del settings
        self.model = MODEL

    async def respond(self, request: ModelRequest) -> ModelTurn:
        tools = {str(schema.get("name")) for schema in request.tools}
        return turn(request.messages, tools)

    async def aclose(self) -> None:
        return None

    def models(self) -> list[str]:
        return [self.model]
