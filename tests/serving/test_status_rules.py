"""`/status`'s rules: the worst finding first, silence noticed, and all clear only when it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from serving.api.status import findings, report

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
