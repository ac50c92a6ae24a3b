"""Silver: parse, validate, de-duplicate and route every feed record, idempotently.

One query reads all feed topics; each micro-batch is split by feed and
  * records that fail the shared schema go to `silver.dead_letters` with the reason,
  * valid records older than their (feed, source) watermark go to `silver.late_events`,
  * the rest are de-duplicated by `event_id` (within the batch, and against what silver holds
    within the lateness window) and inserted into `silver.<feed>`.
Every write is a MERGE keyed by event id or Kafka coordinates, so when Spark replays a batch
after a crash nothing is written twice: foreachBatch is at-least-once, the tables end up
exactly-once.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from lakehouse.config import Settings
from lakehouse.health import HealthReporter
from lakehouse.log import get_logger
from lakehouse.schemas import get_event_type
from lakehouse.topics import FEED_TOPICS
from streaming.bronze import kafka_source
from streaming.parse import REASON, parse_feed
from streaming.watermarks import WatermarkStore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = get_logger(__name__)

SILVER_TABLES = {
    "odds": "silver.odds_quotes",
    "games": "silver.games",
    "weather": "silver.weather",
    "news": "silver.news",
}
DEAD_LETTERS = "silver.dead_letters"
LATE_EVENTS = "silver.late_events"
_SAME_KAFKA_RECORD = " AND ".join(
    f"t.{c} = s.{c}" for c in ("kafka_topic", "kafka_partition", "kafka_offset")
)


class SilverBatch:
    """The foreachBatch function (a callable object so it carries settings and watermarks)."""

    def __init__(self, settings: Settings, name: str = "silver") -> None:
        self.settings = settings
        self.catalog = settings.catalog.name
        self.watermarks = WatermarkStore(settings.checkpoint_dir / name / "watermarks.json")
        self.metrics: list[dict] = []
        self.health = HealthReporter(settings, f"stream:{name}")

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        started = time.monotonic()
        marks = self.watermarks.marks_for_batch(batch_id)
        spark = batch.sparkSession
        batch = batch.select(
            "topic",
            "partition",
            "offset",
            F.col("timestamp").alias("kafka_timestamp"),
            F.col("value").cast("string").alias("value"),
        ).persist()
        topics = {r["topic"]: r["count"] for r in batch.groupBy("topic").count().collect()}
        newest: dict[tuple[str, str], object] = {}
        counts = {"input": sum(topics.values()), "silver": 0, "dead": 0, "late": 0}
        for feed, topic in FEED_TOPICS.items():
            if not topics.get(topic):
                continue
            parsed = parse_feed(batch.filter(F.col("topic") == topic), get_event_type(feed)).persist()
            counts["dead"] += self._dead_letters(spark, parsed, feed, batch_id)
            valid = parsed.filter(F.col(REASON).isNull()).drop(REASON)
            for row in valid.groupBy("source").agg(F.max("event_time").alias("newest")).collect():
                newest[(feed, row["source"])] = row["newest"]
            on_time, late = self._split_late(valid, feed, marks)
            counts["late"] += self._late(spark, late, feed, batch_id)
            counts["silver"] += self._insert(spark, on_time, feed, batch_id)
            parsed.unpersist()
        batch.unpersist()
        self.watermarks.advance(batch_id, newest, self.settings.streaming.allowed_lateness_s)  # type: ignore[arg-type]
        counts["seconds"] = round(time.monotonic() - started, 3)
        self.metrics.append({"batch_id": batch_id, **counts})
        self.health.emit({"dead_letters": counts["dead"], "late_events": counts["late"]})
        log.info("silver batch", batch_id=batch_id, **counts)

    def _split_late(self, valid: DataFrame, feed: str, marks: dict) -> tuple[DataFrame, DataFrame]:
        from pyspark.sql import functions as F

        feed_marks = {source: mark for (f, source), mark in marks.items() if f == feed}
        if not feed_marks:
            return valid, valid.limit(0).withColumn("_watermark", F.lit(None).cast("timestamp"))
        mark_col = F.create_map(*[x for s, m in feed_marks.items() for x in (F.lit(s), F.lit(m))])[
            F.col("source")
        ]
        tagged = valid.withColumn("_watermark", mark_col)
        is_late = F.col("_watermark").isNotNull() & (F.col("event_time") < F.col("_watermark"))
        return tagged.filter(~is_late).drop("_watermark"), tagged.filter(is_late)

    def _merge(self, spark: SparkSession, df: DataFrame, table: str, on: str, view: str) -> int:
        df = df.persist()
        n = df.count()
        if n:
            df.createOrReplaceTempView(view)
            spark.sql(
                f"MERGE INTO {self.catalog}.{table} t USING {view} s ON {on} WHEN NOT MATCHED THEN INSERT *"
            )
        df.unpersist()
        return n

    def _dead_letters(self, spark: SparkSession, parsed: DataFrame, feed: str, batch_id: int) -> int:
        from pyspark.sql import functions as F

        rows = parsed.filter(F.col(REASON).isNotNull()).select(
            F.lit("silver").alias("stage"),
            F.lit(feed).alias("feed"),
            F.col(REASON).alias("reason"),
            F.col("value").alias("raw_value"),
            F.col("topic").alias("kafka_topic"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            "kafka_timestamp",
            F.current_timestamp().alias("failed_at"),
        )
        on = _SAME_KAFKA_RECORD
        return self._merge(spark, rows, DEAD_LETTERS, on, f"silver_dead_{feed}_{batch_id}")

    def _late(self, spark: SparkSession, late: DataFrame, feed: str, batch_id: int) -> int:
        from pyspark.sql import functions as F

        rows = late.select(
            F.lit(feed).alias("feed"),
            "event_id",
            "event_time",
            F.col("_watermark").alias("watermark"),
            (F.unix_micros("_watermark") - F.unix_micros("event_time"))
            .cast("double")
            .__truediv__(1e6)
            .alias("lateness_s"),
            F.col("value").alias("raw_value"),
            F.col("topic").alias("kafka_topic"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.current_timestamp().alias("received_at"),
        )
        on = _SAME_KAFKA_RECORD
        return self._merge(spark, rows, LATE_EVENTS, on, f"silver_late_{feed}_{batch_id}")

    def _insert(self, spark: SparkSession, on_time: DataFrame, feed: str, batch_id: int) -> int:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        fields = [f.name for f in get_event_type(feed).fields]
        first = Window.partitionBy("event_id").orderBy("topic", "partition", "offset")
        rows = (
            on_time.withColumn("_n", F.row_number().over(first))
            .filter("_n = 1")
            .select(
                *fields,
                F.col("topic").alias("kafka_topic"),
                F.col("partition").alias("kafka_partition"),
                F.col("offset").alias("kafka_offset"),
                F.current_timestamp().alias("processed_at"),
            )
        )
        lateness = timedelta(seconds=self.settings.streaming.allowed_lateness_s)
        floor = rows.agg(F.min("event_time")).first()[0]
        window = "" if floor is None else f" AND t.event_time >= TIMESTAMP '{(floor - lateness).isoformat()}'"
        return self._merge(
            spark,
            rows,
            SILVER_TABLES[feed],
            f"t.event_id = s.event_id{window}",
            f"silver_src_{feed}_{batch_id}",
        )


def silver_query(
    spark: SparkSession, settings: Settings, available_now: bool = False, name: str = "silver"
) -> StreamingQuery:
    writer = (
        kafka_source(spark, settings)
        .writeStream.queryName(name)
        .option("checkpointLocation", str(settings.checkpoint_dir / name))
        .foreachBatch(SilverBatch(settings, name))
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=settings.streaming.trigger_interval)
    )
    return writer.start()
