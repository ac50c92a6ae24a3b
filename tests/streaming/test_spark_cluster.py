"""Bronze, silver, aggregates and gold on a Spark standalone cluster give the tables of local[2].

The cluster run is the `lakehouse stream run` command in its own process, pointed at the master
with ``LAKEHOUSE_SPARK__MASTER`` (its connector jars shipped to the two executors); the local run
is the same jobs in the test session's ``local[2]`` Spark.  Each run has its own broker holding
the same records in the same order, so both read identical partitions and offsets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from iceberg.tables import BRONZE_KAFKA_RECORDS, SILVER_DEAD_LETTERS, SILVER_FEEDS
from infra.stack.spark_cluster import SparkCluster
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings
from producers.simulator import Simulator
from streaming.runner import run_jobs
from tests.streaming.harness import IsolatedRun, isolated_run

pytestmark = [pytest.mark.integration, pytest.mark.spark]

JOBS = ("bronze", "silver", "aggregates", "gold")
POISON = [b"not json", b"{}", json.dumps({"event_id": "x", "price": "NaN"}).encode()]


def _feed_records() -> list[tuple[str, bytes, bytes]]:
    sim = Simulator(seed=5, games_per_sport=1, game_speed=30.0, first_kickoff_s=10.0)
    from lakehouse.topics import feed_topic

    out = [
        (feed_topic(feed), str(r.get("game_id") or r.get("event_id")).encode(), json.dumps(r).encode())
        for feed, r in sim.run(40)
    ]
    return out + [("odds.quotes", b"poison", value) for value in POISON]


def _produce(run: IsolatedRun, records: list[tuple[str, bytes, bytes]]) -> None:
    from confluent_kafka import Producer

    from lakehouse.kafka import producer_config

    producer = Producer(producer_config(run.settings.kafka, client_id="test"))
    for topic, key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def _tables(settings: Settings) -> dict[str, Any]:
    """Every bronze, silver and gold row, without the columns that record when a run wrote it."""
    catalog = load_catalog(settings)
    volatile = {"ingested_at", "processed_at", "failed_at", "received_at", "kafka_timestamp"}
    out: dict[str, Any] = {}
    for table in (BRONZE_KAFKA_RECORDS, SILVER_DEAD_LETTERS, *SILVER_FEEDS.values()):
        rows = catalog.load_table(table.identifier).scan().to_arrow().to_pylist()
        out[table.identifier] = sorted(
            json.dumps({k: v for k, v in r.items() if k not in volatile}, default=str, sort_keys=True)
            for r in rows
        )
    return out


def test_the_cluster_writes_the_tables_local_spark_writes(
    spark, runs_broker, spark_cluster: SparkCluster, tmp_path: Path
) -> None:
    records = _feed_records()
    with isolated_run(spark, runs_broker, tmp_path / "local") as local:
        _produce(local, records)
        run_jobs(local.settings, JOBS, available_now=True)
        expected_tables, expected_gold = _tables(local.settings), local.gold_rows()

    with isolated_run(spark, runs_broker, tmp_path / "cluster") as cluster:
        _produce(cluster, records)
        s = cluster.settings
        env = {
            **os.environ,
            "LAKEHOUSE_STATE_DIR": str(s.state_dir),
            "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": s.kafka.bootstrap,
            "LAKEHOUSE_CATALOG__KIND": "local",
            "LAKEHOUSE_CATALOG__NAME": s.catalog.name,
            "LAKEHOUSE_SPARK__MASTER": spark_cluster.url,
            "LAKEHOUSE_SPARK__DRIVER_MEMORY": "1g",
        }
        argv = [sys.executable, "-m", "cli.main", "stream", "run", "--available-now"]
        done = subprocess.run(
            [*argv, *(f"--job={job}" for job in JOBS)], env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stderr[-3000:]
        # The jobs ran on the cluster's executors, not in a local Spark.
        assert [app["name"] for app in spark_cluster.applications()] == ["lakehouse-streaming"]
        tables, gold = _tables(s), cluster.gold_rows()

    assert len(expected_tables[BRONZE_KAFKA_RECORDS.identifier]) == len(records)
    assert len(expected_tables[SILVER_DEAD_LETTERS.identifier]) == len(POISON)
    assert sum(len(v) for v in expected_tables.values()) > 2 * len(records) - len(POISON)
    assert tables == expected_tables
    assert len(expected_gold) > 100
    assert gold == expected_gold
