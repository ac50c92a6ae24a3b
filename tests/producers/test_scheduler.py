"""The scheduler polling a local server that serves the real captured responses, with failures."""

from __future__ import annotations

import json
import threading
import time
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
        f"{espn}/football/nfl/scoreboard",
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


def test_a_huge_error_page_and_a_crashing_poll_do_not_end_a_source(
    api, kafka_broker: KafkaBroker, topic_reader, shared_data: Path, tmp_path: Path
) -> None:
    """A 2 MB HTML answer was once dead-lettered whole, refused by Kafka (MSG_SIZE_TOO_LARGE) and
    the exception ended the source's thread while /health said ok."""
    server, base = api
    espn = "/apis/site/v2/sports"
    page = b"<html><body>" + b"Service Unavailable " * 110_000 + b"</body></html>"  # 2.2 MB
    server.respond(f"{espn}/soccer/eng.2/scoreboard", (200, {"Content-Type": "text/html"}, page))
    calls = {"n": 0}
    real = build_connector("espn", {"leagues": ["soccer/eng.2"], "base_url": f"{base}{espn}"})

    class Flaky:
        """The ESPN connector, whose first two polls crash before any request (a bug)."""

        name, feed = real.name, real.feed

        def requests(self, ctx):
            calls["n"] += 1
            if calls["n"] <= 2:
                raise RuntimeError("connector bug")
            return real.requests(ctx)

        def parse(self, request, response):
            return real.parse(request, response)

    schedule = Schedule((SourceSpec("espn", 50.0, 5, (Job("espn", "efl", 0.05, None, {}),)),))
    start = topic_reader.end_offsets("games.events.dlq")
    publisher = Publisher(KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))
    scheduler = Scheduler(schedule, publisher, lambda name, options: Flaky())
    runner = threading.Thread(target=scheduler.run, kwargs={"duration_s": 30})
    runner.start()
    try:
        # After the first crash the source is reported degraded, and the thread lives on.
        deadline = time.monotonic() + 10
        while scheduler.health.get("espn").poll_crashes == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        report = scheduler.health.report()
        assert report["status"] == "degraded"
        assert report["sources"]["espn"]["last_error"] == "poll crashed: RuntimeError: connector bug"
        deadline = time.monotonic() + 20
        while not scheduler.outcomes and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.stop()
        runner.join(60)
    publisher.close()
    status = scheduler.health.get("espn")
    assert status.poll_crashes == 2 and not status.poll_failing
    assert calls["n"] >= 3 and scheduler.outcomes
    dead = [
        r["value"] for r in topic_reader.read("games.events.dlq", start) if r["value"]["source"] == "espn"
    ]
    assert dead and all(len(json.dumps(d)) < 1_000_000 for d in dead)
    assert "HTML page" in dead[0]["reason"] and dead[0]["raw"].startswith("<html><body>Service Unavailable")


def test_a_record_kafka_refuses_is_dead_lettered_not_raised(kafka_broker: KafkaBroker, topic_reader) -> None:
    """A record over Kafka's size limit raised out of the publisher (only BufferError was caught)."""
    from tests.producers.test_publisher import quote

    publisher = Publisher(KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))
    start = topic_reader.end_offsets("odds.quotes.dlq")
    big = quote(uuid.uuid4().hex[:8], "home", 2.0, selection_name="x" * 2_000_000)
    result = publisher.publish("odds", [big])
    assert publisher.flush(30) == 0
    assert (result.sent, result.dead_lettered) == (0, 1)
    (dead,) = [r["value"] for r in topic_reader.read("odds.quotes.dlq", start)]
    assert dead["reason"].startswith("Kafka refused the record: ")
    assert "truncated from" in dead["reason"] and len(dead["raw"]) == 100_000
