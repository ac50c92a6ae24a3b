"""The one way producers call an API: rate limit, retry, circuit break, record health, hide secrets.

Paid sources have tight quotas, so every attempt (retries included) waits for a token, a 429's
`Retry-After` is honoured in full, client errors are never retried, and a source that keeps
failing is left alone by the circuit breaker.  `secret_params` are merged into the query only
when sending; everything that leaves this module (logs, exceptions, health) sees `***` instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self
from urllib.parse import quote, quote_plus

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from lakehouse.log import get_logger
from producers.base import HttpRequest, HttpResponse
from producers.http.breaker import BreakerState, CircuitBreaker
from producers.http.health import SourceHealth
from producers.http.ratelimit import TokenBucket

MAX_RETRY_AFTER_S = 900.0  # a 429 asking for longer than this opens the breaker instead of blocking
BODY_SNIPPET_CHARS = 300
USER_AGENT = "betting-lakehouse-producer/0.1"
# Errors that say the *source* is unusable (bad key, quota exhausted) rather than one request being wrong.
SOURCE_LEVEL_STATUSES = frozenset({401, 402, 403})


class SourceError(Exception):
    """Base for everything `SourceClient.fetch` raises; producers catch this and keep polling."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class SourceUnavailable(SourceError):
    """The breaker is open: no request was sent.  `until` is on the breaker's (monotonic) clock."""

    def __init__(self, source: str, until: float | None, retry_in_s: float = 0.0) -> None:
        super().__init__(source, f"circuit open, next trial in {retry_in_s:.1f}s")
        self.until = until
        self.retry_in_s = retry_in_s


class SourceHttpError(SourceError):
    """A 4xx (other than 429): the request itself is wrong or unauthorised, so it is not retried."""

    def __init__(self, source: str, status: int, url: str, body_snippet: str) -> None:
        super().__init__(source, f"HTTP {status} for {url}: {body_snippet}")
        self.status = status
        self.url = url
        self.body_snippet = body_snippet


class SourceFetchError(SourceError):
    """The fetch failed after retries (5xx, 429, timeouts, connection errors)."""

    def __init__(self, source: str, message: str, *, attempts: int, status: int | None = None) -> None:
        super().__init__(source, message)
        self.attempts = attempts
        self.status = status


class _AttemptFailed(Exception):
    """One attempt failed; message already redacted.  `retryable` decides whether tenacity goes on."""

    retryable = False

    def __init__(self, kind: str, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


class _Retryable(_AttemptFailed):
    retryable = True


class _Redactor:
    """Replaces every secret value (raw and URL-encoded) with `***`."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        forms = set()
        for value in secrets.values():
            if value:
                forms |= {value, quote(value, safe=""), quote_plus(value, safe="")}
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "***")
        return text


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


class SourceClient:
    """Fetches `HttpRequest`s for one source over a long-lived `httpx.Client` (connection reuse).

    `sleep` is used for backoff and `Retry-After` waits; `clock` is the wall clock (UTC) used for
    `fetched_at` and HTTP-date `Retry-After`.  Both are injectable so tests are instant.
    """

    def __init__(
        self,
        source: str,
        *,
        rate: TokenBucket,
        breaker: CircuitBreaker,
        health: SourceHealth,
        timeout_s: float = 10.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retry_after_s: float = MAX_RETRY_AFTER_S,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.source = source
        self.rate = rate
        self.breaker = breaker
        self.health = health
        self.max_retries = max_retries
        self.max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self._clock = clock
        self._jitter = wait_random_exponential(multiplier=backoff_base_s, max=backoff_max_s)
        self._log = get_logger(__name__).bind(source=source)
        self._http = httpx.Client(
            timeout=timeout_s,
            transport=transport,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )
        health.register(source, breaker)

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- fetching --------------------------------------------------------------------------------
    def fetch(self, request: HttpRequest) -> HttpResponse:
        """GET `request`; raises a `SourceError` subclass, never an httpx one."""
        trial = self.breaker.state is BreakerState.HALF_OPEN
        if not self.breaker.allow():
            self.health.record_short_circuit(self.source)
            retry_in = self.breaker.seconds_until_retry()
            self._log.debug("http short-circuited", retry_in_s=round(retry_in, 3))
            raise SourceUnavailable(self.source, self.breaker.opened_until, retry_in)

        redact = _Redactor(request.secret_params)
        url = httpx.URL(request.url).copy_merge_params({**request.params, **request.secret_params})
        shown = redact(str(url))
        # A half-open trial is a single probe: retrying a source that was just down wastes quota.
        attempts = 1 if trial else self.max_retries + 1
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            before_sleep=lambda rs: self._before_retry(rs, shown),
            reraise=True,
        )
        try:
            response = retrying(self._attempt, request, url, shown, redact)
        except SourceHttpError as exc:
            self._failed(exc, str(exc), counts=exc.status in SOURCE_LEVEL_STATUSES, level="warning")
            raise
        except _AttemptFailed as exc:
            made = retrying.statistics.get("attempt_number", 1)
            error = SourceFetchError(
                self.source, f"{exc} ({shown}, {made} attempt(s))", attempts=made, status=exc.status
            )
            retry_after = exc.retry_after if exc.status == 429 else None
            self._failed(error, str(error), counts=True, level="error", retry_after=retry_after)
            raise error from exc
        self.breaker.record_success()
        self.health.record_success(self.source)
        self._log.debug("http ok", url=shown, status=response.status)
        return response

    def _attempt(self, request: HttpRequest, url: httpx.URL, shown: str, redact: _Redactor) -> HttpResponse:
        self.rate.acquire()
        try:
            resp = self._http.get(url, headers=dict(request.headers))
        except httpx.TimeoutException as exc:
            self.health.record_request(self.source, "timeout", failed=True)
            raise _Retryable("timeout", f"timeout: {type(exc).__name__}") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            self.health.record_request(self.source, "connection_error", failed=True)
            raise _Retryable("connection_error", f"connection error: {redact(str(exc))}") from None
        except httpx.HTTPError as exc:  # bad URL, unsupported scheme...: retrying cannot help
            self.health.record_request(self.source, "error", failed=True)
            raise _AttemptFailed("error", f"{type(exc).__name__}: {redact(str(exc))}") from None

        self._record_quota(resp.headers)
        status = resp.status_code
        if status < 400:
            self.health.record_request(self.source, "success", failed=False)
            return HttpResponse(
                status=status,
                headers=dict(resp.headers),  # names lower-cased by httpx
                body=resp.content,
                fetched_at=self._clock(),
            )
        snippet = " ".join(redact(resp.text[:BODY_SNIPPET_CHARS]).split())
        retry_after = parse_retry_after(resp.headers.get("retry-after"), self._clock())
        if status == 429:
            self.health.record_request(self.source, "rate_limited", failed=True)
            message = f"HTTP 429 rate limited: {snippet}"
            if retry_after is not None and retry_after > self.max_retry_after_s:
                raise _AttemptFailed("rate_limited", message, status, retry_after)
            raise _Retryable("rate_limited", message, status, retry_after)
        if status >= 500:
            self.health.record_request(self.source, "server_error", failed=True)
            raise _Retryable("server_error", f"HTTP {status}: {snippet}", status, retry_after)
        self.health.record_request(self.source, "client_error", failed=True)
        raise SourceHttpError(self.source, status, shown, snippet)

    def _wait(self, rs: RetryCallState) -> float:
        """Full-jitter exponential backoff, or exactly what `Retry-After` asked for."""
        exc = rs.outcome.exception() if rs.outcome else None
        if isinstance(exc, _AttemptFailed) and exc.retry_after is not None:
            return exc.retry_after
        return self._jitter(rs)

    def _before_retry(self, rs: RetryCallState, shown: str) -> None:
        self.health.record_retry(self.source)
        exc = rs.outcome.exception() if rs.outcome else None
        self._log.warning(
            "http retry",
            attempt=rs.attempt_number,
            kind=getattr(exc, "kind", None),
            status=getattr(exc, "status", None),
            wait_s=round(rs.next_action.sleep, 3) if rs.next_action else None,
            error=str(exc),
            url=shown,
        )

    def _record_quota(self, headers: httpx.Headers) -> None:
        remaining = _header_int(headers, "x-requests-remaining")
        if remaining is None:
            remaining = _header_int(headers, "x-ratelimit-remaining")
        used = _header_int(headers, "x-requests-used")
        if remaining is not None or used is not None:
            self.health.record_quota(self.source, remaining, used)

    def _failed(
        self, exc: SourceError, error: str, *, counts: bool, level: str, retry_after: float | None = None
    ) -> None:
        if counts:
            before = self.breaker.state
            after = self.breaker.record_failure(retry_after_s=retry_after)
            if after is BreakerState.OPEN and before is not BreakerState.OPEN:
                self._log.warning(
                    "circuit opened",
                    failures=self.breaker.consecutive_failures,
                    retry_in_s=round(self.breaker.seconds_until_retry(), 3),
                )
        else:
            self.breaker.record_success()  # the source answered; this request was just wrong
        self.health.record_failure(self.source, error, counts=counts)
        getattr(self._log, level)(
            "http fetch failed",
            error=error,
            status=getattr(exc, "status", None),
            attempts=getattr(exc, "attempts", 1),
            counted=counts,
        )
