"""Token bucket and circuit breaker on a fake clock: instant and deterministic."""

from __future__ import annotations

import threading

import pytest

from producers.http import BreakerState, CircuitBreaker, TokenBucket


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_bucket_paces_to_rate_after_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=2, burst=1, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.5, 0.5, 0.5, 0.5])
    assert sum(clock.sleeps) == pytest.approx(2.0)
    assert clock.now - 1000.0 == pytest.approx(2.0)


def test_bucket_burst_then_refill() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=1, burst=3, clock=clock, sleep=clock.sleep)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    clock.now += 1.5
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    clock.now += 100  # refill is capped at burst
    assert bucket.tokens == pytest.approx(3.0)


def test_bucket_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=0, burst=1)
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=1, burst=2).acquire(3)


def test_bucket_concurrent_acquires_reserve_distinct_slots() -> None:
    # Frozen clock: each of N threads must get its own slot, so the waits are exactly 0..N-1 s.
    clock = FakeClock()
    lock = threading.Lock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    bucket = TokenBucket(rate_per_s=1, burst=1, clock=clock, sleep=sleep)
    results: list[float] = []
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        wait = bucket.acquire()
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == pytest.approx([float(i) for i in range(16)])
    assert sorted(slept) == pytest.approx([float(i) for i in range(1, 16)])


def test_bucket_concurrent_try_acquire_never_overspends() -> None:
    bucket = TokenBucket(rate_per_s=0.001, burst=10, clock=FakeClock())
    granted: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        granted.extend(bucket.try_acquire() for _ in range(5))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert granted.count(True) == 10


def test_breaker_opens_after_threshold_and_half_opens_after_timeout() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=60, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        assert breaker.record_failure() is BreakerState.CLOSED
    assert breaker.opened_until is None
    assert breaker.record_failure() is BreakerState.OPEN
    assert breaker.opened_until == pytest.approx(1060.0)
    assert not breaker.allow()

    clock.now += 59.9
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # no second concurrent trial
    assert breaker.record_success() is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0
    assert breaker.allow()


def test_breaker_half_open_failure_reopens() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    assert breaker.record_failure() is BreakerState.OPEN
    assert breaker.opened_until == pytest.approx(clock.now + 10)
    assert not breaker.allow()


def test_breaker_success_resets_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_breaker_retry_after_opens_at_once_for_at_least_that_long() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=5, reset_timeout_s=60, clock=clock)
    assert breaker.record_failure(retry_after_s=3600) is BreakerState.OPEN
    assert breaker.seconds_until_retry() == pytest.approx(3600)


def test_breaker_caps_an_absurd_retry_after() -> None:
    """A Retry-After of 1e9 s once opened the breaker for 31 years."""
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=5, reset_timeout_s=60, clock=clock, max_open_s=3600)
    assert breaker.record_failure(retry_after_s=1e9) is BreakerState.OPEN
    assert breaker.seconds_until_retry() == pytest.approx(3600)
    clock.now += 3600
    assert breaker.state is BreakerState.HALF_OPEN


def test_breaker_stale_trial_does_not_wedge() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow()  # trial granted, outcome never recorded
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()
