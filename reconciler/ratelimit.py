"""A token bucket for ``--max-rows-per-second`` / ``--max-events-per-second``.

The bucket's arithmetic is pure (it is given the time); :meth:`RateLimiter.acquire` is the
only part that sleeps. The bucket holds at most one second of tokens, so a pause never
turns into a burst above the limit for longer than a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate_per_s: float
    """Tokens added per second; also the bucket's capacity."""
    tokens: float = 0.0
    updated_at: float | None = None

    def delay_for(self, amount: int, now: float) -> float:
        """Take ``amount`` tokens at ``now``; the seconds to wait before using them."""
        if self.updated_at is None:
            self.tokens = self.rate_per_s
        else:
            self.tokens = min(
                self.rate_per_s, self.tokens + (now - self.updated_at) * self.rate_per_s
            )
        self.updated_at = now
        self.tokens -= amount
        if self.tokens >= 0:
            return 0.0
        return -self.tokens / self.rate_per_s


@dataclass(slots=True)
class RateLimiter:
    """Waits so that ``acquire`` calls average at most ``rate_per_s`` units; None: no limit."""

    rate_per_s: float | None
    clock: Callable[[], float] = time.monotonic
    _bucket: TokenBucket | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.rate_per_s is not None:
            self._bucket = TokenBucket(self.rate_per_s)

    async def acquire(self, amount: int) -> None:
        if self._bucket is None or amount <= 0:
            return
        delay = self._bucket.delay_for(amount, self.clock())
        if delay > 0:
            await asyncio.sleep(delay)
