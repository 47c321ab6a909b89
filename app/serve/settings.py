"""``kai serve``'s settings: from the environment (documented in ``.env.example``), flags first."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tools.errors import KaiError

SLACK_HOSTS = ("hooks.slack.com",)
N = TypeVar("N", int, float)
MAX_PROMPT = 8000  # characters of one request, from Slack or the JSON API
MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything larger is refused (413)


@dataclass(frozen=True)
class Settings:
    signing_secret: str | None = None  # KAI_SLACK_SIGNING_SECRET: without it the Slack routes refuse everything
    api_tokens: dict[str, str] = field(default_factory=dict)  # token -> name (KAI_API_TOKENS="name=token,…")
    database_url: str | None = None  # KAI_DATABASE_URL; default SQLite under KAI_STATE_DIR
    policy: Path | None = None  # KAI_POLICY
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str | None = None  # KAI_NAMESPACE: where requests act unless they say
    provider: str | None = None  # KAI_LLM_PROVIDER, else by the keys present
    model: str | None = None  # KAI_MODEL
    workers: int = 4  # KAI_WORKERS: requests run at once by this process
    response_hosts: tuple[str, ...] = SLACK_HOSTS  # KAI_SLACK_RESPONSE_HOSTS: where replies may be posted
    run_timeout: float = 300.0  # KAI_RUN_TIMEOUT: seconds one request may run
    max_queue: int = 5000  # KAI_MAX_QUEUE: requests waiting in this process before new ones are refused
    sweep_seconds: float = 15.0  # KAI_SWEEP_SECONDS: how often to look for late approvals and left-over requests
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, kubeconfig: Path | None = None,
                 context: str | None = None, namespace: str | None = None, policy: Path | None = None,
                 database_url: str | None = None, workers: int | None = None) -> Settings:
        """Settings from ``env`` (default: the process environment); the flags given win."""
        env = dict(os.environ) if env is None else dict(env)
        settings = cls(
            signing_secret=env.get("KAI_SLACK_SIGNING_SECRET") or None,
            api_tokens=parse_tokens(env.get("KAI_API_TOKENS", "")),
            database_url=database_url or env.get("KAI_DATABASE_URL") or None,
            policy=policy or (Path(env["KAI_POLICY"]) if env.get("KAI_POLICY") else None),
            kubeconfig=kubeconfig,
            context=context or env.get("KAI_CONTEXT") or None,
            namespace=namespace or env.get("KAI_NAMESPACE") or None,
            provider=env.get("KAI_LLM_PROVIDER") or None,
            model=env.get("KAI_MODEL") or None,
            workers=workers if workers is not None else _number(env, "KAI_WORKERS", 4, int),
            response_hosts=tuple(h.strip() for h in env.get("KAI_SLACK_RESPONSE_HOSTS", "").split(",")
                                 if h.strip()) or SLACK_HOSTS,
            run_timeout=_number(env, "KAI_RUN_TIMEOUT", 300.0, float),
            sweep_seconds=_number(env, "KAI_SWEEP_SECONDS", 15.0, float),
            max_queue=_number(env, "KAI_MAX_QUEUE", 5000, int),
            env=env,
        )
        if settings.max_queue < 1:
            raise KaiError(f"KAI_MAX_QUEUE must be at least 1, not {settings.max_queue}")
        if settings.workers < 1:
            raise KaiError(f"KAI_WORKERS must be at least 1, not {settings.workers}")
        if settings.run_timeout <= 0 or settings.sweep_seconds <= 0:
            raise KaiError("KAI_RUN_TIMEOUT and KAI_SWEEP_SECONDS must be positive")
        return settings


def parse_tokens(text: str) -> dict[str, str]:
    """``name=token,…`` → {token: name}; a caller with a token acts as ``api:<name>``."""
    tokens: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, token = item.partition("=")
        if not sep or not name.strip() or len(token.strip()) < 16:
            raise KaiError("KAI_API_TOKENS must be name=token pairs separated by commas, "
                           "each token at least 16 characters")
        tokens[token.strip()] = name.strip()
    return tokens


def _number(env: Mapping[str, str], name: str, default: N, kind: type[N]) -> N:
    text = env.get(name)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise KaiError(f"{name} must be a number, not {text!r}") from None
