"""Weather and news connectors fetched over HTTP from a local server, published, read back.

Bodies follow the providers' documented schemas (there is no capture of these in
../shared/data); failures: a 401, an error body with status 200, an HTML page, drift.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.stack.kafka import KafkaBroker
from lakehouse.config import KafkaSettings
from producers.base import PollContext
from producers.connectors import build_connector
from producers.http import CircuitBreaker, SourceClient, SourceHealth, TokenBucket
from producers.publisher import Publisher
from producers.runner import poll_once

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
ETIHAD = {
    "game_id": "2024-03-31:manchester-city:arsenal",
    "sport": "soccer_epl",
    "status": "scheduled",
    "commence_time": "2024-03-31T15:30:00.000000Z",
    "home_team": "Manchester City",
    "away_team": "Arsenal",
    "venue_name": "Etihad Stadium",
    "venue_city": "Manchester",
    "venue_lat": 53.4831,
    "venue_lon": -2.2004,
}
JSON = {"Content-Type": "application/json"}


def _client(source: str) -> SourceClient:
    return SourceClient(
        source,
        rate=TokenBucket(100, 10),
        breaker=CircuitBreaker(),
        health=SourceHealth(),
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )


def _poll(name: str, options: dict, publisher: Publisher):
    connector = build_connector(name, options)
    with _client(name) as client:
        return poll_once(connector, client, publisher, PollContext(now=NOW, upcoming_games=(ETIHAD,)))


def test_weather_feeds(api, kafka_broker: KafkaBroker, topic_reader) -> None:
    server, base = api
    server.respond(
        "/data/2.5/weather",
        (503, {}, b"busy"),
        (200, JSON, (FIXTURES / "openweather_current.json").read_bytes()),
    )
    server.respond("/v1/forecast", (200, JSON, (FIXTURES / "open_meteo_forecast.json").read_bytes()))
    start, dlq = (
        topic_reader.end_offsets("weather.observations"),
        topic_reader.end_offsets("weather.observations.dlq"),
    )
    publisher = Publisher(KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))

    current = _poll(
        "openweather", {"api_key": "ow-secret", "base_url": f"{base}/data/2.5/weather"}, publisher
    )
    forecast = _poll("open_meteo", {"base_url": f"{base}/v1/forecast"}, publisher)
    assert (current.sent, current.failed_requests, forecast.sent) == (1, 0, 1)

    # Schema drift: OpenWeather renames `main` -> `measurements`.
    drifted = json.loads((FIXTURES / "openweather_current.json").read_text())
    drifted["measurements"] = drifted.pop("main")
    server.respond("/data/2.5/weather", (200, JSON, json.dumps(drifted).encode()))
    assert (
        _poll(
            "openweather", {"api_key": "ow-secret", "base_url": f"{base}/data/2.5/weather"}, publisher
        ).dead_lettered
        == 1
    )
    publisher.close()

    records = {r["value"]["source"]: r["value"] for r in topic_reader.read("weather.observations", start)}
    assert (
        records["openweather"]["game_id"] == ETIHAD["game_id"] and records["openweather"]["kind"] == "current"
    )
    assert records["open_meteo"]["kind"] == "forecast"
    # A 15:30 kick-off ties 15:00 and 16:00; the later hour, inside the game, wins.
    assert records["open_meteo"]["valid_at"] == "2024-03-31T16:00:00.000000Z"
    dead = [r["value"] for r in topic_reader.read("weather.observations.dlq", dlq)]
    assert len(dead) == 1 and "main" in dead[0]["reason"]
    sent_query = next(q for p, q in server.log if p == "/data/2.5/weather")
    assert sent_query["appid"] == ["ow-secret"] and "ow-secret" not in json.dumps(dead)


def test_news_feeds(api, kafka_broker: KafkaBroker, topic_reader) -> None:
    server, base = api
    server.respond("/v2/everything", (200, JSON, (FIXTURES / "newsapi_everything.json").read_bytes()))
    server.respond("/api/v4/search", (200, JSON, (FIXTURES / "gnews_search.json").read_bytes()))
    server.respond(
        "/rss.xml", (200, {"Content-Type": "application/rss+xml"}, (FIXTURES / "rss_feed.xml").read_bytes())
    )
    server.respond(
        "/atom.xml",
        (200, {"Content-Type": "application/atom+xml"}, (FIXTURES / "atom_feed.xml").read_bytes()),
    )
    server.respond(
        "/broken.xml", (200, {"Content-Type": "text/html"}, (FIXTURES / "not_a_feed.html").read_bytes())
    )
    start, dlq = topic_reader.end_offsets("news.articles"), topic_reader.end_offsets("news.articles.dlq")
    publisher = Publisher(KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))

    newsapi = _poll(
        "newsapi",
        {"api_key": "na", "queries": ["Premier League"], "base_url": f"{base}/v2/everything"},
        publisher,
    )
    gnews = _poll(
        "gnews",
        {"api_key": "gn", "queries": ["Premier League"], "base_url": f"{base}/api/v4/search"},
        publisher,
    )
    rss = _poll("rss", {"urls": [f"{base}/rss.xml", f"{base}/atom.xml", f"{base}/broken.xml"]}, publisher)
    # NewsAPI answering an error object with status 200 (bad key): one dead letter, nothing else.
    server.respond("/v2/everything", (200, JSON, (FIXTURES / "newsapi_error.json").read_bytes()))
    bad_key = _poll(
        "newsapi",
        {"api_key": "na", "queries": ["Premier League"], "base_url": f"{base}/v2/everything"},
        publisher,
    )
    publisher.close()

    assert (newsapi.sent, newsapi.dead_lettered) == (3, 2)  # five: a "[Removed]" placeholder, one undated
    assert (gnews.sent, rss.sent, rss.dead_lettered) == (2, 4, 2)  # an undated item; the HTML page
    assert (bad_key.sent, bad_key.dead_lettered) == (0, 1)
    articles = [r["value"] for r in topic_reader.read("news.articles", start)]
    assert len(articles) == 3 + 2 + 4
    city = next(a for a in articles if a["title"].startswith("Manchester City beat Arsenal"))
    assert set(city["team_ids"]) == {"manchester-city", "arsenal"}
    reasons = [r["value"]["reason"] for r in topic_reader.read("news.articles.dlq", dlq)]
    assert len(reasons) == 5
    assert any("no readable publication time" in r for r in reasons)
    assert any("was removed at the source" in r for r in reasons)
    assert any("apiKeyInvalid" in r for r in reasons)
    assert any("html" in r.lower() or "not a feed" in r.lower() for r in reasons)
