"""Maintenance of a table written the way streaming writes it: one snapshot per micro-batch."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from iceberg import TABLES, ensure_tables, maintain, maintain_all
from infra.stack.kafka import KafkaBroker
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.spark]

N_RECORDS = 400  # 8 micro-batches
PER_BATCH = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _produce(bootstrap: str, topic: str, numbers: range) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in numbers:
        producer.produce(
            topic,
            key=f"g{i % 7}",
            value=f'{{"n":{i}}}'.encode(),
            headers=[("source", b"test"), ("n", str(i).encode())],
        )
    assert producer.flush(30) == 0


def _stream_into(spark, bootstrap: str, topic: str, table: str, checkpoint: Path) -> None:
    """The bronze shape over the official Kafka source, availableNow in small micro-batches."""
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", PER_BATCH)
        .option("includeHeaders", "true")
        .load()
        .selectExpr(
            "topic",
            "partition",
            "offset",
            "CAST(key AS STRING) AS key",
            "CAST(value AS STRING) AS value",
            "map_from_entries(transform(headers, h -> struct(h.key, CAST(h.value AS STRING)))) AS headers",
            "timestamp AS kafka_timestamp",
            "current_timestamp() AS ingested_at",
        )
    )
    query = (
        source.writeStream.format("iceberg")
        .outputMode("append")
        .option("checkpointLocation", str(checkpoint))
        # The Kafka source declares every column nullable, though topic, partition, offset and
        # timestamp never are; without this Iceberg refuses them for bronze's required columns.
        .option("check-nullability", "false")
        .trigger(availableNow=True)
        .toTable(table)
    )
    query.awaitTermination(120)
    assert query.exception() is None


def _plant_orphans(location: str) -> tuple[Path, Path]:
    data = Path(location.removeprefix("file:")) / "data"
    old, new = data / "orphan-old.parquet", data / "orphan-new.parquet"
    for path in (old, new):
        path.write_bytes(b"not referenced by any snapshot")
    four_days_ago = time.time() - 4 * 24 * 3600
    os.utime(old, (four_days_ago, four_days_ago))
    return old, new


def _paths(uris: list[str]) -> list[Path]:
    return [Path(uri.removeprefix("file:")) for uri in uris]


def _spark_rows(spark, table: str) -> list[tuple]:
    rows = spark.sql(
        f"""SELECT topic, partition, offset, key, value, to_json(headers) AS headers,
                   unix_micros(kafka_timestamp) AS ts, unix_micros(ingested_at) AS ing
            FROM {table} ORDER BY topic, partition, offset"""
    ).collect()
    return [tuple(r) for r in rows]


def _pyiceberg_rows(catalog, identifier: str) -> list[tuple]:
    import json

    def micros(ts: datetime) -> int:
        return (ts - EPOCH) // timedelta(microseconds=1)

    rows = catalog.load_table(identifier).scan().to_arrow().to_pylist()
    out = [
        (
            r["topic"],
            r["partition"],
            r["offset"],
            r["key"],
            r["value"],
            json.dumps(dict(r["headers"]), separators=(",", ":")),
            micros(r["kafka_timestamp"]),
            micros(r["ingested_at"]),
        )
        for r in rows
    ]
    return sorted(out, key=lambda r: (r[0], r[1], r[2]))


def test_maintenance_compacts_expires_and_keeps_every_row(
    spark, kafka_broker: KafkaBroker, lake_settings: Settings, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    td = replace(TABLES["bronze.kafka_records"], namespace=f"maint_{run}")
    catalog = load_catalog(lake_settings)
    ensure_tables(catalog, tables={td.identifier: td})
    topic = f"maint.{run}"
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap})  # kept alive until created
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    _produce(kafka_broker.bootstrap, topic, range(N_RECORDS))
    table = f"lake.{td.identifier}"
    _stream_into(spark, kafka_broker.bootstrap, topic, table, tmp_path / "checkpoint")

    spark_before, py_before = _spark_rows(spark, table), _pyiceberg_rows(catalog, td.identifier)
    assert len(spark_before) == N_RECORDS
    assert py_before == spark_before
    # A failed write's leftover (4 days old) and an in-flight commit's file (just written).
    old_orphan, new_orphan = _plant_orphans(catalog.load_table(td.identifier).location())

    report = maintain(
        spark,
        td.identifier,
        catalog_name="lake",
        min_input_files=2,
        expire_older_than=timedelta(0),
        retain_last=1,
    )
    before, after = report.before, report.after
    print(
        f"\nmaintenance of {N_RECORDS} records in {N_RECORDS // PER_BATCH} micro-batches: {report.as_dict()}"
    )
    assert before.snapshots >= N_RECORDS // PER_BATCH  # one per micro-batch
    assert before.data_files >= N_RECORDS // PER_BATCH
    assert after.data_files < before.data_files
    assert after.data_files == 1  # one day, one topic: one partition, one file
    assert after.snapshots == 1  # expiry always keeps the current snapshot
    assert after.manifests <= before.manifests
    assert after.reachable_files == after.data_files  # the replaced files are gone from storage
    assert after.records == before.records == N_RECORDS
    assert report.results["rewrite_data_files"]["rewritten_data_files_count"] == before.data_files
    assert report.results["expire_snapshots"]["deleted_data_files_count"] == before.data_files
    assert _paths(report.results["remove_orphan_files"]["orphan_files_sample"]) == [old_orphan]
    assert not old_orphan.exists() and new_orphan.exists()

    assert _spark_rows(spark, table) == spark_before
    assert _pyiceberg_rows(catalog, td.identifier) == py_before

    # The stream resumes from its checkpoint after maintenance and appends on top.
    _produce(kafka_broker.bootstrap, topic, range(N_RECORDS, N_RECORDS + 10))
    _stream_into(spark, kafka_broker.bootstrap, topic, table, tmp_path / "checkpoint")
    assert [r[2] for r in _spark_rows(spark, table)] == list(range(N_RECORDS + 10))


def test_dry_run_changes_nothing_and_maintain_all_skips_missing_tables(
    spark, lake_settings: Settings
) -> None:
    run = uuid.uuid4().hex[:8]
    td = replace(TABLES["gold.pipeline_health"], namespace=f"maint_{run}")
    catalog = load_catalog(lake_settings)
    ensure_tables(catalog, tables={td.identifier: td})
    table = f"lake.{td.identifier}"
    for i in range(3):
        spark.sql(f"INSERT INTO {table} VALUES ('stream:test', 'lag_s', {i}, NULL, current_timestamp())")
    old_orphan, _ = _plant_orphans(catalog.load_table(td.identifier).location())

    report = maintain(spark, td.identifier, catalog_name="lake", min_input_files=2, dry_run=True)
    assert report.after == report.before
    assert report.before.snapshots == 3 and report.before.data_files == 3
    assert list(report.results) == ["remove_orphan_files"]  # the only read-only procedure
    assert [s.split("(")[0] for s in report.statements] == [
        f"CALL `lake`.system.{p}"
        for p in ("rewrite_data_files", "rewrite_manifests", "expire_snapshots", "remove_orphan_files")
    ]
    assert "dry_run => true" in report.statements[-1]
    assert "prefix_listing" not in report.statements[-1]  # file:// lists through Hadoop (skips .crc)
    assert _paths(report.results["remove_orphan_files"]["orphan_files_sample"]) == [old_orphan]
    assert old_orphan.exists()  # listed, not deleted
    snapshots = spark.sql(f"SELECT count(*) FROM {table}.snapshots").first()[0]
    assert snapshots == 3

    # maintain_all runs what exists (overrides apply to each table) and skips the rest.
    reports = maintain_all(spark, lake_settings, [td.identifier, "gold.does_not_exist"], dry_run=True)
    assert list(reports) == [td.identifier]
    assert reports[td.identifier].dry_run


@pytest.mark.parametrize("age", [timedelta(0), timedelta(minutes=59)])
def test_orphan_removal_refuses_ages_under_an_hour(age: timedelta) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        maintain(None, "silver.odds_quotes", catalog_name="lake", orphan_older_than=age)  # type: ignore[arg-type]
