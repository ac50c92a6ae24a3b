"""Kafka topic names every layer agrees on (declared, with their configs, in infra/topics.yaml)."""

from __future__ import annotations

FEED_TOPICS: dict[str, str] = {
    "odds": "odds.quotes",
    "games": "games.events",
    "weather": "weather.observations",
    "news": "news.articles",
}
AGGREGATE_TOPICS: dict[str, str] = {
    "market_prices_live": "agg.market_prices_live",
    "market_agg_1m": "agg.market_1m",
    "arbitrage_opportunities": "agg.arbitrage",
    "steam_moves": "agg.steam_moves",
    "pipeline_health": "pipeline.health",
}


def feed_topic(feed: str) -> str:
    try:
        return FEED_TOPICS[feed]
    except KeyError:
        raise ValueError(f"unknown feed {feed!r}; expected one of {sorted(FEED_TOPICS)}") from None


def dead_letter_topic(feed: str) -> str:
    return f"{feed_topic(feed)}.dlq"


def feed_of_topic(topic: str) -> str:
    for feed, name in FEED_TOPICS.items():
        if name == topic:
            return feed
    raise ValueError(f"topic {topic!r} is not a feed topic")
