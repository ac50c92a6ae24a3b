"""`/status`'s rules: the worst finding first, silence noticed, and all clear only when it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from serving.api.status import DRUID_LAG_RECORDS, findings, report
from serving.overlord import SupervisorState

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _sample(component: str, metric: str, value: float, age_s: float = 5) -> dict:
    return {
        "component": component,
        "metric": metric,
        "value": value,
        "observed_at": NOW - timedelta(seconds=age_s),
    }


def test_the_worst_finding_is_the_headline() -> None:
    samples = [
        _sample("producer:the_odds_api", "source_up", 1),
        _sample("producer:the_odds_api", "rate_limit_remaining", 12),
        _sample("stream:silver", "lag_records", 250_000),
        _sample("stream:aggregates", "freshness_s", 2.5),
        _sample("producer:espn", "source_up", 1, age_s=3600),  # silent for an hour
    ]
    found = findings(samples, NOW)
    assert [(f.severity, f.component) for f in found] == [
        ("critical", "stream:silver"),
        ("warning", "producer:espn"),
        ("warning", "producer:the_odds_api"),
    ]
    out = report(samples, NOW)
    assert out["status"] == "critical"
    assert out["headline"] == "Look first at: stream:silver is 250,000 records behind its topics"
    assert "60 min" in found[1].message and "12 API requests left" in found[2].message


def test_all_clear_and_no_data() -> None:
    calm = [_sample("stream:aggregates", "freshness_s", 1.2), _sample("producer:espn", "source_up", 1)]
    assert report(calm, NOW)["status"] == "ok"
    assert report(calm, NOW)["headline"].startswith("All clear: 2 components")
    assert report([], NOW)["status"] == "unknown"


def _supervisor(
    name: str,
    state: str = "RUNNING",
    lag: int | None = 0,
    detailed: str | None = None,
    recent_errors: tuple[str, ...] = (),
) -> SupervisorState:
    healthy = state == "RUNNING"
    return SupervisorState(
        name, state, detailed or state, healthy, state == "SUSPENDED", 1, lag, recent_errors
    )


def test_druid_ingestion_state_and_lag_are_findings() -> None:
    calm = [_sample("stream:aggregates", "freshness_s", 1.2)]
    running = [_supervisor("market_prices_live", lag=12), _supervisor("steam_moves", lag=0)]
    out = report(calm, NOW, supervisors=running)
    assert out["status"] == "ok" and out["headline"].startswith("All clear: 3 components")
    assert out["ingestion"] == [
        {"datasource": "market_prices_live", "state": "RUNNING", "lag_records": 12},
        {"datasource": "steam_moves", "state": "RUNNING", "lag_records": 0},
    ]
    behind = [_supervisor("market_prices_live", lag=DRUID_LAG_RECORDS + 1)]
    assert report(calm, NOW, supervisors=behind)["headline"] == (
        f"Look first at: Druid is {DRUID_LAG_RECORDS + 1:,} records behind the topic of market_prices_live"
    )
    broken = [
        _supervisor("arbitrage_opportunities", "SUSPENDED", lag=None),
        _supervisor(
            "steam_moves",
            "UNHEALTHY_TASKS",
            detailed="UNHEALTHY_TASKS",
            recent_errors=("org.apache.druid.java.util.common.ISE",),
        ),
    ]
    out = report(calm, NOW, supervisors=broken)
    assert [(f["severity"], f["component"]) for f in out["findings"]] == [
        ("critical", "druid:steam_moves"),
        ("warning", "druid:arbitrage_opportunities"),
    ]
    assert out["headline"].endswith("steam_moves is UNHEALTHY_TASKS (org.apache.druid.java.util.common.ISE)")
    # No health samples yet, but Druid's state is known: its finding leads, not "no data".
    assert report([], NOW, supervisors=broken)["status"] == "critical"
    down = report(calm, NOW, supervisors=None, overlord_error="connection refused")
    assert down["status"] == "critical" and "Overlord did not answer: connection refused" in down["headline"]
