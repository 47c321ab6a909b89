"""Simulated time: durations of the simulated world pass ``speed`` times faster than
wall time, so a readiness delay of 15 s takes 1.5 s at speed 10. Timestamps written
into objects stay wall-clock times."""

from __future__ import annotations

import asyncio
import time

DEFAULT_SPEED = 10.0


class Clock:
    def __init__(self, speed: float = DEFAULT_SPEED) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def monotonic(self) -> float:
        """Simulated seconds since an arbitrary start."""
        return time.monotonic() * self.speed
