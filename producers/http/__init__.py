"""Shared HTTP resilience for producers: rate limiting, retries, circuit breaking and health."""

from producers.http.breaker import BreakerState, CircuitBreaker
from producers.http.client import (
    SourceClient,
    SourceError,
    SourceFetchError,
    SourceHttpError,
    SourceUnavailable,
)
from producers.http.health import SourceHealth, SourceStatus, start_health_server
from producers.http.ratelimit import TokenBucket

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "SourceClient",
    "SourceError",
    "SourceFetchError",
    "SourceHealth",
    "SourceHttpError",
    "SourceStatus",
    "SourceUnavailable",
    "TokenBucket",
    "start_health_server",
]
