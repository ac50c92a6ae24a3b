"""Per-source health: what a producer knows about each API, as Prometheus metrics and `/health` JSON.

Operators need to see at a glance which source is failing, whether its breaker is open and how
much paid quota is left.  Metrics live in a dedicated `CollectorRegistry` so instances (and
tests) never collide in the process-global one.  Nothing here sees request URLs or secrets:
callers pass already-redacted error text.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from producers.http.breaker import BreakerState, CircuitBreaker

DEGRADED_AFTER_FAILURES = 3


@dataclass
class SourceStatus:
    """Snapshot of one source; timestamps are epoch seconds (None = never)."""

    last_success: float | None = None
    last_failure: float | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    requests_total: int = 0
    requests_failed: int = 0
    retries_total: int = 0
    short_circuited: int = 0
    requests_remaining: int | None = None
    requests_used: int | None = None
    breaker_state: str | None = None
    poll_crashes: int = 0
    poll_failing: bool = False  # the last poll crashed (its thread is restarting with backoff)

    @property
    def degraded(self) -> bool:
        open_ = self.breaker_state not in (None, BreakerState.CLOSED)
        return open_ or self.poll_failing or self.consecutive_failures >= DEGRADED_AFTER_FAILURES

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("last_success", "last_failure"):
            ts = out[key]
            out[key] = None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()
        out["degraded"] = self.degraded
        return out


class SourceHealth:
    """Thread-safe registry of `SourceStatus` per source, mirrored into Prometheus metrics."""

    def __init__(
        self, registry: CollectorRegistry | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._clock = clock
        self._lock = threading.Lock()
        self._sources: dict[str, SourceStatus] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        r = self.registry
        self._requests = Counter(
            "producer_http_requests_total", "HTTP requests sent", ["source", "outcome"], registry=r
        )
        self._retries = Counter("producer_http_retries_total", "HTTP retries", ["source"], registry=r)
        self._last_success = Gauge(
            "producer_source_last_success_timestamp_seconds", "Last successful fetch", ["source"], registry=r
        )
        self._failures = Gauge(
            "producer_source_consecutive_failures", "Failed fetches in a row", ["source"], registry=r
        )
        self._remaining = Gauge(
            "producer_source_requests_remaining", "Quota left, from the API's headers", ["source"], registry=r
        )
        self._used = Gauge(
            "producer_source_requests_used", "Quota used, from the API's headers", ["source"], registry=r
        )
        self._circuit = Gauge(
            "producer_source_circuit_open", "1 when the breaker is open", ["source"], registry=r
        )

    def register(self, source: str, breaker: CircuitBreaker | None = None) -> None:
        """Make a source visible (before its first request); its breaker is read live."""
        with self._lock:
            self._status(source)
            if breaker is not None:
                self._breakers[source] = breaker

    def _status(self, source: str) -> SourceStatus:
        status = self._sources.get(source)
        if status is None:
            status = self._sources[source] = SourceStatus()
            self._retries.labels(source)
            self._failures.labels(source).set(0)
            self._circuit.labels(source).set(0)
        return status

    def record_request(self, source: str, outcome: str, *, failed: bool) -> None:
        """One HTTP request actually sent (each one may cost quota)."""
        with self._lock:
            status = self._status(source)
            status.requests_total += 1
            status.requests_failed += int(failed)
        self._requests.labels(source, outcome).inc()

    def record_retry(self, source: str) -> None:
        with self._lock:
            self._status(source).retries_total += 1
        self._retries.labels(source).inc()

    def record_short_circuit(self, source: str) -> None:
        """A fetch refused by the open breaker (no request sent)."""
        with self._lock:
            self._status(source).short_circuited += 1

    def record_quota(self, source: str, remaining: int | None, used: int | None) -> None:
        with self._lock:
            status = self._status(source)
            if remaining is not None:
                status.requests_remaining = remaining
                self._remaining.labels(source).set(remaining)
            if used is not None:
                status.requests_used = used
                self._used.labels(source).set(used)

    def record_success(self, source: str) -> None:
        now = self._clock()
        with self._lock:
            status = self._status(source)
            status.last_success = now
            status.consecutive_failures = 0
        self._last_success.labels(source).set(now)
        self._failures.labels(source).set(0)

    def record_failure(self, source: str, error: str, *, counts: bool = True) -> None:
        """A failed fetch; `counts=False` for request-specific errors (e.g. 404) that say nothing
        about the source's health."""
        now = self._clock()
        with self._lock:
            status = self._status(source)
            status.last_failure = now
            status.last_error = error
            if counts:
                status.consecutive_failures += 1
            failures = status.consecutive_failures
        self._failures.labels(source).set(failures)

    def record_poll(self, source: str, crash: str | None) -> None:
        """A poll ended: ``crash`` is the error of one that raised (its thread restarts), else None."""
        with self._lock:
            status = self._status(source)
            status.poll_failing = crash is not None
            if crash is not None:
                status.poll_crashes += 1
                status.last_failure = self._clock()
                status.last_error = crash

    def get(self, source: str) -> SourceStatus:
        return self.snapshot()[source]

    def snapshot(self) -> dict[str, SourceStatus]:
        """Copies of every source's status, with live breaker states."""
        with self._lock:
            breakers = dict(self._breakers)
            statuses = {name: SourceStatus(**asdict(s)) for name, s in self._sources.items()}
        for name, breaker in breakers.items():
            state = breaker.state
            statuses[name].breaker_state = str(state)
            self._circuit.labels(name).set(1 if state is BreakerState.OPEN else 0)
        return statuses

    def report(self) -> dict[str, Any]:
        """The `/health` document: degraded when any breaker is not closed or a source keeps failing."""
        statuses = self.snapshot()
        degraded = any(s.degraded for s in statuses.values())
        return {
            "status": "degraded" if degraded else "ok",
            "sources": {name: s.as_dict() for name, s in sorted(statuses.items())},
        }

    def render_metrics(self) -> bytes:
        self.snapshot()  # refresh breaker gauges (open -> half_open happens on the clock)
        return generate_latest(self.registry)


class HealthServer(ThreadingHTTPServer):
    """Serves `/health` and `/metrics` from a daemon thread; `shutdown()` stops and closes it."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], health: SourceHealth) -> None:
        self.health = health
        self.thread: threading.Thread | None = None
        super().__init__(address, _HealthHandler)

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


class _HealthHandler(BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, self.server.health.render_metrics())
        elif path == "/health":
            report = self.server.health.report()
            code = 200 if report["status"] == "ok" else 503
            self._send(code, "application/json", json.dumps(report).encode())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # scrapes every few seconds: stay quiet
        pass


def start_health_server(
    health: SourceHealth, host: str = "127.0.0.1", port: int = 0
) -> tuple[HealthServer, int]:
    """Start the endpoint in a daemon thread; port 0 picks a free port (returned)."""
    server = HealthServer((host, port), health)
    server.thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="health-server", daemon=True
    )
    server.thread.start()
    return server, server.server_address[1]
