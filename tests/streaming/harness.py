"""A streaming run of its own inside the session's Spark: its own topics, lake catalog and checkpoints.

Each ``isolated_run`` empties the runs' KRaft broker (every topic deleted and made again, so the
aggregate topics hold exactly this run's output; a broker start per run cost about 6 s), registers
a fresh Iceberg catalog in the running Spark session under a unique name (its gold tables are its
own), and gives settings whose state and checkpoints live in a temporary folder.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from infra.stack.kafka import KafkaBroker
from infra.stack.process import free_port
from infra.stack.topics import apply_topics
from lakehouse.catalog import load_catalog, spark_catalog_conf
from lakehouse.config import CatalogSettings, KafkaSettings, Settings, StreamingSettings
from lakehouse.kafka import consumer_config, producer_config
from lakehouse.market import GameMeta, Tick, to_micros
from lakehouse.schemas import AGGREGATE_TYPES
from streaming.gold import AGGREGATES, GOLD

Rows = dict[tuple[str, str], dict[str, Any]]


@dataclass
class IsolatedRun:
    settings: Settings
    broker: KafkaBroker

    def produce(self, records: Iterable[dict[str, Any]], topic: str = "odds.quotes") -> int:
        """Send records in this order (one game's records keep it: they share a key and a partition)."""
        producer = Producer(producer_config(self.settings.kafka, client_id="test"))
        n = 0
        for record in records:
            producer.produce(topic, key=record["game_id"].encode(), value=json.dumps(record).encode())
            n += 1
        assert producer.flush(30) == 0
        return n

    def topic_rows(self) -> Rows:
        """Latest record per key on the aggregate topics, retracted keys dropped (a consumer's view)."""
        held: Rows = {}
        for agg in AGGREGATES:
            for record in read_topic(self.settings.kafka, agg.topic):
                held[(agg.name, "|".join(str(record.get(k)) for k in agg.key))] = record
        return {k: _plain(r) for k, r in held.items() if not r.get("retracted")}

    def gold_rows(self) -> Rows:
        catalog = load_catalog(self.settings)
        rows: Rows = {}
        for agg in AGGREGATES:
            for record in catalog.load_table(GOLD[agg.name]).scan().to_arrow().to_pylist():
                rows[(agg.name, "|".join(_text(record.get(k)) for k in agg.key))] = _plain(record)
        return rows


def read_topic(kafka: KafkaSettings, topic: str) -> list[dict[str, Any]]:
    consumer = Consumer(consumer_config(kafka, group_id=f"t-{uuid.uuid4().hex}"))
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        out: list[dict[str, Any]] = []
        while sum(ends.values()) > len(out):
            for message in consumer.consume(1000, 2.0):
                assert message.error() is None, message.error()
                out.append(json.loads(message.value()))
        return out
    finally:
        consumer.close()


def fresh_topics(bootstrap: str, timeout: float = 30.0) -> None:
    """Delete every topic but Kafka's own, then create the project's topics again, empty."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [t for t in admin.list_topics(timeout=timeout).topics if not t.startswith("__")]
    if names:
        for future in admin.delete_topics(names, operation_timeout=timeout).values():
            future.result()
        deadline = time.monotonic() + timeout
        while set(names) & set(admin.list_topics(timeout=timeout).topics):
            assert time.monotonic() < deadline, f"topics still listed {timeout} s after deletion"
            time.sleep(0.1)
    apply_topics(bootstrap)


def start_runs_broker(home: Path) -> KafkaBroker:
    broker = KafkaBroker(home=home, port=free_port(), controller_port=free_port())
    broker.start()
    return broker


@contextmanager
def isolated_run(spark: Any, broker: KafkaBroker, tmp_path: Path, **streaming: Any) -> Iterator[IsolatedRun]:
    """A run on ``broker`` (emptied first), with its own catalog and state under ``tmp_path``."""
    fresh_topics(broker.bootstrap)
    name = f"run_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        state_dir=tmp_path / "state",
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap),
        catalog=CatalogSettings(kind="local", name=name),
        streaming=StreamingSettings(**streaming),
    )
    for key, value in spark_catalog_conf(settings).items():
        spark.conf.set(key, value)
    yield IsolatedRun(settings, broker)


def ticks_by_game(records: Iterable[dict[str, Any]]) -> dict[str, tuple[GameMeta, list[Tick]]]:
    """The engine's view of canonical odds records, per game, with the game as its newest quote has it."""
    out: dict[str, tuple[GameMeta, list[Tick]]] = {}
    newest: dict[str, tuple[int, str]] = {}
    for r in records:
        t = to_micros(r["event_time"])
        tick = Tick(
            t,
            r["event_id"],
            r["market"],
            r["bookmaker"],
            r["selection"],
            float(r["price"]),
            None if r["point"] is None else float(r["point"]),
            bool(r["is_exchange"]),
            to_micros(r["last_update"]),
            r["previous_price"],
        )
        meta, ticks = out.get(r["game_id"], (None, []))
        if r["game_id"] not in newest or (t, r["event_id"]) >= newest[r["game_id"]]:
            newest[r["game_id"]] = (t, r["event_id"])
            meta = GameMeta(r["sport"], r["home_team"], r["away_team"], to_micros(r["commence_time"]))
        out[r["game_id"]] = (meta, [*ticks, tick])  # type: ignore[arg-type]
    return out


def _text(value: Any) -> str:
    """A key column as the aggregates write it (timestamps in the canonical spelling)."""
    from datetime import datetime

    from lakehouse.schemas import format_timestamp

    return format_timestamp(value) if isinstance(value, datetime) else str(value)


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A record with timestamps as canonical text and no `retracted`, to compare sources."""
    from datetime import datetime

    from lakehouse.schemas import format_timestamp

    return {
        k: format_timestamp(v) if isinstance(v, datetime) else v
        for k, v in record.items()
        if k != "retracted"
    }


__all__ = ["AGGREGATE_TYPES", "IsolatedRun", "Rows", "isolated_run", "read_topic", "ticks_by_game"]
