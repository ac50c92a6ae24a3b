"""Exactly-once through bronze and silver while the streaming process is SIGKILLed repeatedly."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from infra.stack.kafka import KafkaBroker
from infra.stack.process import free_port
from infra.stack.topics import apply_topics
from lakehouse.catalog import load_catalog
from lakehouse.config import KafkaSettings, Settings
from producers.simulator import Simulator

pytestmark = [pytest.mark.integration, pytest.mark.spark]
KILLS = 5


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A broker of its own: the test counts every record on every topic."""
    broker = KafkaBroker(home=tmp_path / "kafka", port=free_port(), controller_port=free_port())
    broker.start()
    apply_topics(broker.bootstrap)
    yield broker
    broker.stop()


def _produce(bootstrap: str) -> tuple[int, set[str], int, int]:
    """Distinct valid events, some re-sent (duplicates), some malformed; returns the counts."""
    records = [r for feed, r in Simulator(seed=5).run(240) if feed == "odds"][:3000]
    rng = random.Random(11)
    duplicates = rng.sample(records, 300)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    sent = 0
    for r in records + duplicates:
        producer.produce("odds.quotes", key=r["game_id"], value=json.dumps(r).encode())
        sent += 1
    bad = [b"{not json", json.dumps({**records[0], "price": 0.5, "event_id": "bad-1"}).encode()] * 25
    for value in bad:
        producer.produce("odds.quotes", key=b"bad", value=value)
        sent += 1
    assert producer.flush(30) == 0
    return sent, {r["event_id"] for r in records}, len(bad), len(duplicates)


def _rows(settings: Settings, table: str) -> int:
    catalog = load_catalog(settings)
    return catalog.load_table(table).scan().to_arrow().num_rows if catalog.table_exists(table) else 0


def _start(env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "stream", "run", "--job", "bronze", "--job", "silver", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the JVM down with it
    )


def test_sigkill_restarts_lose_nothing_and_duplicate_nothing(own_broker: KafkaBroker, tmp_path: Path) -> None:
    total, events, bad, _ = _produce(own_broker.bootstrap)
    env = {
        **os.environ,
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": own_broker.bootstrap,
        "LAKEHOUSE_STREAMING__MAX_OFFSETS_PER_TRIGGER": "150",  # many small batches to interrupt
    }
    settings = Settings(
        state_dir=tmp_path / "state", kafka=KafkaSettings(bootstrap_servers=own_broker.bootstrap)
    )
    rng = random.Random(2024)
    progress = []
    for _ in range(KILLS):
        before = _rows(settings, "bronze.kafka_records")
        proc = _start(env)
        # Wait until this run has committed something (Spark takes ~8 s to start), then kill
        # it at a random point of the next batches: mid-stream, whatever the machine's speed.
        deadline = time.monotonic() + 90
        while (
            _rows(settings, "bronze.kafka_records") == before
            and before < total
            and time.monotonic() < deadline
        ):
            time.sleep(0.5)
        time.sleep(rng.uniform(0.2, 3.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        progress.append(_rows(settings, "bronze.kafka_records"))
    # The kills really interrupted the stream part-way (not all before it started or after it ended).
    assert any(0 < n < total for n in progress), progress
    final = _start(env, "--available-now")
    assert final.wait(timeout=600) == 0

    settings = Settings(
        state_dir=tmp_path / "state", kafka=KafkaSettings(bootstrap_servers=own_broker.bootstrap)
    )
    catalog = load_catalog(settings)
    bronze = catalog.load_table("bronze.kafka_records").scan().to_arrow()
    coords = set(
        zip(
            bronze["topic"].to_pylist(),
            bronze["partition"].to_pylist(),
            bronze["offset"].to_pylist(),
            strict=True,
        )
    )
    assert bronze.num_rows == len(coords) == total  # exactly one row per Kafka record
    silver = catalog.load_table("silver.odds_quotes").scan().to_arrow()
    assert silver.num_rows == len(events)  # duplicates dropped, nothing lost
    assert set(silver["event_id"].to_pylist()) == events
    dead = catalog.load_table("silver.dead_letters").scan().to_arrow()
    assert dead.num_rows == bad
    assert len(set(dead["kafka_offset"].to_pylist())) == bad
