"""SourceHealth registry and its /health + /metrics endpoint, over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from producers.http import CircuitBreaker, SourceHealth, start_health_server
from producers.http.health import HealthServer


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def served() -> Iterator[tuple[SourceHealth, CircuitBreaker, FakeClock, str]]:
    clock = FakeClock()
    health = SourceHealth(clock=lambda: 1_700_000_000.0)
    breaker = CircuitBreaker(failure_threshold=5, reset_timeout_s=30, clock=clock)
    health.register("the_odds_api", breaker)
    health.register("espn")
    server, port = start_health_server(health)
    yield health, breaker, clock, f"http://127.0.0.1:{port}"
    server.shutdown()


def test_health_ok_then_degraded_after_failures(served, http: httpx.Client) -> None:
    health, _, _, base = served
    health.record_request("the_odds_api", "success", failed=False)
    health.record_success("the_odds_api")
    resp = http.get(f"{base}/health")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["status"] == "ok"
    odds = doc["sources"]["the_odds_api"]
    assert odds["last_success"] == "2023-11-14T22:13:20+00:00"
    assert odds["breaker_state"] == "closed"
    assert odds["requests_total"] == 1
    assert doc["sources"]["espn"]["breaker_state"] is None

    for _ in range(3):
        health.record_failure("espn", "HTTP 503: upstream down")
    resp = http.get(f"{base}/health")
    assert resp.status_code == 503
    doc = resp.json()
    assert doc["status"] == "degraded"
    assert doc["sources"]["espn"]["consecutive_failures"] == 3
    assert doc["sources"]["espn"]["last_error"] == "HTTP 503: upstream down"
    assert doc["sources"]["espn"]["degraded"] is True
    assert doc["sources"]["the_odds_api"]["degraded"] is False

    health.record_success("espn")
    assert http.get(f"{base}/health").status_code == 200


def test_open_breaker_degrades_and_sets_gauge(served, http: httpx.Client) -> None:
    _, breaker, clock, base = served
    breaker.record_failure(retry_after_s=60)
    resp = http.get(f"{base}/health")
    assert resp.status_code == 503
    assert resp.json()["sources"]["the_odds_api"]["breaker_state"] == "open"
    assert 'producer_source_circuit_open{source="the_odds_api"} 1.0' in http.get(f"{base}/metrics").text

    clock.now += 60  # half-open: still not recovered
    assert http.get(f"{base}/health").json()["sources"]["the_odds_api"]["breaker_state"] == "half_open"
    assert 'producer_source_circuit_open{source="the_odds_api"} 0.0' in http.get(f"{base}/metrics").text
    breaker.record_success()
    assert http.get(f"{base}/health").status_code == 200


def test_metrics_exposition(served, http: httpx.Client) -> None:
    health, _, _, base = served
    health.record_request("the_odds_api", "success", failed=False)
    health.record_request("the_odds_api", "server_error", failed=True)
    health.record_retry("the_odds_api")
    health.record_quota("the_odds_api", remaining=497, used=3)
    health.record_success("the_odds_api")
    resp = http.get(f"{base}/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    for line in (
        'producer_http_requests_total{outcome="success",source="the_odds_api"} 1.0',
        'producer_http_requests_total{outcome="server_error",source="the_odds_api"} 1.0',
        'producer_http_retries_total{source="the_odds_api"} 1.0',
        'producer_source_last_success_timestamp_seconds{source="the_odds_api"} 1.7e+09',
        'producer_source_consecutive_failures{source="the_odds_api"} 0.0',
        'producer_source_requests_remaining{source="the_odds_api"} 497.0',
        'producer_source_requests_used{source="the_odds_api"} 3.0',
        'producer_source_circuit_open{source="the_odds_api"} 0.0',
        'producer_source_consecutive_failures{source="espn"} 0.0',
    ):
        assert line in text, line
    assert http.get(f"{base}/nope").status_code == 404


def test_snapshot_fields_and_unknown_quota() -> None:
    health = SourceHealth(clock=lambda: 5.0)
    health.record_request("gnews", "client_error", failed=True)
    health.record_failure("gnews", "HTTP 404", counts=False)
    status = health.get("gnews")
    assert status.requests_total == 1 and status.requests_failed == 1
    assert status.consecutive_failures == 0
    assert status.last_failure == 5.0 and status.last_error == "HTTP 404"
    assert status.requests_remaining is None and status.requests_used is None
    assert status.breaker_state is None


def test_registries_are_isolated() -> None:
    a, b = SourceHealth(), SourceHealth()
    a.record_retry("x")
    assert b'source="x"' in a.render_metrics()
    assert b'source="x"' not in b.render_metrics()


def test_shutdown_stops_serving(http: httpx.Client) -> None:
    server, port = start_health_server(SourceHealth())
    assert isinstance(server, HealthServer)
    assert http.get(f"http://127.0.0.1:{port}/health").status_code == 200
    server.shutdown()
    with pytest.raises(httpx.ConnectError):
        http.get(f"http://127.0.0.1:{port}/health", timeout=1)
