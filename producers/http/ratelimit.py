"""Token bucket: paid APIs (The Odds API, NewsAPI, GNews) are never called faster than the plan allows.

Callers *reserve* tokens under a lock (the balance may go negative) and sleep outside it, so
concurrent callers queue fairly and the long-run rate is exact.  Clock and sleep are injectable
so tests run instantly on a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate_per_s` tokens per second, at most `burst` saved up."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate_per_s = float(rate_per_s)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate_per_s)
        self._last = now

    @property
    def tokens(self) -> float:
        """Current balance (negative while callers are queued)."""
        with self._lock:
            self._refill()
            return self._tokens

    def try_acquire(self, tokens: int = 1) -> bool:
        """Take `tokens` only if available right now; never blocks."""
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    def acquire(self, tokens: int = 1) -> float:
        """Block until `tokens` are ours; returns the seconds waited."""
        if not 1 <= tokens <= self.burst:
            raise ValueError(f"tokens must be in 1..{self.burst}, got {tokens}")
        with self._lock:
            self._refill()
            self._tokens -= tokens
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s
        if wait > 0:
            self._sleep(wait)
        return wait
