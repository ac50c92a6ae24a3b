"""The checked panels' reference computations: Druid's time, range and latest-row rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboards.queries import ALL
from dashboards.registry import DASHBOARDS
from tests.support.dashboard_checks import (
    CHECKS,
    AmbiguousLatestError,
    mean_margin_per_bookmaker,
    open_arbitrages,
    producer_source_health,
)

T0 = datetime(2024, 3, 27, 18, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def published(at: str) -> int:
    """The Kafka timestamp (ms) a version published at ``at`` carries."""
    return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() * 1000)


def arb(arb_id: str, at: str, status: str, sport: str = "soccer_epl") -> dict:
    return {
        "arb_id": arb_id,
        "game_id": "g",
        "sport": sport,
        "market": "h2h",
        "point": None,
        "status": status,
        "updated_at": at,
        "published_at": published(at),
    }


def test_every_dashboard_has_one_checked_panel_matching_the_registry() -> None:
    assert set(CHECKS) == set(DASHBOARDS)
    assert all(CHECKS[uid].panel_title == DASHBOARDS[uid].checked_panel for uid in DASHBOARDS)


def test_range_is_half_open_on_millisecond_time() -> None:
    records = [
        arb("in", "2024-03-27T18:00:00.000000Z", "open"),
        arb("truncated_in", "2024-03-27T18:59:59.999900Z", "open"),  # .9999 s is .999 in Druid
        arb("end", "2024-03-27T19:00:00.000000Z", "open"),
        arb("before", "2024-03-27T17:59:59.999999Z", "open"),
    ]
    assert open_arbitrages(records, T0, T1) == [{"open_arbitrages": 2}]


def test_latest_row_decides_and_ties_are_refused_unless_identical() -> None:
    closed_later = [arb("a", "2024-03-27T18:00:01Z", "open"), arb("a", "2024-03-27T18:00:02Z", "closed")]
    assert open_arbitrages(closed_later, T0, T1) == [{"open_arbitrages": 0}]
    resent = [arb("a", "2024-03-27T18:00:01Z", "open"), arb("a", "2024-03-27T18:00:01Z", "open")]
    assert open_arbitrages(resent, T0, T1) == [{"open_arbitrages": 1}]
    # 100 microseconds apart: the same millisecond in Druid, so Druid's answer is arbitrary
    tied = [
        arb("a", "2024-03-27T18:00:01.000100Z", "open"),
        arb("a", "2024-03-27T18:00:01.000200Z", "closed"),
    ]
    with pytest.raises(AmbiguousLatestError):
        open_arbitrages(tied, T0, T1)


def test_sport_and_competition_filters() -> None:
    records = [
        arb("a", "2024-03-27T18:00:01Z", "open"),
        arb("b", "2024-03-27T18:00:01Z", "open", "soccer_spain_la_liga"),
        arb("c", "2024-03-27T18:00:01Z", "open", "americanfootball_nfl"),
    ]

    def count(chosen):
        return open_arbitrages(records, T0, T1, chosen)[0]["open_arbitrages"]

    assert count(None) == count({"sport": ALL}) == 3
    assert count({"sport": "soccer"}) == 2
    assert count({"sport": "soccer", "competition": ["soccer_spain_la_liga"]}) == 1
    assert count({"competition": ["soccer_epl", "americanfootball_nfl"]}) == 2


def bar(
    book: str,
    margin: float | None,
    updated: str,
    *,
    window: str = "2024-03-27T18:00:00Z",
    selection: str = "home",
    market: str = "h2h",
) -> dict:
    return {
        "window_start": window,
        "game_id": "g",
        "sport": "soccer_epl",
        "market": market,
        "point": None,
        "bookmaker": book,
        "selection": selection,
        "bookmaker_margin": margin,
        "updated_at": updated,
        "published_at": published(updated),
    }


def test_margin_counts_each_bar_once_with_its_latest_emission_in_the_chosen_market() -> None:
    records = [
        bar("pinnacle", 0.05, "2024-03-27T18:00:10Z"),
        bar("pinnacle", 0.03, "2024-03-27T18:00:20Z"),  # supersedes the bar above
        bar("pinnacle", 0.04, "2024-03-27T18:00:20Z", selection="away"),
        bar("pinnacle", None, "2024-03-27T18:00:30Z", selection="draw"),  # no margin: not a bar here
        bar("pinnacle", 0.9, "2024-03-27T18:00:20Z", market="totals"),
        bar("bet365", 0.07, "2024-03-27T18:00:20Z"),
    ]
    assert mean_margin_per_bookmaker(records, T0, T1) == [
        {
            "bookmaker": "pinnacle",
            "mean_margin": pytest.approx(0.035),
            "min_margin": 0.03,
            "max_margin": 0.04,
            "bars": 2,
        },
        {"bookmaker": "bet365", "mean_margin": 0.07, "min_margin": 0.07, "max_margin": 0.07, "bars": 1},
    ]
    totals = mean_margin_per_bookmaker(records, T0, T1, {"market": "totals"})
    assert [(r["bookmaker"], r["mean_margin"]) for r in totals] == [("pinnacle", 0.9)]
    assert [
        r["bookmaker"] for r in mean_margin_per_bookmaker(records, T0, T1, {"bookmaker": ["bet365"]})
    ] == ["bet365"]


def test_source_health_reads_producers_only_and_latest_per_metric() -> None:
    def s(component, metric, value, second):
        return {
            "component": component,
            "metric": metric,
            "value": value,
            "observed_at": (T0 + timedelta(seconds=second)).isoformat(),
        }

    records = [
        s("producer:espn", "source_up", 1, 1),
        s("producer:espn", "source_up", 0, 2),
        s("producer:espn", "dead_letters", 2, 1),
        s("producer:espn", "dead_letters", 4, 2),
        s("stream:silver", "source_up", 1, 3),
    ]
    assert producer_source_health(records, T0, T1) == [
        {
            "component": "producer:espn",
            "source_up": 0,
            "rate_limit_remaining": None,
            "records_per_s": None,
            "freshness_s": None,
            "dead_letters": 6,
        }
    ]
    assert producer_source_health(records, T0, T1, {"component": ["stream:silver"]}) == []
