"""Exactly-once through all four jobs while the streaming process is SIGKILLed repeatedly.

One process runs bronze, silver, aggregates and gold with every checkpoint and state store on S3
(moto, through s3a); each kill costs a Spark start, so one run covers both the local-restart
and the object-store cases.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from infra.stack.kafka import KafkaBroker
from lakehouse.catalog import load_catalog
from lakehouse.config import KafkaSettings, Settings
from producers.simulator import Simulator
from tests.streaming.harness import fresh_topics

pytestmark = [pytest.mark.integration, pytest.mark.spark]


@pytest.fixture
def own_broker(runs_broker: KafkaBroker) -> KafkaBroker:
    """The runs' broker, emptied: the test counts every record on every topic."""
    fresh_topics(runs_broker.bootstrap)
    return runs_broker


def _produce(bootstrap: str) -> tuple[int, list[dict[str, Any]], int]:
    """A simulated market's quotes, 300 of them re-sent a few records after the original (a
    producer's retry) and 50 malformed; returns records sent, the distinct quotes, malformed."""
    sim = Simulator(seed=13, games_per_sport=2, game_speed=30.0, first_kickoff_s=20.0)
    records = [r for feed, r in sim.run(100) if feed == "odds"]
    rng = random.Random(11)
    resent = {i + rng.randint(1, 20): records[i] for i in rng.sample(range(len(records) - 21), 300)}
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    sent = 0
    for i, r in enumerate(records):
        for record in (r, resent[i]) if i in resent else (r,):
            producer.produce("odds.quotes", key=record["game_id"], value=json.dumps(record).encode())
            sent += 1
    bad = [b"{not json", json.dumps({**records[0], "price": 0.5, "event_id": "bad-1"}).encode()] * 25
    for value in bad:
        producer.produce("odds.quotes", key=b"bad", value=value)
        sent += 1
    assert producer.flush(30) == 0
    return sent, records, len(bad)


def _rows(settings: Settings, table: str) -> int:
    catalog = load_catalog(settings)
    return catalog.load_table(table).scan().to_arrow().num_rows if catalog.table_exists(table) else 0


def _end_offsets(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "offsets"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
    finally:
        consumer.close()


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


def test_sigkills_lose_nothing_and_duplicate_nothing_with_checkpoints_on_s3(
    own_broker: KafkaBroker, moto_server, tmp_path: Path
) -> None:
    """Killed three times at random points: one bronze row per Kafka record, silver exactly the
    distinct events, each malformed record dead-lettered once, and gold and the topics' latest
    rows equal the odds math on the input."""
    import boto3

    from streaming.aggregates import engine_settings
    from tests.streaming.harness import IsolatedRun, ticks_by_game
    from tests.support.market_oracle import expected_rows

    total, records, bad = _produce(own_broker.bootstrap)
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="eu-west-1")
    s3.create_bucket(Bucket="checkpoints", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    env = {
        **os.environ,
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": own_broker.bootstrap,
        "LAKEHOUSE_CATALOG__S3_ENDPOINT": moto_server.endpoint,
        "LAKEHOUSE_STREAMING__CHECKPOINT_ROOT": "s3a://checkpoints/run",
        "LAKEHOUSE_STREAMING__MAX_OFFSETS_PER_TRIGGER": "300",  # many small batches to interrupt
        "LAKEHOUSE_STREAMING__AGGREGATES_MAX_OFFSETS_PER_TRIGGER": "400",
        "LAKEHOUSE_STREAMING__GOLD_TRIGGER_INTERVAL": "1 second",
    }
    settings = Settings(
        state_dir=tmp_path / "state", kafka=KafkaSettings(bootstrap_servers=own_broker.bootstrap)
    )
    jobs = ("--job", "bronze", "--job", "silver", "--job", "aggregates", "--job", "gold")

    def bronze() -> int:
        return _rows(settings, "bronze.kafka_records")

    def published() -> int:
        return _end_offsets(own_broker.bootstrap, "agg.market_prices_live")

    # The first kill follows bronze's first commit (mid-bronze), the others the aggregates' next
    # output (mid-aggregates), each after a random delay: mid-stream, whatever the machine's speed.
    waits: list[Callable[[], int]] = [bronze, published, published]
    rng = random.Random(2024)
    progress = []
    for wait in waits:
        before = wait()
        proc = _start_jobs(env, *jobs)
        deadline = time.monotonic() + 120
        while wait() == before and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(rng.uniform(0.2, 3.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        progress.append((bronze(), published()))
    # The kills really interrupted the stream part-way (not all before it started or after it ended).
    assert any(0 < b < total for b, _ in progress), progress
    assert progress[1][1] > 0, progress
    # The drain at the production batch sizes: the small ones above are there to be interrupted.
    drain = {k: v for k, v in env.items() if "OFFSETS_PER_TRIGGER" not in k and "GOLD_TRIGGER" not in k}
    final = _start_jobs(drain, *jobs, "--available-now")
    assert final.wait(timeout=600) == 0

    # The checkpoints and state are on S3, not on the local disk.
    for job in ("bronze", "silver", "aggregates"):
        listed = s3.list_objects_v2(Bucket="checkpoints", Prefix=f"run/{job}/").get("Contents", [])
        keys = [o["Key"] for o in listed]
        assert any("/commits/" in k for k in keys), (job, keys[:10])
    state = s3.list_objects_v2(Bucket="checkpoints", Prefix="run/aggregates/state/").get("KeyCount", 0)
    assert state > 0
    assert not (tmp_path / "state" / "checkpoints").exists()

    catalog = load_catalog(settings)
    table = catalog.load_table("bronze.kafka_records").scan().to_arrow()
    coords = set(
        zip(
            table["topic"].to_pylist(),
            table["partition"].to_pylist(),
            table["offset"].to_pylist(),
            strict=True,
        )
    )
    assert table.num_rows == len(coords) == total  # exactly one row per Kafka record
    silver = catalog.load_table("silver.odds_quotes").scan().to_arrow()
    assert silver.num_rows == len(records)  # re-sent quotes dropped, nothing lost
    assert set(silver["event_id"].to_pylist()) == {r["event_id"] for r in records}
    dead = catalog.load_table("silver.dead_letters").scan().to_arrow()
    assert dead.num_rows == bad
    assert len(set(dead["kafka_offset"].to_pylist())) == bad

    run = IsolatedRun(settings, own_broker)
    expected: dict = {}
    for game_id, (meta, ticks) in ticks_by_game(records).items():
        expected |= expected_rows(game_id, meta, ticks, engine_settings(settings))
    assert run.gold_rows() == run.topic_rows() == expected

    # The Lambda check: gold's windows equal their batch recomputation from silver (the stream
    # has drained its input, so every window is final: all of them are compared).
    from datetime import UTC, datetime

    from batch.reconcile import mismatch_summary, reconcile

    checked = reconcile(settings, catalog, days=3650, closed_before=datetime.now(UTC))
    assert checked.quotes == len(records) and checked.compared["market_agg_1m"] > 100, checked.as_dict()
    assert checked.mismatches == [], mismatch_summary(checked)
