"""Which Kafka topic each feed goes to (names declared in infra/topics.yaml)."""

from __future__ import annotations

FEED_TOPICS: dict[str, str] = {
    "odds": "odds.quotes",
    "games": "games.events",
    "weather": "weather.observations",
    "news": "news.articles",
}


def feed_topic(feed: str) -> str:
    try:
        return FEED_TOPICS[feed]
    except KeyError:
        raise ValueError(f"unknown feed {feed!r}; expected one of {sorted(FEED_TOPICS)}") from None


def dead_letter_topic(feed: str) -> str:
    return f"{feed_topic(feed)}.dlq"
