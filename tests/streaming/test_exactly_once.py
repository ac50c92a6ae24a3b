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
KILLS = 3  # each kill is a Spark start (~30 s on 2 cores); three interrupt the stream repeatedly


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
    return _start_jobs(env, "--job", "bronze", "--job", "silver", *extra)


def _start_jobs(env: dict[str, str], *args: str) -> subprocess.Popen:
    """The stream in its own process; its output appended to `<state>/stream.log` for a failure's story."""
    log = Path(env["LAKEHOUSE_STATE_DIR"]) / "stream.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "stream", "run", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
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


def _end_offsets(bootstrap: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "offsets"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
    finally:
        consumer.close()


def test_aggregates_and_gold_with_checkpoints_on_s3_survive_sigkill(
    own_broker: KafkaBroker, moto_server, tmp_path: Path
) -> None:
    """Checkpoints and state stores on S3 (moto, through s3a); the job is SIGKILLed mid-stream
    twice; afterwards gold and the topics' latest rows equal the odds math on the input."""
    import boto3

    from streaming.aggregates import engine_settings
    from tests.streaming.harness import IsolatedRun, ticks_by_game
    from tests.support.market_oracle import expected_rows

    sim = Simulator(seed=13, games_per_sport=2, game_speed=30.0, first_kickoff_s=20.0)
    records = [r for feed, r in sim.run(100) if feed == "odds"]
    producer = Producer(
        {"bootstrap.servers": own_broker.bootstrap, "enable.idempotence": True, "acks": "all"}
    )
    for r in records:
        producer.produce("odds.quotes", key=r["game_id"], value=json.dumps(r).encode())
    assert producer.flush(30) == 0
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="eu-west-1")
    s3.create_bucket(Bucket="checkpoints", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    env = {
        **os.environ,
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": own_broker.bootstrap,
        "LAKEHOUSE_CATALOG__S3_ENDPOINT": moto_server.endpoint,
        "LAKEHOUSE_STREAMING__CHECKPOINT_ROOT": "s3a://checkpoints/run",
        "LAKEHOUSE_STREAMING__AGGREGATES_MAX_OFFSETS_PER_TRIGGER": "400",
        "LAKEHOUSE_STREAMING__GOLD_TRIGGER_INTERVAL": "1 second",
    }
    jobs = ("--job", "aggregates", "--job", "gold")
    rng = random.Random(7)
    progress = []
    for _ in range(2):
        before = _end_offsets(own_broker.bootstrap, "agg.market_prices_live")
        proc = _start_jobs(env, *jobs)
        deadline = time.monotonic() + 120
        while (
            _end_offsets(own_broker.bootstrap, "agg.market_prices_live") == before
            and time.monotonic() < deadline
        ):
            time.sleep(0.5)
        time.sleep(rng.uniform(0.2, 4.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        progress.append(_end_offsets(own_broker.bootstrap, "agg.market_prices_live"))
    assert progress[0] > 0, progress
    final = _start_jobs(env, *jobs, "--available-now")
    assert final.wait(timeout=600) == 0

    # The checkpoints are on S3, not on the local disk.
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="checkpoints", Prefix="run/aggregates/").get("Contents", [])
    ]
    assert any("/state/" in k for k in keys) and any("/commits/" in k for k in keys), keys[:10]
    assert not (tmp_path / "state" / "checkpoints" / "aggregates").exists()

    settings = Settings(
        state_dir=tmp_path / "state", kafka=KafkaSettings(bootstrap_servers=own_broker.bootstrap)
    )
    run = IsolatedRun(settings, own_broker)
    expected: dict = {}
    for game_id, (meta, ticks) in ticks_by_game(records).items():
        expected |= expected_rows(game_id, meta, ticks, engine_settings(settings))
    assert run.gold_rows() == run.topic_rows() == expected
