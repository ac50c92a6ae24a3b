"""WebSocket push: the ``agg.*`` topics consumed once per process and fanned out to subscribers.

A subscriber names channels: ``game:<game_id>``, ``sport:<sport>``, ``arbitrage`` (every
arbitrage window) and ``health``.  Between two sends a subscriber holds at most the latest record
of each key (a newer version replaces the unsent older one: coalesced, never a growing queue);
one that falls further behind than ``max_pending`` keys is dropped, and on reconnecting gets the
current state again as a snapshot, then the updates from there.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from lakehouse.config import KafkaSettings
from lakehouse.kafka import consumer_config
from lakehouse.log import get_logger
from lakehouse.schemas import AGGREGATE_TYPES

log = get_logger(__name__)

BY_TOPIC = {agg.topic: agg for agg in AGGREGATE_TYPES.values()}


def channels_of(aggregate: str, record: dict[str, Any]) -> set[str]:
    out = set()
    if record.get("game_id"):
        out.add(f"game:{record['game_id']}")
    if record.get("sport"):
        out.add(f"sport:{record['sport']}")
    if aggregate == "arbitrage_opportunities":
        out.add("arbitrage")
    if aggregate == "pipeline_health":
        out.add("health")
    return out


def valid_channel(channel: str) -> bool:
    kind, _, rest = channel.partition(":")
    return channel in ("arbitrage", "health") or (kind in ("game", "sport") and 0 < len(rest) <= 200)


@dataclass(eq=False)
class Subscriber:
    channels: frozenset[str]
    loop: asyncio.AbstractEventLoop
    max_pending: int
    event: asyncio.Event = field(default_factory=asyncio.Event)
    pending: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    dropped: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def offer(self, aggregate: str, key: str, record: dict[str, Any]) -> None:
        with self.lock:
            if self.dropped:
                return
            self.pending[(aggregate, key)] = {"aggregate": aggregate, "record": record}
            if len(self.pending) > self.max_pending:
                self.dropped, self.pending = True, {}
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # its event loop is closed (the server stopping): nothing to wake
            self.dropped = True

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            out, self.pending = list(self.pending.values()), {}
        return out


class Fanout:
    """One Kafka consumer (from the latest offsets) feeding every subscriber of this process."""

    def __init__(self, kafka: KafkaSettings, max_pending: int = 5_000) -> None:
        self.kafka = kafka
        self.max_pending = max_pending
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Set once the consumer holds every partition at a known offset: a record sent after that
        # reaches the subscribers.
        self.assigned = threading.Event()
        self._thread: threading.Thread | None = None
        self.records = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fanout", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def subscribe(self, channels: Iterable[str], loop: asyncio.AbstractEventLoop) -> Subscriber:
        sub = Subscriber(frozenset(channels), loop, self.max_pending)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def dispatch(self, topic: str, value: bytes) -> int:
        """Offer one Kafka record to the subscribers of its channels; how many got it."""
        agg = BY_TOPIC.get(topic)
        if agg is None:
            return 0
        record = json.loads(value)
        channels = channels_of(agg.name, record)
        key = "|".join(str(record.get(k)) for k in agg.key)
        with self._lock:
            targets = [s for s in self._subscribers if s.channels & channels]
        for sub in targets:
            sub.offer(agg.name, key, record)
        self.records += 1
        return len(targets)

    def _run(self) -> None:
        consumer = Consumer(
            consumer_config(
                self.kafka, group_id=f"api-fanout-{uuid.uuid4().hex[:8]}", **{"fetch.wait.max.ms": 100}
            )
        )
        try:
            # Every partition from its current end, assigned directly (no group: each process of the
            # API fans out everything it reads), so a record sent once `assigned` is set is read.
            metadata = consumer.list_topics(timeout=30)
            start = []
            for topic in BY_TOPIC:
                for p in metadata.topics[topic].partitions if topic in metadata.topics else ():
                    _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                    start.append(TopicPartition(topic, p, high))
            consumer.assign(start)
            self.assigned.set()
            while not self._stop.is_set():
                for message in consumer.consume(500, 0.2):
                    if message.error() is not None:
                        log.warning("fanout consume error", error=str(message.error()))
                        continue
                    try:
                        self.dispatch(message.topic(), message.value())
                    except ValueError as exc:  # not JSON: the aggregates write only JSON
                        log.warning("fanout skipped a record", topic=message.topic(), error=str(exc))
        except KafkaException as exc:
            log.error("fanout stopped: Kafka unreachable", error=str(exc))
        finally:
            consumer.close()
