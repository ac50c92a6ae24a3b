"""The scheduler polling a local server that serves the real captured responses, with failures."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

import pytest

from infra.stack.kafka import KafkaBroker
from lakehouse.config import KafkaSettings, Settings
from lakehouse.health import HealthReporter
from producers.changes import ChangeDetector
from producers.connectors import build_connector
from producers.publisher import Publisher
from producers.scheduler import Job, Schedule, Scheduler, SourceSpec

pytestmark = pytest.mark.integration
API_KEY = "odds-key-" + uuid.uuid4().hex


def test_one_round_of_polls_publishes_exact_records_and_survives_failures(
    api, kafka_broker: KafkaBroker, topic_reader, shared_data: Path, tmp_path: Path
) -> None:
    server, base = api
    capture = (shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json").read_bytes()
    quota = {"Content-Type": "application/json", "x-requests-remaining": "497", "x-requests-used": "3"}
    server.respond(
        "/v4/sports/soccer_epl/odds",
        (429, {"Retry-After": "1"}, b'{"message": "slow down"}'),
        (200, quota, capture),
    )
    server.respond("/v4/sports/unknown_sport/odds", (404, {}, b'{"message": "Unknown sport"}'))
    espn = "/apis/site/v2/sports"
    server.respond(
        f"{espn}/americanfootball/nfl/scoreboard",
        (500, {}, b"oops"),
        (200, {}, (shared_data / "espn" / "nfl.json").read_bytes()),
    )
    server.respond(
        f"{espn}/soccer/usa.1/scoreboard",
        (200, {"Content-Type": "text/html"}, b"<html><body>Service Unavailable</body></html>"),
    )

    schedule = Schedule(
        (
            SourceSpec(
                "the_odds_api",
                50.0,
                5,
                (
                    Job(
                        "the_odds_api",
                        "epl",
                        3600,
                        None,
                        {"sports": ["soccer_epl"], "base_url": base, "api_key": API_KEY},
                    ),
                    Job(
                        "the_odds_api",
                        "bad",
                        3600,
                        None,
                        {"sports": ["unknown_sport"], "base_url": base, "api_key": API_KEY},
                    ),
                ),
            ),
            SourceSpec(
                "espn",
                50.0,
                5,
                (
                    Job(
                        "espn",
                        "nfl",
                        3600,
                        30,
                        {"leagues": ["americanfootball/nfl"], "base_url": f"{base}{espn}"},
                    ),
                    Job("espn", "mls", 3600, 30, {"leagues": ["soccer/usa.1"], "base_url": f"{base}{espn}"}),
                ),
            ),
        )
    )
    topics = ("odds.quotes", "games.events", "games.events.dlq", "pipeline.health")
    starts = {t: topic_reader.end_offsets(t) for t in topics}
    publisher = Publisher(
        KafkaSettings(bootstrap_servers=kafka_broker.bootstrap),
        changes=ChangeDetector(tmp_path / "state.sqlite"),
    )
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))
    scheduler = Scheduler(
        schedule,
        publisher,
        build_connector,
        client_options={"backoff_base_s": 0.05, "backoff_max_s": 0.2},
        reporter=lambda component: HealthReporter(settings, component),
    )
    outcomes = dict(scheduler.run(duration_s=60, once=True))
    publisher.close()

    # Odds: the real capture, after one honoured 429, exactly one record per quote.
    assert outcomes["the_odds_api/epl"].sent == 1281
    odds = [
        r
        for r in topic_reader.read("odds.quotes", starts["odds.quotes"])
        if r["headers"]["source"] == "the_odds_api"
    ]
    assert len(odds) == 1281
    assert (
        len(
            {
                (
                    r["value"]["source_game_id"],
                    r["value"]["bookmaker"],
                    r["value"]["market"],
                    r["value"]["selection"],
                )
                for r in odds
            }
        )
        == 1281
    )
    assert all(r["key"] == r["value"]["game_id"] for r in odds)
    odds_requests = [q for p, q in server.log if p == "/v4/sports/soccer_epl/odds"]
    assert len(odds_requests) == 2  # the 429, then the retry
    assert odds_requests[-1]["apiKey"] == [API_KEY] and odds_requests[-1]["markets"] == ["h2h,spreads,totals"]
    health = scheduler.health.get("the_odds_api")
    assert (health.retries_total, health.requests_remaining, health.requests_used) == (1, 497, 3)
    assert API_KEY not in json.dumps(scheduler.health.report(), default=str)

    # The unknown sport is a 404: no retry, counted, and the producer went on.
    assert outcomes["the_odds_api/bad"].failed_requests == 1
    assert sum(1 for p, _ in server.log if p == "/v4/sports/unknown_sport/odds") == 1

    # ESPN NFL: a 500, a retry, then the 16 real games.
    assert outcomes["espn/nfl"].sent == 16
    games = [
        r["value"]
        for r in topic_reader.read("games.events", starts["games.events"])
        if r["value"]["source"] == "espn"
    ]
    assert Counter(g["status"] for g in games) == {"live": 8, "scheduled": 6, "final": 2}
    assert scheduler.health.get("espn").retries_total == 1
    assert outcomes["espn/nfl"].live_games == 8

    # ESPN MLS answered an HTML page with status 200: one dead letter with the reason and the body.
    dead = [
        r["value"]
        for r in topic_reader.read("games.events.dlq", starts["games.events.dlq"])
        if r["value"]["source"] == "espn"
    ]
    assert len(dead) == 1
    assert "html" in dead[0]["reason"].lower()
    assert "Service Unavailable" in json.dumps(dead[0]["raw"])
    assert outcomes["espn/mls"].dead_lettered == 1 and outcomes["espn/mls"].sent == 0

    # Pipeline health: one sample per metric per poll, per source, for the Druid dashboard.
    health_rows = [r["value"] for r in topic_reader.read("pipeline.health", starts["pipeline.health"])]
    samples = {
        (h["component"], json.loads(h["labels"])["job"], h["metric"]): h["value"]
        for h in health_rows
        if h["component"].startswith("producer:")
    }
    assert samples[("producer:the_odds_api", "epl", "records_sent")] == 1281
    assert samples[("producer:the_odds_api", "epl", "source_up")] == 1.0
    assert samples[("producer:the_odds_api", "epl", "rate_limit_remaining")] == 497
    assert samples[("producer:the_odds_api", "bad", "source_up")] == 0.0
    assert samples[("producer:the_odds_api", "bad", "request_failures")] == 1
    assert samples[("producer:espn", "mls", "dead_letters")] == 1
    assert samples[("producer:espn", "nfl", "records_sent")] == 16


def test_the_shipped_schedule_builds_a_connector_for_every_job() -> None:
    from producers.scheduler import load_schedule

    schedule = load_schedule()
    names = {s.name for s in schedule.sources}
    assert names == {"the_odds_api", "espn", "openweather", "open_meteo", "newsapi", "gnews", "rss"}
    intervals = {(j.source, j.name): j.interval_s for s in schedule.sources for j in s.jobs}
    assert intervals[("the_odds_api", "soccer_epl")] == 60
    espn_soccer = next(
        j for s in schedule.sources for j in s.jobs if (j.source, j.name) == ("espn", "soccer")
    )
    assert espn_soccer.live_interval_s == 30
    for source in schedule.sources:
        for job in source.jobs:
            options = dict(job.options)
            if source.name in ("the_odds_api", "newsapi", "gnews", "openweather"):
                options["api_key"] = "k"
            connector = build_connector(source.name, options)
            assert connector.name == source.name
    with pytest.raises(ValueError, match="unknown source"):
        schedule.only({"bet365_scraper"})
