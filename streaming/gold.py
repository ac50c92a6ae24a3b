"""Gold: the aggregate topics upserted into the gold Iceberg tables, as their own streaming query.

The aggregates query publishes every changed row to the ``agg.*`` topics; this query reads them
and keeps ``gold.<aggregate>`` equal to the latest row per key (a retracted row deletes its key).
Running apart from the aggregates means no micro-batch of theirs waits for an Iceberg commit,
and gold takes larger, rarer commits (``streaming.gold_trigger_interval``).

Idempotent by construction: within a batch the last record per key wins (a key always lands in
one Kafka partition, so its records keep their order), and a MERGE of the same latest rows twice
writes the same values, so Spark's replay of a batch after a crash changes nothing.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from iceberg.tables import GOLD_TABLES
from lakehouse.config import Settings
from lakehouse.log import get_logger
from lakehouse.schemas import (
    ARBITRAGE_OPPORTUNITIES,
    MARKET_AGG_1M,
    MARKET_PRICES_LIVE,
    STEAM_MOVES,
    spark_schema,
)
from lakehouse.schemas.aggregates import AggregateType
from streaming.bronze import kafka_source

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = get_logger(__name__)

AGGREGATES = (MARKET_PRICES_LIVE, MARKET_AGG_1M, ARBITRAGE_OPPORTUNITIES, STEAM_MOVES)
GOLD = {agg.name: GOLD_TABLES[agg.name].identifier for agg in AGGREGATES}


def latest_per_key(records: DataFrame, agg: AggregateType) -> DataFrame:
    """The topic's records of one batch parsed with the aggregate's schema, the last per key."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    parsed = records.select(
        F.from_json(F.col("value").cast("string"), spark_schema(agg)).alias("r"), "partition", "offset"
    ).filter(F.col("r").isNotNull())
    order = Window.partitionBy(*[F.col(f"r.{k}") for k in agg.key]).orderBy(
        F.col("partition").desc(), F.col("offset").desc()
    )
    return parsed.withColumn("_n", F.row_number().over(order)).filter("_n = 1").select("r.*")


class GoldSink:
    """foreachBatch: one MERGE per gold table, the tables side by side."""

    def __init__(self, settings: Settings) -> None:
        self.catalog = settings.catalog.name

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        started = time.monotonic()
        batch = batch.persist()
        try:
            present = {r["topic"] for r in batch.select("topic").distinct().collect()}
            todo = [agg for agg in AGGREGATES if agg.topic in present]
            with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
                futures = [
                    pool.submit(
                        self._merge, latest_per_key(batch.filter(F.col("topic") == agg.topic), agg), agg
                    )
                    for agg in todo
                ]
                for future in futures:
                    future.result()
        finally:
            batch.unpersist()
        if todo:
            log.info(
                "gold batch",
                batch_id=batch_id,
                tables=len(todo),
                seconds=round(time.monotonic() - started, 3),
            )

    def _merge(self, rows: DataFrame, agg: AggregateType) -> None:
        import threading

        view = f"gold_src_{agg.name}_{threading.get_ident()}"
        rows.createOrReplaceTempView(view)
        on = " AND ".join(f"t.{k} <=> s.{k}" for k in agg.key)
        retractable = any(f.name == "retracted" for f in agg.fields)
        delete = "WHEN MATCHED AND s.retracted THEN DELETE " if retractable else ""
        insert_if = " AND NOT coalesce(s.retracted, false)" if retractable else ""
        rows.sparkSession.sql(
            f"MERGE INTO {self.catalog}.{GOLD[agg.name]} t USING {view} s ON {on} "
            f"{delete}WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED{insert_if} THEN INSERT *"
        )
        rows.sparkSession.catalog.dropTempView(view)


def gold_query(
    spark: SparkSession, settings: Settings, available_now: bool = False, name: str = "gold"
) -> StreamingQuery:
    source = kafka_source(
        spark,
        settings,
        [agg.topic for agg in AGGREGATES],
        settings.streaming.max_offsets_per_trigger,
        headers=False,
    ).select("topic", "partition", "offset", "value")
    writer = (
        source.writeStream.queryName(name)
        .option("checkpointLocation", settings.checkpoint_location(name))
        .foreachBatch(GoldSink(settings))
    )
    # A drain (``available_now``) runs until the aggregates are done (see ``streaming.runner``), so
    # its batches must see what they publish meanwhile: no available-now end fixed at the start.
    interval = (
        settings.streaming.trigger_interval if available_now else settings.streaming.gold_trigger_interval
    )
    return writer.trigger(processingTime=interval).start()
