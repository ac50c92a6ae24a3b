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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from lakehouse.config import KafkaSettings
from lakehouse.dead_letters import MAX_RAW, truncation_note
from lakehouse.kafka import producer_config
from lakehouse.log import get_logger
from lakehouse.schemas import SchemaValidationError, validate
from producers.base import Reject
from producers.changes import ChangeDetector
from producers.topics import dead_letter_topic, feed_topic

log = get_logger(__name__)


def encode_record(record: dict[str, Any]) -> bytes:
    """A validated record as the Kafka value: compact JSON in UTF-8.

    orjson, not the standard library: encoding was the largest Python cost of a record (9.0 us of
    ~18 us with `json.JSONEncoder`, measured), and the producer is held to half of Kafka's own perf
    test.  Text is written as UTF-8, not as ``\\u`` escapes: the same JSON to every reader.
    """
    return orjson.dumps(record)


POLL_EVERY = 1_000
"""Serve delivery callbacks every this many records (and whenever the local queue is full)."""
MAX_DEAD_LETTER_RAW = MAX_RAW


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
        kafka: KafkaSettings,
        *,
        client_id: str = "lakehouse-producer",
        changes: ChangeDetector | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self._producer = Producer(producer_config(kafka, client_id=client_id, **(config or {})))
        self.changes = changes
        self.stats = PublishStats()
        self._lock = threading.Lock()
        self._unpolled = 0
        self._callbacks: dict[str, Any] = {}

    # -- sending -------------------------------------------------------------------------
    def publish(
        self, feed: str, records: Sequence[dict[str, Any]], rejects: Sequence[Reject] = ()
    ) -> PublishResult:
        """Publish a batch from one source; returns what was sent, skipped and dead-lettered."""
        sent = unchanged = dead = 0
        for reject in rejects:
            self.dead_letter(feed, reject)
            dead += 1
        topic = feed_topic(feed)
        detect = self.changes if feed == "odds" else None
        for raw in records:
            try:
                record = validate(feed, raw)
            except SchemaValidationError as exc:
                self.dead_letter(
                    feed, Reject(exc.reason, raw, str(raw.get("source", "")) if isinstance(raw, dict) else "")
                )
                dead += 1
                continue
            if detect is not None:
                changed = detect.changed(record)
                if changed is None:
                    unchanged += 1
                    continue
                record = changed
            refused = self._send(feed, topic, record, detect)
            if refused is not None:
                self.dead_letter(feed, Reject(f"Kafka refused the record: {refused}", raw, record["source"]))
                dead += 1
                continue
            sent += 1
        with self._lock:
            self.stats.sent[feed] += sent
            self.stats.unchanged[feed] += unchanged
        return PublishResult(sent, unchanged, dead)

    def _delivered(self, feed: str) -> Any:
        """The delivery callback of a feed (one per feed: a closure per record costs throughput)."""
        callback = self._callbacks.get(feed)
        if callback is None:
            stats, lock = self.stats, self._lock

            def callback(err: KafkaError | None, _msg: Message) -> None:
                with lock:
                    if err is None:
                        stats.delivered[feed] += 1
                    else:
                        stats.delivery_failures[feed] += 1
                if err is not None:
                    log.warning("delivery failed", feed=feed, error=str(err))

            self._callbacks[feed] = callback
        return callback

    def _send(
        self, feed: str, topic: str, record: dict[str, Any], changes: ChangeDetector | None
    ) -> str | None:
        """Queue one record; the error when Kafka refuses it outright (e.g. too large)."""
        headers = [
            ("source", record["source"].encode()),
            ("schema_version", str(record["schema_version"]).encode()),
            ("feed", feed.encode()),
            ("event_id", record["event_id"].encode()),
        ]
        on_delivery = self._delivered(feed)
        if changes is not None:
            counted = on_delivery

            def on_delivery(err: KafkaError | None, msg: Message) -> None:
                counted(err, msg)
                if err is None:  # state is committed only once Kafka has the record
                    changes.commit(record)

        return self._produce(topic, message_key(feed, record), encode_record(record), headers, on_delivery)

    def dead_letter(self, feed: str, reject: Reject) -> None:
        """Send the raw payload and the reason to the feed's dead-letter topic."""
        raw = reject.raw
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        reason = reject.reason
        if not isinstance(raw, str) and len(text := json.dumps(raw, default=str)) > MAX_DEAD_LETTER_RAW:
            raw = text
        if isinstance(raw, str) and len(raw) > MAX_DEAD_LETTER_RAW:
            reason = reason + truncation_note(len(raw))
            raw = raw[:MAX_DEAD_LETTER_RAW]
        body = {
            "feed": feed,
            "source": reject.source,
            "reason": reason,
            "failed_at": datetime.now(UTC).isoformat(),
            "raw": raw,
        }
        if reject.context:
            body["context"] = dict(reject.context)
        value = json.dumps(body, default=str).encode()
        headers = [("source", reject.source.encode()), ("reason", reject.reason[:200].encode())]

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                with self._lock:
                    self.stats.delivery_failures[f"{feed}.dlq"] += 1
                log.error("dead-letter delivery failed", feed=feed, error=str(err))

        refused = self._produce(dead_letter_topic(feed), reject.source or feed, value, headers, on_delivery)
        if refused is not None:
            with self._lock:
                self.stats.delivery_failures[f"{feed}.dlq"] += 1
            log.error("dead letter refused by Kafka", feed=feed, error=refused)
        with self._lock:
            self.stats.dead_lettered[feed] += 1
            self.stats.reasons[reject.reason.split(":")[0][:80]] += 1
        log.info("dead-lettered", feed=feed, source=reject.source, reason=reject.reason[:200])

    def _produce(
        self, topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]], on_delivery: Any
    ) -> str | None:
        """Queue a record; returns Kafka's error when it refuses the record outright."""
        while True:
            try:
                self._producer.produce(
                    topic, key=key.encode(), value=value, headers=headers, on_delivery=on_delivery
                )
                break
            except BufferError:
                self._producer.poll(0.1)  # local queue full: let deliveries drain, then retry
            except KafkaException as exc:  # e.g. MSG_SIZE_TOO_LARGE: no retry will change it
                return str(exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else exc)
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._unpolled = 0
            self._producer.poll(0)
        return None

    # -- lifecycle -----------------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        return self._producer.flush(timeout)

    def close(self, timeout: float = 30.0) -> int:
        """Flush and close; returns how many records never reached Kafka (failed or still queued)."""
        remaining = self.flush(timeout)
        if remaining:
            log.error("records left undelivered at shutdown", remaining=remaining)
        if self.changes is not None:
            self.changes.close()
        with self._lock:
            return remaining + sum(self.stats.delivery_failures.values())
