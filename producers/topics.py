"""Which Kafka topic each feed goes to (the shared names live in lakehouse.topics)."""

from lakehouse.topics import FEED_TOPICS, dead_letter_topic, feed_topic

__all__ = ["FEED_TOPICS", "dead_letter_topic", "feed_topic"]
