"""Per-identity request limits for ``kai serve`` (in this process; each replica counts its own)."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class RateLimiter:
    """At most ``per_minute`` requests by one identity in any 60 seconds."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, identity: str) -> float | None:
        """None when ``identity`` may go on (and count it); else the seconds until it may."""
        now = self.clock()
        window = self._seen[identity]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return max(0.0, window[0] + 60 - now)
        window.append(now)
        return None
