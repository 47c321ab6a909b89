"""The provider interface and the registry of providers by name.

A provider turns a :class:`ModelRequest` (system prompt, messages, tool schemas) into a
:class:`~agent.messages.ModelTurn`. It does not run tools: the runner does, through the
guard. SDK errors become :class:`ProviderError` inside the provider module; the runner
retries the retryable ones with backoff.

Each provider lives in its own module, imported only when it is chosen, so the SDKs it
needs load only then.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tools.errors import KaiError

from .messages import Message, ModelTurn


@dataclass(frozen=True)
class ModelRequest:
    system: str
    messages: list[Message]
    tools: list[dict[str, Any]]  # {"name", "description", "parameters": JSON schema}


@runtime_checkable
class Provider(Protocol):
    name: str
    model: str
    markdown: bool  # its answers are Markdown (LLMs) rather than preformatted text (the offline planner)

    async def respond(self, request: ModelRequest) -> ModelTurn:
        """One model turn; raises :class:`ProviderError` on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...

    def models(self) -> list[str]:
        """Model names to offer (the REPL's ``models``); the current one first."""
        ...


class ProviderError(KaiError):
    """A provider failed. ``retryable`` ones (429, 5xx, timeouts, connection errors) are
    retried by the runner, waiting ``retry_after`` seconds when the service said so."""

    code = "provider_error"

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None,
                 status: int = 0) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class UnknownProvider(KaiError):
    code = "unknown_provider"


@dataclass(frozen=True)
class ProviderSettings:
    """What a provider is built from: the CLI's flags over the environment."""

    model: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    timeout: float = 60.0
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


# name -> "module:Class"; the class takes ProviderSettings.
PROVIDERS: dict[str, str] = {
    "offline": "agent.offline.provider:OfflineProvider",
    "gemini": "agent.gemini:GeminiProvider",
    "openai": "agent.openai_provider:OpenAIProvider",
    "openai-compatible": "agent.openai_provider:OpenAICompatibleProvider",
}


def default_provider(env: Mapping[str, str]) -> str:
    """``$KAI_LLM_PROVIDER``; else ``openai-compatible`` when ``$OPENAI_BASE_URL`` names a server
    (Ollama and its kind need no key); else the first provider whose key is set; else ``offline``."""
    chosen = env.get("KAI_LLM_PROVIDER")
    if chosen:
        return chosen
    if env.get("OPENAI_BASE_URL"):
        return "openai-compatible"
    if env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY"):
        return "gemini"
    if env.get("OPENAI_API_KEY"):
        return "openai"
    return "offline"


def create_provider(name: str, settings: ProviderSettings) -> Provider:
    """The provider called ``name``; an unknown name is an error listing the known ones."""
    target = PROVIDERS.get(name)
    if target is None:
        raise UnknownProvider(f"unknown provider {name!r}: choose one of {', '.join(PROVIDERS)}")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    provider: Provider = cls(settings)
    return provider
