"""Silver: parse, validate, de-duplicate and route every feed record, idempotently.

One query reads all feed topics; each micro-batch is split by feed and
  * records that fail the shared schema go to `silver.dead_letters` with the reason,
  * valid records older than their (feed, source) watermark go to `silver.late_events`,
  * the rest are de-duplicated by `event_id` (within the batch, and against what silver holds
    within the lateness window) and appended to `silver.<feed>`.
Dead letters and late events are MERGEd on their Kafka coordinates; silver rows are an
anti-join on event id followed by an append.  So when Spark replays a batch after a crash
nothing is written twice: foreachBatch is at-least-once, the tables end up exactly-once.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from iceberg.tables import SILVER_DEAD_LETTERS, SILVER_FEEDS, SILVER_LATE_EVENTS
from lakehouse.config import Settings
from lakehouse.health import HealthReporter
from lakehouse.log import get_logger
from lakehouse.schemas import get_event_type
from lakehouse.topics import FEED_TOPICS
from streaming.bronze import kafka_source
from streaming.parse import KEYS, REASON, VALID, parse_feed, with_reason
from streaming.watermarks import WatermarkStore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = get_logger(__name__)

SILVER_TABLES = {feed: table.identifier for feed, table in SILVER_FEEDS.items()}
_LATE = "_late"
DEAD_LETTERS = SILVER_DEAD_LETTERS.identifier
LATE_EVENTS = SILVER_LATE_EVENTS.identifier
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
        newest: dict[tuple[str, str], datetime] = {}
        counts = {"input": sum(topics.values()), "silver": 0, "dead": 0, "late": 0}
        for feed, topic in FEED_TOPICS.items():
            if not topics.get(topic):
                continue
            parsed = self._parse(batch.filter(F.col("topic") == topic), feed, marks).persist()
            # One pass over the parsed batch (which also fills the cache) answers every question
            # the writes need: how many dead and late records, and each source's time range.
            valid = F.col(VALID)
            stats = (
                parsed.groupBy("source")
                .agg(
                    F.count(F.when(~valid, 1)).alias("dead"),
                    F.count(F.when(valid & F.col(_LATE), 1)).alias("late"),
                    F.count(F.when(valid & ~F.col(_LATE), 1)).alias("on_time"),
                    F.max(F.when(valid, F.col("event_time"))).alias("newest"),
                    F.min(F.when(valid & ~F.col(_LATE), F.col("event_time"))).alias("oldest"),
                )
                .collect()
            )
            for row in stats:
                if row["newest"] is not None:
                    newest[(feed, row["source"])] = row["newest"]
            dead = sum(r["dead"] for r in stats)
            late = sum(r["late"] for r in stats)
            if dead:
                counts["dead"] += self._dead_letters(spark, parsed.filter(~valid), feed, batch_id, dead)
            rows = parsed.filter(valid).drop(VALID, KEYS)
            if late:
                counts["late"] += self._late(spark, rows.filter(F.col(_LATE)), feed, batch_id, late)
            oldest = [r["oldest"] for r in stats if r["oldest"] is not None]
            if oldest:
                on_time = rows.filter(~F.col(_LATE))
                counts["silver"] += self._insert(spark, on_time, feed, min(oldest))
            parsed.unpersist()
        batch.unpersist()
        self.watermarks.advance(batch_id, newest, self.settings.streaming.allowed_lateness_s)
        counts["seconds"] = round(time.monotonic() - started, 3)
        self.metrics.append({"batch_id": batch_id, **counts})
        self.health.emit({"dead_letters": counts["dead"], "late_events": counts["late"]})
        log.info("silver batch", batch_id=batch_id, **counts)

    def _parse(self, records: DataFrame, feed: str, marks: dict) -> DataFrame:
        """Typed rows of one feed with `_valid`, `_watermark` (the record's (feed, source) mark,
        if any) and `_late`.  The raw text and key list stay only on the rows a side table
        stores them for, which keeps the cached batch small."""
        from pyspark.sql import functions as F

        parsed = parse_feed(records, get_event_type(feed))
        feed_marks = {source: mark for (f, source), mark in marks.items() if f == feed}
        if not feed_marks:
            mark_col = F.lit(None).cast("timestamp")
        else:
            pairs = [x for s, m in feed_marks.items() for x in (F.lit(s), F.lit(m))]
            mark_col = F.create_map(*pairs)[F.col("source")]
        tagged = parsed.withColumn("_watermark", mark_col)
        is_late = F.col("_watermark").isNotNull() & (F.col("event_time") < F.col("_watermark"))
        tagged = tagged.withColumn(_LATE, F.coalesce(is_late, F.lit(False)))
        kept = ~F.col(VALID) | F.col(_LATE)
        return tagged.withColumn("value", F.when(kept, F.col("value"))).withColumn(
            KEYS, F.when(~F.col(VALID), F.col(KEYS))
        )

    def _merge(self, spark: SparkSession, df: DataFrame, table: str, on: str, view: str) -> int:
        """Insert the rows the table lacks; returns how many the commit added (0 on a replay)."""
        target = f"{self.catalog}.{table}"
        before = self._latest_snapshot(spark, target)
        df.createOrReplaceTempView(view)
        spark.sql(f"MERGE INTO {target} t USING {view} s ON {on} WHEN NOT MATCHED THEN INSERT *")
        spark.catalog.dropTempView(view)
        after = self._latest_snapshot(spark, target)
        return self._added(before, after)

    @staticmethod
    def _added(before: Any, after: Any) -> int:
        """Records the commit between two snapshots added (0 when nothing was committed)."""
        if after is None or (before is not None and after["snapshot_id"] == before["snapshot_id"]):
            return 0
        return int((after["summary"] or {}).get("added-records", 0))

    @staticmethod
    def _latest_snapshot(spark: SparkSession, target: str) -> Any:
        query = f"SELECT snapshot_id, summary FROM {target}.snapshots ORDER BY committed_at DESC LIMIT 1"
        return spark.sql(query).first()

    def _dead_letters(self, spark: SparkSession, dead: DataFrame, feed: str, batch_id: int, n: int) -> int:
        from pyspark.sql import functions as F

        rows = with_reason(dead, get_event_type(feed)).select(
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
        self._merge(spark, rows, DEAD_LETTERS, _SAME_KAFKA_RECORD, f"silver_dead_{feed}_{batch_id}")
        return n

    def _late(self, spark: SparkSession, late: DataFrame, feed: str, batch_id: int, n: int) -> int:
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
        self._merge(spark, rows, LATE_EVENTS, _SAME_KAFKA_RECORD, f"silver_late_{feed}_{batch_id}")
        return n

    def _insert(self, spark: SparkSession, on_time: DataFrame, feed: str, floor: datetime) -> int:
        """Append the batch's events silver lacks: the first Kafka record of each event id,
        unless silver already holds the id within the lateness window.

        Idempotent without a MERGE: when Spark replays a batch after a crash, the ids it wrote
        are found and nothing is appended twice.  Only event ids are shuffled or broadcast,
        never whole records (a MERGE shuffled both sides and cost 3x).
        """
        from pyspark.sql import functions as F

        target = f"{self.catalog}.{SILVER_TABLES[feed]}"
        fields = [f.name for f in get_event_type(feed).fields]
        at = F.struct("topic", "partition", "offset")
        # Event ids seen more than once in this batch, with the Kafka record that wins.
        repeated = (
            on_time.groupBy("event_id")
            .agg(F.min(at).alias("_first"), F.count(F.lit(1)).alias("_n"))
            .filter("_n > 1")
            .drop("_n")
        )
        lateness = timedelta(seconds=self.settings.streaming.allowed_lateness_s)
        batch_ids = on_time.select("event_id")
        existing = (
            spark.table(target)
            .filter(F.col("event_time") >= F.expr(f"TIMESTAMP '{(floor - lateness).isoformat()}'"))
            .select("event_id")
            .join(F.broadcast(batch_ids), "event_id", "left_semi")
        )
        rows = (
            on_time.join(F.broadcast(existing), "event_id", "left_anti")
            .join(F.broadcast(repeated), "event_id", "left")
            .filter(F.col("_first").isNull() | (F.col("_first") == at))
            .select(
                *fields,
                F.col("topic").alias("kafka_topic"),
                F.col("partition").alias("kafka_partition"),
                F.col("offset").alias("kafka_offset"),
                F.current_timestamp().alias("processed_at"),
            )
        )
        before = self._latest_snapshot(spark, target)
        # No clustering shuffle per micro-batch: compaction sorts the files later.
        rows.writeTo(target).option("distribution-mode", "none").option("fanout-enabled", "true").append()
        after = self._latest_snapshot(spark, target)
        return self._added(before, after)


def silver_query(
    spark: SparkSession, settings: Settings, available_now: bool = False, name: str = "silver"
) -> StreamingQuery:
    writer = (
        kafka_source(spark, settings, headers=False)
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
