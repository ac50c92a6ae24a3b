"""Validated, de-duplicated, keyed publishing of canonical events to Kafka.

One long-lived idempotent producer per process (`acks=all`, compression, small linger).
Each record is validated against the shared schema; a failure goes to the feed's
dead-letter topic with the reason and the raw payload, and publishing goes on.  Records
are keyed by game so one game's updates stay ordered in one partition, and carry their
source and schema version as headers.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from lakehouse.log import get_logger
from lakehouse.schemas import SchemaValidationError, validate
from producers.base import Reject
from producers.changes import ChangeDetector
from producers.topics import dead_letter_topic, feed_topic

log = get_logger(__name__)

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "zstd",
    "linger.ms": 20,
    "batch.size": 512 * 1024,
    "queue.buffering.max.messages": 500_000,
    "log_level": 3,
}


@dataclass
class PublishStats:
    """Counters for one publisher (delivery callbacks count; nothing prints per message)."""

    sent: Counter[str] = field(default_factory=Counter)  # per feed, handed to Kafka
    delivered: Counter[str] = field(default_factory=Counter)
    delivery_failures: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)  # skipped by change detection
    dead_lettered: Counter[str] = field(default_factory=Counter)  # per feed
    reasons: Counter[str] = field(default_factory=Counter)  # dead-letter reasons (first clause)

    def as_dict(self) -> dict[str, Any]:
        return {k: dict(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class PublishResult:
    sent: int
    unchanged: int
    dead_lettered: int


def message_key(feed: str, record: dict[str, Any]) -> str:
    """Key by game so a game's records stay in order; fall back to the record's own id."""
    return record.get("game_id") or record.get("location_name") or record["event_id"]


class Publisher:
    """Validate -> change-detect (odds) -> produce, or dead-letter with the reason."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "lakehouse-producer",
        changes: ChangeDetector | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "client.id": client_id, **PRODUCER_DEFAULTS, **(config or {})}
        )
        self.changes = changes
        self.stats = PublishStats()
        self._lock = threading.Lock()

    # -- sending -------------------------------------------------------------------------
    def publish(self, feed: str, records: list[dict[str, Any]], rejects: list[Reject] = ()) -> PublishResult:
        """Publish a batch from one source; returns what was sent, skipped and dead-lettered."""
        sent = unchanged = dead = 0
        for reject in rejects:
            self.dead_letter(feed, reject)
            dead += 1
        for raw in records:
            try:
                record = validate(feed, raw)
            except SchemaValidationError as exc:
                self.dead_letter(
                    feed, Reject(exc.reason, raw, str(raw.get("source", "")) if isinstance(raw, dict) else "")
                )
                dead += 1
                continue
            if feed == "odds" and self.changes is not None:
                changed = self.changes.changed(record)
                if changed is None:
                    unchanged += 1
                    with self._lock:
                        self.stats.unchanged[feed] += 1
                    continue
                record = changed
            self._send(feed, record)
            sent += 1
        return PublishResult(sent, unchanged, dead)

    def _send(self, feed: str, record: dict[str, Any]) -> None:
        headers = [
            ("source", record["source"].encode()),
            ("schema_version", str(record["schema_version"]).encode()),
            ("feed", feed.encode()),
            ("event_id", record["event_id"].encode()),
        ]

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            with self._lock:
                if err is not None:
                    self.stats.delivery_failures[feed] += 1
                else:
                    self.stats.delivered[feed] += 1
            if err is None and feed == "odds" and self.changes is not None:
                self.changes.commit(record)
            elif err is not None:
                log.warning("delivery failed", feed=feed, event_id=record["event_id"], error=str(err))

        self._produce(
            feed_topic(feed), message_key(feed, record), json.dumps(record).encode(), headers, on_delivery
        )
        with self._lock:
            self.stats.sent[feed] += 1

    def dead_letter(self, feed: str, reject: Reject) -> None:
        """Send the raw payload and the reason to the feed's dead-letter topic."""
        raw = reject.raw
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        body = {
            "feed": feed,
            "source": reject.source,
            "reason": reject.reason,
            "failed_at": datetime.now(UTC).isoformat(),
            "raw": raw,
        }
        value = json.dumps(body, default=str).encode()
        headers = [("source", reject.source.encode()), ("reason", reject.reason[:200].encode())]

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                with self._lock:
                    self.stats.delivery_failures[f"{feed}.dlq"] += 1
                log.error("dead-letter delivery failed", feed=feed, error=str(err))

        self._produce(dead_letter_topic(feed), reject.source or feed, value, headers, on_delivery)
        with self._lock:
            self.stats.dead_lettered[feed] += 1
            self.stats.reasons[reject.reason.split(":")[0][:80]] += 1
        log.info("dead-lettered", feed=feed, source=reject.source, reason=reject.reason[:200])

    def _produce(self, topic: str, key: str, value: bytes, headers: list, on_delivery) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, key=key.encode(), value=value, headers=headers, on_delivery=on_delivery
                )
                break
            except BufferError:
                self._producer.poll(0.1)  # local queue full: let deliveries drain, then retry
        self._producer.poll(0)

    # -- lifecycle -----------------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        return self._producer.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        remaining = self.flush(timeout)
        if remaining:
            log.error("records left undelivered at shutdown", remaining=remaining)
        if self.changes is not None:
            self.changes.close()
