"""Kafka -> Spark (official Kafka source) -> Iceberg, read back by a different engine (pyiceberg)."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
from confluent_kafka import Producer

from infra.stack.kafka import KafkaBroker
from infra.stack.moto import MotoServer
from lakehouse.catalog import load_catalog, spark_catalog_conf
from lakehouse.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.spark]

N_RECORDS = 2_000


def _produce(bootstrap: str, topic: str, run: str) -> dict[str, str]:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    sent = {}
    for i in range(N_RECORDS):
        key, value = f"{run}-{i % 13}", f'{{"run":"{run}","n":{i},"price":{1.5 + i % 40 / 10}}}'
        sent[f"{key}|{i}"] = value
        producer.produce(topic, key=key, value=value.encode())
    assert producer.flush(30) == 0
    return sent


def _stream_topic_to_table(spark, bootstrap: str, topic: str, table: str, checkpoint: Path) -> None:
    """One availableNow micro-batch run: the same source and sink the streaming layer uses."""
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .selectExpr(
            "CAST(key AS STRING) AS key",
            "CAST(value AS STRING) AS value",
            "topic",
            "partition",
            "offset",
            "timestamp AS kafka_timestamp",
        )
    )
    query = (
        source.writeStream.format("iceberg")
        .outputMode("append")
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .toTable(table)
    )
    query.awaitTermination(240)
    assert query.exception() is None


def _create_table(spark, table: str) -> None:
    spark.sql(
        f"""CREATE TABLE {table} (
              key STRING, value STRING, topic STRING, partition INT, offset BIGINT, kafka_timestamp TIMESTAMP)
            USING iceberg TBLPROPERTIES ('format-version'='2')"""
    )


def _assert_same_rows(spark, table: str, pyiceberg_rows: list[dict], run: str, sent: dict[str, str]) -> None:
    spark_rows = {
        (r.topic, r.partition, r.offset): (r.key, r.value)
        for r in spark.table(table).collect()
        if r.key.startswith(run)
    }
    py_rows = {(r["topic"], r["partition"], r["offset"]): (r["key"], r["value"]) for r in pyiceberg_rows}
    py_rows = {k: v for k, v in py_rows.items() if v[0].startswith(run)}
    assert len(spark_rows) == N_RECORDS
    assert py_rows == spark_rows
    # ...and both equal what was produced.
    import json

    got = {f"{k}|{json.loads(v)['n']}": v for k, v in py_rows.values()}
    assert got == sent


def test_kafka_to_iceberg_local_catalog_read_by_pyiceberg(
    spark,
    kafka_broker: KafkaBroker,
    lake_settings: Settings,
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = "news.articles"
    sent = _produce(kafka_broker.bootstrap, topic, run)
    table = f"lake.it_{run}.kafka_records"
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS lake.it_{run}")
    _create_table(spark, table)
    _stream_topic_to_table(spark, kafka_broker.bootstrap, topic, table, tmp_path / "checkpoint")

    catalog = load_catalog(lake_settings)
    rows = catalog.load_table(f"it_{run}.kafka_records").scan().to_arrow().to_pylist()
    _assert_same_rows(spark, table, rows, run, sent)
    # The warehouse really is on the local file system.
    assert any(lake_settings.warehouse_path.rglob("*.parquet"))

    # Restarting from the checkpoint with no new records adds nothing (no duplicates).
    _stream_topic_to_table(spark, kafka_broker.bootstrap, topic, table, tmp_path / "checkpoint")
    assert spark.table(table).count() == N_RECORDS


def test_kafka_to_iceberg_glue_catalog_on_moto(
    spark,
    kafka_broker: KafkaBroker,
    moto_server: MotoServer,
    glue_settings: Settings,
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:8]
    bucket = glue_settings.catalog.s3_warehouse.removeprefix("s3://").split("/")[0]
    # Catalogs are plugins looked up on first use, so a second one can join the running session.
    for key, value in spark_catalog_conf(glue_settings).items():
        spark.conf.set(key, value)

    topic = "weather.observations"
    sent = _produce(kafka_broker.bootstrap, topic, run)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS glue.it_{run}")
    table = f"glue.it_{run}.kafka_records"
    _create_table(spark, table)
    _stream_topic_to_table(spark, kafka_broker.bootstrap, topic, table, tmp_path / "checkpoint")

    # The table is registered in (moto's) Glue and its files are in (moto's) S3.
    glue = boto3.client("glue", endpoint_url=moto_server.endpoint, region_name="eu-west-1")
    entry = glue.get_table(DatabaseName=f"it_{run}", Name="kafka_records")["Table"]
    assert entry["Parameters"]["table_type"].upper() == "ICEBERG"
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="eu-west-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="warehouse/")["Contents"]]
    assert any(k.endswith(".parquet") for k in keys)

    rows = load_catalog(glue_settings).load_table(f"it_{run}.kafka_records").scan().to_arrow().to_pylist()
    _assert_same_rows(spark, table, rows, run, sent)


def test_local_catalog_changes_are_seen_both_ways_while_both_engines_run(
    spark,
    lake_settings: Settings,
) -> None:
    """Spark's pooled JDBC connections must not pin a stale SQLite snapshot or a lock."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    run = uuid.uuid4().hex[:8]
    ns = f"live_{run}"
    catalog = load_catalog(lake_settings)
    catalog.create_namespace(ns)
    spark.sql(f"CREATE TABLE lake.{ns}.from_spark (id BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO lake.{ns}.from_spark VALUES (1), (2)")
    assert catalog.load_table(f"{ns}.from_spark").scan().to_arrow().num_rows == 2

    # pyiceberg writes while the Spark session's connections are open...
    catalog.create_table(
        f"{ns}.from_pyiceberg", schema=Schema(NestedField(1, "id", LongType(), required=False))
    )
    catalog.drop_table(f"{ns}.from_spark")
    # ...and Spark sees it at once, and can still write.
    assert {r.tableName for r in spark.sql(f"SHOW TABLES IN lake.{ns}").collect()} == {"from_pyiceberg"}
    spark.sql(f"INSERT INTO lake.{ns}.from_pyiceberg VALUES (7)")
    assert catalog.load_table(f"{ns}.from_pyiceberg").scan().to_arrow().column("id").to_pylist() == [7]
