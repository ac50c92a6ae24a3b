"""Circuit breaker: stop calling a source that keeps failing, then probe it with one trial call.

A dead or over-quota API would otherwise burn paid requests (and retries) every poll.
States: closed (calls flow) -> open after `failure_threshold` consecutive failures (calls are
refused until `opened_until`) -> half_open (one trial call) -> closed on success, open on failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Thread-safe breaker; `clock` is monotonic seconds (injectable for tests)."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_open_s: float = 3600.0,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = float(reset_timeout_s)
        # A source's "come back later" is honoured up to this: a Retry-After of 1e9 seconds (a
        # bug or a hostile proxy) would otherwise silence the source for 31 years.
        self.max_open_s = max(float(max_open_s), self.reset_timeout_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_until: float | None = None
        self._trial_started: float | None = None

    def _advance(self) -> None:
        """Open -> half_open once the timeout has passed (called under the lock)."""
        if self._state is BreakerState.OPEN and self._clock() >= (self._opened_until or 0.0):
            self._state = BreakerState.HALF_OPEN
            self._trial_started = None

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._advance()
            return self._state

    @property
    def opened_until(self) -> float | None:
        """Clock time until which calls are refused (None when not open)."""
        with self._lock:
            self._advance()
            return self._opened_until if self._state is BreakerState.OPEN else None

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    def seconds_until_retry(self) -> float:
        with self._lock:
            self._advance()
            if self._state is not BreakerState.OPEN or self._opened_until is None:
                return 0.0
            return max(0.0, self._opened_until - self._clock())

    def allow(self) -> bool:
        """May a call go out now?  In half_open only one trial is let through at a time."""
        with self._lock:
            self._advance()
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                return False
            now = self._clock()
            # A trial whose outcome was never recorded (caller crashed) must not wedge the breaker.
            if self._trial_started is None or now - self._trial_started >= self.reset_timeout_s:
                self._trial_started = now
                return True
            return False

    def record_success(self) -> BreakerState:
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._opened_until = None
            self._trial_started = None
            return self._state

    def record_failure(self, retry_after_s: float | None = None) -> BreakerState:
        """Count a failure; `retry_after_s` (the source said "come back later") opens it at once."""
        with self._lock:
            self._advance()
            self._failures += 1
            self._trial_started = None
            now = self._clock()
            trip = (
                self._state is BreakerState.HALF_OPEN
                or self._failures >= self.failure_threshold
                or retry_after_s is not None
            )
            if trip:
                hold = max(self.reset_timeout_s, min(retry_after_s or 0.0, self.max_open_s))
                until = now + hold
                if self._state is BreakerState.OPEN and self._opened_until is not None:
                    until = max(until, self._opened_until)
                self._state = BreakerState.OPEN
                self._opened_until = until
            return self._state
