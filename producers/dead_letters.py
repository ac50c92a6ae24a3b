"""Dead letters read back: grouped by reason, and released once what refused them is fixed.

A record is dead-lettered with its raw source payload and the reason (`Publisher.dead_letter`),
or by the silver stream with the Kafka value it refused (the shape is `lakehouse.dead_letters`).
Most reasons are fixed outside the record: a team alias, a league mapping. `release` reads
every pending dead letter of a feed again through the same parser, with today's registry, and
publishes the records that now go through; the rest stay pending with today's reason. The
dead-letter topics are never rewritten: which letters were released is kept in a small SQLite
file beside the producers' other state, so a release run twice publishes nothing new.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from lakehouse.config import Settings
from lakehouse.kafka import consumer_config
from lakehouse.log import get_logger
from lakehouse.schemas import SchemaValidationError, validate
from lakehouse.teams import TeamRegistry
from lakehouse.topics import FEED_TOPICS, dead_letter_topic
from producers.base import HttpRequest, HttpResponse, ParseResult, Reject
from producers.connectors.espn import EspnScoreboard
from producers.connectors.odds_api import TheOddsApi
from producers.publisher import Publisher

log = get_logger(__name__)

_UNKNOWN_NAME = re.compile(r"unknown team '([^']+)' from (\w+)")


@dataclass(frozen=True)
class DeadLetter:
    """One record of a `<feed topic>.dlq` topic, with where it sits."""

    topic: str
    partition: int
    offset: int
    feed: str
    source: str
    reason: str
    failed_at: str
    raw: Any
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def position(self) -> tuple[str, int, int]:
        return self.topic, self.partition, self.offset

    @property
    def origin(self) -> tuple[Any, ...] | None:
        """Where the stream read the refused record (None for a producer's letter): a batch the
        stream replays after a crash may write its letter twice, which is still one letter."""
        if "kafka_offset" not in self.context:
            return None
        return tuple(self.context.get(k) for k in ("stage", "kafka_topic", "kafka_partition", "kafka_offset"))


def unknown_names(reason: str) -> list[tuple[str, str]]:
    """(name, source) of every team a reason says did not resolve."""
    return _UNKNOWN_NAME.findall(reason)


def read(settings: Settings, feeds: Iterable[str], timeout_s: float = 30.0) -> list[DeadLetter]:
    """Every record of the feeds' dead-letter topics, from the start to the current end."""
    consumer = Consumer(consumer_config(settings.kafka, group_id="lakehouse-dlq-reader"))
    letters: list[DeadLetter] = []
    try:
        for feed in feeds:
            topic = dead_letter_topic(feed)
            metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
            if metadata is None or metadata.error is not None:
                continue  # no dead letters of this feed yet
            for partition in sorted(metadata.partitions):
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=timeout_s
                )
                if high <= low:
                    continue
                consumer.assign([TopicPartition(topic, partition, low)])
                while True:
                    message = consumer.poll(timeout_s)
                    if message is None:
                        raise TimeoutError(f"{topic}[{partition}]: no record within {timeout_s:.0f} s")
                    if message.error() is None:
                        letters.append(
                            _letter(feed, message.topic(), partition, message.offset(), message.value())
                        )
                    if message.offset() >= high - 1:
                        break
    finally:
        consumer.close()
    return letters


def _letter(feed: str, topic: str, partition: int, offset: int, value: bytes | None) -> DeadLetter:
    try:
        body = json.loads(value or b"{}")
    except ValueError:
        body = {"reason": "dead letter is not JSON", "raw": (value or b"").decode("utf-8", "replace")}
    context = dict(body.get("context") or {})
    raw = body.get("raw")
    if context.get("stage") and isinstance(raw, str):  # the stream keeps the Kafka value as text
        with contextlib.suppress(ValueError, RecursionError):  # not JSON, or nested past reading
            raw = json.loads(raw)
    return DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        feed=str(body.get("feed") or feed),
        source=str(body.get("source") or ""),
        reason=str(body.get("reason") or ""),
        failed_at=str(body.get("failed_at") or ""),
        raw=raw,
        context=context,
    )


class ReleasedStore:
    """Positions of the dead letters already released (SQLite under the state dir)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS released (topic TEXT, partition INTEGER, offset INTEGER, "
            "released_at TEXT, records INTEGER, PRIMARY KEY (topic, partition, offset))"
        )

    @classmethod
    def of(cls, settings: Settings) -> ReleasedStore:
        return cls(settings.state_dir / "producers" / "dead_letters_released.sqlite")

    def positions(self) -> set[tuple[str, int, int]]:
        return {(t, p, o) for t, p, o in self._db.execute("SELECT topic, partition, offset FROM released")}

    def mark(self, letter: DeadLetter, records: int) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO released VALUES (?, ?, ?, ?, ?)",
                (*letter.position, datetime.now(UTC).isoformat(), records),
            )

    def close(self) -> None:
        self._db.close()


def pending(settings: Settings, feeds: Iterable[str]) -> tuple[list[DeadLetter], int]:
    """The dead letters not released yet, and how many were (a stream's letter written twice
    counts once)."""
    letters, seen = [], set()
    for letter in read(settings, feeds):
        if letter.origin is None or letter.origin not in seen:
            letters.append(letter)
            seen.add(letter.origin)
    store = ReleasedStore.of(settings)
    try:
        released = store.positions()
    finally:
        store.close()
    waiting = [letter for letter in letters if letter.position not in released]
    return waiting, len(letters) - len(waiting)


def retry(letter: DeadLetter, registry: TeamRegistry | None = None) -> ParseResult:
    """The dead letter's payload read again as its source would read it now."""
    raw = letter.raw
    if isinstance(raw, dict) and "schema_version" in raw and "event_id" in raw:
        return ParseResult(events=[raw])  # a canonical record the schema refused; validated below
    fetched_at = _parse_time(letter.failed_at)
    if letter.source == "espn" and isinstance(raw, dict) and letter.context.get("league"):
        connector = EspnScoreboard(leagues=[str(letter.context["league"])], registry=registry)
        sport, league = str(letter.context["league"]).split("/", 1)
        request = HttpRequest(url=connector.base_url, context={"sport": sport, "league": league})
        body = json.dumps({"events": [raw]}).encode()
        return connector.parse(
            request, HttpResponse(200, {"content-type": "application/json"}, body, fetched_at)
        )
    if letter.source == "the_odds_api" and isinstance(raw, dict):
        return TheOddsApi(registry=registry).parse_events([raw], fetched_at)
    return ParseResult(rejects=[Reject(f"cannot retry: {letter.reason}", raw, letter.source)])


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Release:
    """What a release run did."""

    pending: int = 0
    released: int = 0
    records: int = 0
    still_failing: Counter[str] = field(default_factory=Counter)


def release(
    settings: Settings,
    publisher: Publisher,
    feeds: Sequence[str] = tuple(FEED_TOPICS),
    *,
    registry: TeamRegistry | None = None,
    dry_run: bool = False,
) -> Release:
    """Publish the records of every pending dead letter that now parses and validates.

    A letter is marked released only after Kafka has its records (the publisher is flushed);
    one that still fails stays pending and is not dead-lettered again.
    """
    letters, _ = pending(settings, feeds)
    outcome = Release(pending=len(letters))
    ready: list[tuple[DeadLetter, list[dict[str, Any]]]] = []
    for letter in letters:
        parsed = retry(letter, registry)
        problems = [r.reason for r in parsed.rejects]
        records = []
        for event in parsed.events:
            try:
                records.append(validate(letter.feed, event))
            except SchemaValidationError as exc:
                problems.append(exc.reason)
        if problems or not records:
            outcome.still_failing[(problems or ["nothing to publish"])[0][:200]] += 1
        else:
            ready.append((letter, records))
    if dry_run:
        outcome.released = len(ready)
        outcome.records = sum(len(records) for _, records in ready)
        return outcome
    for letter, records in ready:
        publisher.publish(letter.feed, records)
    undelivered = publisher.close()
    if undelivered:
        raise RuntimeError(f"{undelivered} released records were not delivered; nothing marked released")
    store = ReleasedStore.of(settings)
    try:
        for letter, records in ready:
            store.mark(letter, len(records))
    finally:
        store.close()
    outcome.released = len(ready)
    outcome.records = sum(len(records) for _, records in ready)
    log.info("dead letters released", released=outcome.released, records=outcome.records,
             still_failing=sum(outcome.still_failing.values()))  # fmt: skip
    return outcome
