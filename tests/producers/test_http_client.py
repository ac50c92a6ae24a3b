"""SourceClient against a real scripted HTTP server on loopback (no httpx mocks).

Sleeps and the breaker/bucket clocks are fake, so backoff and `Retry-After` cost no time; only
the timeout test waits (0.2 s) for a real socket timeout.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from structlog.testing import capture_logs

from producers.base import HttpRequest
from producers.http import (
    BreakerState,
    CircuitBreaker,
    SourceClient,
    SourceFetchError,
    SourceHealth,
    SourceHttpError,
    SourceUnavailable,
    TokenBucket,
    start_health_server,
)
from producers.http.client import parse_retry_after

SECRET = "s3cr3t-K3y/with+chars"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class ScriptedServer(ThreadingHTTPServer):
    """Returns queued replies per path (200 when the queue is empty) and records every request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # cuts slow replies short at teardown

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def script(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.replies[path].extend(replies)

    def hits(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hung up on a deliberately slow reply


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive + Nagle would add 40 ms per reply

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        with self.server.lock:
            self.server.received.append(Received(parts.path, parse_qs(parts.query), dict(self.headers)))
            queue = self.server.replies[parts.path]
            reply = queue.popleft() if queue else Reply()
        if reply.delay_s:
            self.server.release.wait(reply.delay_s)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=2)


class FakeTime:
    """Monotonic clock + sleep: sleeping advances the clock and is recorded."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Kit:
    server: ScriptedServer
    time: FakeTime
    health: SourceHealth
    breaker: CircuitBreaker
    client: SourceClient

    def request(self, path: str, **kwargs: Any) -> HttpRequest:
        return HttpRequest(url=f"{self.server.base}{path}", **kwargs)


@pytest.fixture
def make_kit(server: ScriptedServer) -> Iterator[Any]:
    clients: list[SourceClient] = []

    def make(
        *, threshold: int = 5, reset_s: float = 60, max_retries: int = 4, timeout_s: float = 2.0, **kw: Any
    ) -> Kit:
        ft = FakeTime()
        health = SourceHealth(clock=lambda: 1_700_000_000.0)
        breaker = CircuitBreaker(failure_threshold=threshold, reset_timeout_s=reset_s, clock=ft)
        client = SourceClient(
            "the_odds_api",
            rate=TokenBucket(
                rate_per_s=kw.pop("rate", 1000.0), burst=kw.pop("burst", 10), clock=ft, sleep=ft.sleep
            ),
            breaker=breaker,
            health=health,
            timeout_s=timeout_s,
            max_retries=max_retries,
            sleep=ft.sleep,
            **kw,
        )
        clients.append(client)
        return Kit(server, ft, health, breaker, client)

    yield make
    for client in clients:
        client.close()


def test_500_then_200_retries_once(make_kit) -> None:
    with capture_logs() as logs:
        kit = make_kit()
        kit.server.script("/odds", Reply(500, b"boom"), Reply(200, b'[{"id": 1}]'))
        resp = kit.client.fetch(kit.request("/odds", params={"regions": "uk"}))
    retries = [e for e in logs if e["event"] == "http retry"]
    assert len(retries) == 1 and not [e for e in logs if e["log_level"] in ("error", "info")]
    assert retries[0]["source"] == "the_odds_api" and retries[0]["log_level"] == "warning"
    assert (retries[0]["attempt"], retries[0]["status"], retries[0]["kind"]) == (1, 500, "server_error")
    assert retries[0]["wait_s"] == pytest.approx(kit.time.sleeps[0], abs=1e-3)
    assert resp.status == 200 and resp.body == b'[{"id": 1}]'
    assert resp.fetched_at.tzinfo is not None and resp.fetched_at.utcoffset() == timedelta(0)
    assert len(kit.server.hits("/odds")) == 2
    assert kit.server.hits("/odds")[1].query == {"regions": ["uk"]}
    assert len(kit.time.sleeps) == 1 and 0.0 <= kit.time.sleeps[0] <= 0.5  # full jitter, first window
    status = kit.health.get("the_odds_api")
    assert (status.requests_total, status.requests_failed, status.retries_total) == (2, 1, 1)
    assert status.consecutive_failures == 0 and status.last_success == 1_700_000_000.0
    assert kit.breaker.state is BreakerState.CLOSED


def test_429_honours_retry_after_seconds(make_kit) -> None:
    kit = make_kit()
    kit.server.script("/odds", Reply(429, b"slow down", {"Retry-After": "2"}), Reply(200))
    assert kit.client.fetch(kit.request("/odds")).status == 200
    assert len(kit.server.hits("/odds")) == 2
    assert kit.time.sleeps and kit.time.sleeps[0] >= 2.0
    assert kit.health.get("the_odds_api").retries_total == 1


def test_429_honours_retry_after_http_date(make_kit) -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    kit = make_kit(clock=lambda: now)
    when = format_datetime(now + timedelta(seconds=7), usegmt=True)
    kit.server.script("/odds", Reply(429, headers={"Retry-After": when}), Reply(200))
    resp = kit.client.fetch(kit.request("/odds"))
    assert resp.fetched_at == now
    assert kit.time.sleeps[0] >= 7.0


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_429_longer_than_cap_opens_breaker_without_waiting(make_kit) -> None:
    kit = make_kit(max_retry_after_s=900)
    kit.server.script("/odds", Reply(429, headers={"Retry-After": "3600"}))
    with pytest.raises(SourceFetchError) as info:
        kit.client.fetch(kit.request("/odds"))
    assert info.value.status == 429
    assert kit.time.sleeps == []  # did not block the producer for an hour
    assert kit.breaker.state is BreakerState.OPEN
    assert kit.breaker.seconds_until_retry() == pytest.approx(3600)
    with pytest.raises(SourceUnavailable):
        kit.client.fetch(kit.request("/odds"))
    assert len(kit.server.hits("/odds")) == 1


def test_repeated_503_gives_up_then_breaker_opens_then_half_open_trial(make_kit) -> None:
    kit = make_kit(threshold=2, reset_s=30, max_retries=3)
    kit.server.script("/odds", *[Reply(503, b"unavailable")] * 8)

    with pytest.raises(SourceFetchError) as info:
        kit.client.fetch(kit.request("/odds"))
    assert info.value.attempts == 4 and info.value.status == 503
    assert len(kit.server.hits("/odds")) == 4  # max_retries + 1
    status = kit.health.get("the_odds_api")
    assert status.consecutive_failures == 1 and status.retries_total == 3
    assert status.last_error is not None and "503" in status.last_error
    assert kit.breaker.state is BreakerState.CLOSED

    with pytest.raises(SourceFetchError):
        kit.client.fetch(kit.request("/odds"))
    assert len(kit.server.hits("/odds")) == 8
    assert kit.breaker.state is BreakerState.OPEN
    assert kit.health.get("the_odds_api").consecutive_failures == 2

    with pytest.raises(SourceUnavailable) as unavailable:
        kit.client.fetch(kit.request("/odds"))
    assert unavailable.value.until == kit.breaker.opened_until
    assert len(kit.server.hits("/odds")) == 8  # zero requests while open
    assert kit.health.get("the_odds_api").short_circuited == 1

    kit.time.now += 30
    assert kit.breaker.state is BreakerState.HALF_OPEN
    resp = kit.client.fetch(kit.request("/odds"))  # queue is empty now -> 200
    assert resp.status == 200
    assert len(kit.server.hits("/odds")) == 9
    assert kit.breaker.state is BreakerState.CLOSED
    assert kit.health.get("the_odds_api").consecutive_failures == 0


def test_half_open_trial_is_a_single_attempt(make_kit) -> None:
    kit = make_kit(threshold=1, reset_s=10, max_retries=4)
    kit.server.script("/odds", Reply(503), Reply(503), Reply(503), Reply(503), Reply(503), Reply(503))
    with pytest.raises(SourceFetchError):
        kit.client.fetch(kit.request("/odds"))
    assert len(kit.server.hits("/odds")) == 5
    kit.time.now += 10
    with pytest.raises(SourceFetchError) as info:
        kit.client.fetch(kit.request("/odds"))
    assert info.value.attempts == 1
    assert len(kit.server.hits("/odds")) == 6
    assert kit.breaker.state is BreakerState.OPEN


def test_timeout_is_retried(make_kit) -> None:
    kit = make_kit(timeout_s=0.2)
    kit.server.script("/slow", Reply(200, b"late", delay_s=2.0), Reply(200, b"fast"))
    resp = kit.client.fetch(kit.request("/slow"))
    assert resp.body == b"fast"
    assert len(kit.server.hits("/slow")) == 2
    status = kit.health.get("the_odds_api")
    assert status.retries_total == 1 and status.requests_failed == 1


def test_connection_refused_is_retried_then_fails(make_kit) -> None:
    kit = make_kit(max_retries=2)
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as dead:
        port = dead.server_address[1]
    with pytest.raises(SourceFetchError) as info:
        kit.client.fetch(HttpRequest(url=f"http://127.0.0.1:{port}/x"))
    assert info.value.attempts == 3
    assert "connection error" in str(info.value)


def test_404_is_not_retried(make_kit) -> None:
    kit = make_kit()
    kit.server.script("/missing", Reply(404, b'{"message": "Unknown sport"}'))
    with pytest.raises(SourceHttpError) as info:
        kit.client.fetch(kit.request("/missing"))
    assert info.value.status == 404
    assert "Unknown sport" in info.value.body_snippet
    assert len(kit.server.hits("/missing")) == 1
    assert kit.time.sleeps == []
    status = kit.health.get("the_odds_api")
    # A wrong request says nothing about the source: no breaker failure, still healthy.
    assert status.consecutive_failures == 0 and status.requests_failed == 1
    assert kit.breaker.consecutive_failures == 0


def test_401_counts_against_the_source(make_kit) -> None:
    kit = make_kit(threshold=1)
    kit.server.script("/odds", Reply(401, b'{"message": "quota reached"}'))
    with pytest.raises(SourceHttpError):
        kit.client.fetch(kit.request("/odds"))
    assert len(kit.server.hits("/odds")) == 1
    assert kit.breaker.state is BreakerState.OPEN
    assert kit.health.get("the_odds_api").consecutive_failures == 1


def test_quota_headers_recorded(make_kit) -> None:
    kit = make_kit()
    kit.server.script(
        "/odds", Reply(200, headers={"x-requests-remaining": "497", "x-requests-used": "3", "X-Custom": "a"})
    )
    resp = kit.client.fetch(kit.request("/odds"))
    assert resp.headers["x-custom"] == "a"
    status = kit.health.get("the_odds_api")
    assert (status.requests_remaining, status.requests_used) == (497, 3)
    assert (
        'producer_source_requests_remaining{source="the_odds_api"} 497.0'
        in kit.health.render_metrics().decode()
    )


def test_generic_ratelimit_header_recorded(make_kit) -> None:
    kit = make_kit()
    kit.server.script("/news", Reply(200, headers={"X-RateLimit-Remaining": "42"}))
    kit.client.fetch(kit.request("/news"))
    status = kit.health.get("the_odds_api")
    assert (status.requests_remaining, status.requests_used) == (42, None)


def test_token_bucket_paces_every_attempt_including_retries(make_kit) -> None:
    kit = make_kit(rate=1.0, burst=1, backoff_base_s=0.0001, backoff_max_s=0.0001)
    kit.server.script("/odds", Reply(500), Reply(500), Reply(200))
    start = kit.time.now
    kit.client.fetch(kit.request("/odds"))
    assert len(kit.server.hits("/odds")) == 3
    assert kit.time.now - start >= 2.0  # three attempts at 1/s, burst 1


def test_secret_never_leaks(make_kit) -> None:
    with capture_logs() as logs:
        kit = make_kit(max_retries=1, threshold=2)
        srv = kit.server
        srv.script("/ok", Reply(200, headers={"x-requests-remaining": "10"}))
        srv.script("/err", Reply(503, f"bad key {SECRET}".encode()), Reply(503, f"key={SECRET}".encode()))
        srv.script("/bad", Reply(403, f'{{"message": "invalid apiKey {SECRET}"}}'.encode()))
        srv.script("/slow", Reply(delay_s=2.0))

        def req(path: str) -> HttpRequest:
            return kit.request(path, params={"regions": "uk"}, secret_params={"apiKey": SECRET})

        kit.client.fetch(req("/ok"))
        errors: list[BaseException] = []
        for path in ("/err", "/bad"):
            with pytest.raises((SourceFetchError, SourceHttpError)) as info:
                kit.client.fetch(req(path))
            errors.append(info.value)
        timeout_kit = make_kit(timeout_s=0.1, max_retries=0)
        with pytest.raises(SourceFetchError) as info:
            timeout_kit.client.fetch(HttpRequest(url=f"{srv.base}/slow", secret_params={"apiKey": SECRET}))
        errors.append(info.value)
        with pytest.raises(SourceUnavailable) as info:
            kit.client.fetch(req("/ok"))  # /err + the 403 on /bad opened the breaker
        errors.append(info.value)

    # The key really was sent...
    sent = [r.query for r in srv.received]
    assert sent[0] == {"regions": ["uk"], "apiKey": [SECRET]}
    assert all(q.get("apiKey") == [SECRET] for q in sent)
    # ...but nothing that leaves the client shows it.
    for exc in errors:
        rendered = "".join(traceback.format_exception(exc))
        assert SECRET not in rendered
        assert isinstance(exc, SourceUnavailable) or "apiKey=***" in str(exc)
    assert logs, "expected retry/failure log lines"
    assert any(e.get("event") == "http retry" for e in logs)
    assert SECRET not in repr(logs)
    assert any("apiKey=***" in str(e.get("url", "")) for e in logs)
    health_doc = json.dumps(kit.health.report())
    assert SECRET not in health_doc and SECRET not in json.dumps(timeout_kit.health.report())
    assert "***" in health_doc
    assert SECRET not in kit.health.render_metrics().decode()
    server, port = start_health_server(kit.health)
    try:
        with httpx.Client() as http:
            assert SECRET not in http.get(f"http://127.0.0.1:{port}/health").text
            assert SECRET not in http.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        server.shutdown()


def test_health_endpoint_reflects_client(make_kit) -> None:
    kit = make_kit(threshold=10, max_retries=0)
    kit.server.script("/odds", Reply(200), Reply(500), Reply(500), Reply(500))
    server, port = start_health_server(kit.health)
    try:
        with httpx.Client() as http:
            kit.client.fetch(kit.request("/odds"))
            assert http.get(f"http://127.0.0.1:{port}/health").status_code == 200
            for _ in range(3):
                with pytest.raises(SourceFetchError):
                    kit.client.fetch(kit.request("/odds"))
            resp = http.get(f"http://127.0.0.1:{port}/health")
            assert resp.status_code == 503
            assert resp.json()["sources"]["the_odds_api"]["consecutive_failures"] == 3
            metrics = http.get(f"http://127.0.0.1:{port}/metrics").text
            assert 'producer_http_requests_total{outcome="server_error",source="the_odds_api"} 3.0' in metrics
            assert 'producer_source_consecutive_failures{source="the_odds_api"} 3.0' in metrics
    finally:
        server.shutdown()


def test_client_is_a_context_manager(server: ScriptedServer) -> None:
    health = SourceHealth()
    with SourceClient("espn", rate=TokenBucket(100, 10), breaker=CircuitBreaker(), health=health) as client:
        assert client.fetch(HttpRequest(url=f"{server.base}/scoreboard")).status == 200
        assert client.fetch(HttpRequest(url=f"{server.base}/scoreboard")).status == 200
    assert client._http.is_closed
    assert health.get("espn").requests_total == 2
