"""Retrying a provider's call with exponential backoff (429, 5xx, timeouts)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .provider import ProviderError

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    attempts: int = 4  # tries in all
    base: float = 0.5  # seconds before the second try; doubled each time
    cap: float = 20.0  # longest wait, also for a service's Retry-After
    jitter: float = 0.1  # +/- this fraction

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        wait = min(self.base * 2.0 ** (attempt - 1), self.cap)
        return wait * (1 + random.uniform(-self.jitter, self.jitter))


async def with_retries(call: Callable[[], Awaitable[T]], backoff: Backoff,
                       sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                       on_retry: Callable[[ProviderError, float], None] | None = None) -> T:
    """``call()`` until it succeeds, fails for good, or ``backoff.attempts`` are spent."""
    for attempt in range(1, backoff.attempts + 1):
        try:
            return await call()
        except ProviderError as exc:
            if not exc.retryable or attempt == backoff.attempts:
                raise
            wait = backoff.delay(attempt, exc.retry_after)
            if on_retry is not None:
                on_retry(exc, wait)
            await sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
