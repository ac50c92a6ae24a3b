"""Bronze: every Kafka record of every feed, as it arrived, append-only.

The official Kafka source plus the Iceberg streaming sink with a checkpoint is exactly-once:
Iceberg records the query id and epoch in each snapshot and skips an epoch it already
committed when Spark replays it after a crash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iceberg.tables import BRONZE_KAFKA_RECORDS
from lakehouse.config import Settings
from lakehouse.kafka import spark_options
from lakehouse.topics import FEED_TOPICS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

TABLE = BRONZE_KAFKA_RECORDS.identifier


def kafka_source(
    spark: SparkSession,
    settings: Settings,
    topics: list[str] | None = None,
    max_offsets: int | None = None,
    headers: bool = True,
) -> DataFrame:
    """The feeds as one stream; offsets come from the query's checkpoint.

    Only bronze keeps the headers: the source builds them for every record whether or not a
    query reads them.
    """
    return (
        spark.readStream.format("kafka")
        .options(**spark_options(settings.kafka))
        .option("subscribe", ",".join(topics or FEED_TOPICS.values()))
        .option("startingOffsets", settings.streaming.starting_offsets)
        .option("maxOffsetsPerTrigger", max_offsets or settings.streaming.max_offsets_per_trigger)
        .option("includeHeaders", str(headers).lower())
        .option("failOnDataLoss", "false")
        .load()
    )


def bronze_rows(source: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return source.select(
        "topic",
        "partition",
        "offset",
        text(F.col("key")).alias("key"),
        text(F.col("value")).alias("value"),
        header_map(F.col("headers")).alias("headers"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.current_timestamp().alias("ingested_at"),
    )


def text(raw: Column) -> Column:
    """Kafka bytes as UTF-8 text; a byte sequence that is not UTF-8 becomes U+FFFD.

    Parquet strings must be UTF-8: a raw cast stores the bytes as they are, and every reader of
    the table (pyiceberg, DuckDB) then fails on the whole file.  Such a record can only be
    malformed, and it stays whole in Kafka for its retention.
    """
    from pyspark.sql import functions as F

    return F.make_valid_utf8(raw.cast("string"))


def header_map(headers: Column) -> Column:
    """Kafka headers as a map of UTF-8 text.

    Kafka allows a key more than once; such a key keeps every value, in order, joined by
    ", " (as HTTP folds repeated fields), instead of failing the query on Spark's duplicate
    map key check.  Only records with a repeated key pay for the grouping.
    """
    from pyspark.sql import functions as F

    entries = F.transform(headers, lambda h: F.struct(h["key"].alias("key"), text(h["value"]).alias("value")))
    keys = F.transform(headers, lambda h: h["key"])
    distinct = F.array_distinct(keys)
    folded = F.map_from_arrays(
        distinct,
        F.transform(
            distinct,
            lambda k: F.array_join(
                F.transform(F.filter(entries, lambda e: e["key"] == k), lambda e: e["value"]), ", "
            ),
        ),
    )
    return F.when(F.size(distinct) == F.size(keys), F.map_from_entries(entries)).otherwise(folded)


def bronze_query(
    spark: SparkSession, settings: Settings, available_now: bool = False, name: str = "bronze"
) -> StreamingQuery:
    writer = (
        bronze_rows(kafka_source(spark, settings))
        .writeStream.format("iceberg")
        .outputMode("append")
        .queryName(name)
        .option("checkpointLocation", settings.checkpoint_location(name))
        # Appends need no clustering: one open file per (day, topic) instead of a shuffle by
        # partition before every commit (measured 25% of the write).
        .option("distribution-mode", "none")
        .option("fanout-enabled", "true")
        # The Kafka source types every column nullable; topic/partition/offset never are.
        .option("check-nullability", "false")
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=settings.streaming.trigger_interval)
    )
    return writer.toTable(f"{settings.catalog.name}.{TABLE}")
