"""Silver: de-duplicate, parse, validate and route every feed record, idempotently.

One query reads all feed topics and parses each record once, by its feed's schema, in the stream.
Duplicates go next, in Spark's state store: each valid record's event id is de-duplicated per topic
with ``dropDuplicatesWithinWatermark`` over its arrival time, so a record re-sent within
``silver_dedup_window_s`` of the first is dropped, in the batch or across batches (the state
forgets an id after the window, at its next batch with input: memory is bounded by the ids of one
window).  Each micro-batch is then split by feed and
  * records that fail the shared schema go to `silver.dead_letters` with the reason, and to the
    feed's dead-letter topic as a ``lakehouse.dead_letters`` record (keyed by the refused record's
    Kafka coordinates; written before the table, so a replayed batch may repeat a letter, never
    lose one), where ``lakehouse dlq`` lists and replays them with the producers' own,
  * valid records older than their (feed, source) watermark go to `silver.late_events`
    (``streaming.marks``: per source, logged per batch in the checkpoint),
  * the rest are appended to `silver.<feed>`.
Dead letters and late events are MERGEd on their Kafka coordinates; each append carries its
query id and batch id as a snapshot property and is skipped when the table already has it.  So
when Spark replays a batch after a crash nothing is written twice: foreachBatch is at-least-once,
the tables end up exactly-once.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from iceberg.tables import SILVER_DEAD_LETTERS, SILVER_FEEDS, SILVER_LATE_EVENTS
from lakehouse.config import Settings
from lakehouse.dead_letters import MAX_RAW, TRUNCATION_NOTE
from lakehouse.health import HealthReporter
from lakehouse.kafka import spark_options
from lakehouse.log import get_logger
from lakehouse.schemas import get_event_type
from lakehouse.topics import FEED_TOPICS, dead_letter_topic
from streaming.bronze import kafka_source, text
from streaming.marks import CheckpointFiles, WatermarkLog
from streaming.parse import KEYS, REASON, VALID, feed_struct, parse_feeds, with_reason

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


BATCH_PROPERTY = "lakehouse.silver-batch"
"""Snapshot property of each silver append: the query id and batch id that wrote it."""


class SilverBatch:
    """The foreachBatch function (a callable object so it carries settings and watermarks)."""

    def __init__(self, settings: Settings, name: str = "silver") -> None:
        self.settings = settings
        self.name = name
        self.catalog = settings.catalog.name
        self.health = HealthReporter(settings, f"stream:{name}")
        self.last: dict[str, Any] = {}  # the last batch's counts (for logs and tests)
        self._log: WatermarkLog | None = None
        self._query_id: str | None = None

    def _marks(self, spark: SparkSession) -> WatermarkLog:
        if self._log is None:
            location = self.settings.checkpoint_location(self.name)
            self._log = WatermarkLog(CheckpointFiles(spark, f"{location}/silver-marks"))
            metadata = CheckpointFiles(spark, location).read("metadata")
            # The query's own id (stable across restarts of one checkpoint); a batch driven by hand
            # (tests) has none and goes by the checkpoint's location.
            self._query_id = json.loads(metadata)["id"] if metadata else location
        return self._log

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        started = time.monotonic()
        spark = batch.sparkSession
        marks = self._marks(spark).marks_for_batch(batch_id)
        batch = self._slim(batch, marks).persist()
        topics = {r["topic"]: r["count"] for r in batch.groupBy("topic").count().collect()}
        newest: dict[tuple[str, str], datetime] = {}
        counts = {"input": sum(topics.values()), "silver": 0, "dead": 0, "late": 0}
        for feed, topic in FEED_TOPICS.items():
            if not topics.get(topic):
                continue
            parsed = self._typed(batch.filter(F.col("topic") == topic), feed)
            # One pass over the cached batch answers every question the writes need: how many
            # dead and late records, and each source's newest event time.
            valid = F.col(VALID)
            # A record dated past its own Kafka time (plus a tolerance) moves no mark: one 2099 typo
            # would make every later record of its source late, replays of history included.
            believable = F.col("event_time") <= F.col("kafka_timestamp") + F.expr(
                f"INTERVAL {int(self.settings.streaming.future_s)} SECONDS"
            )
            stats = (
                parsed.groupBy("source")
                .agg(
                    F.count(F.when(~valid, 1)).alias("dead"),
                    F.count(F.when(valid & F.col(_LATE), 1)).alias("late"),
                    F.count(F.when(valid & ~F.col(_LATE), 1)).alias("on_time"),
                    F.max(F.when(valid & believable, F.col("event_time"))).alias("newest"),
                )
                .collect()
            )
            for row in stats:
                if row["newest"] is not None:
                    newest[(feed, row["source"])] = row["newest"]
            if any(r["dead"] for r in stats):
                counts["dead"] += self._dead_letters(spark, parsed.filter(~valid), feed, batch_id)
            rows = parsed.filter(valid).drop(VALID, KEYS)
            if any(r["late"] for r in stats):
                counts["late"] += self._late(spark, rows.filter(F.col(_LATE)), feed, batch_id)
            if any(r["on_time"] for r in stats):
                counts["silver"] += self._append(spark, rows.filter(~F.col(_LATE)), feed, batch_id)
        batch.unpersist()
        self._marks(spark).advance(newest, self.settings.streaming.allowed_lateness_s)
        counts["seconds"] = round(time.monotonic() - started, 3)
        self.last = {"batch_id": batch_id, **counts}
        self.health.emit({"dead_letters": counts["dead"], "late_events": counts["late"]})
        log.info("silver batch", batch_id=batch_id, **counts)

    @staticmethod
    def _slim(batch: DataFrame, marks: dict) -> DataFrame:
        """The batch with `_watermark` (the record's (feed, source) mark, if any) and `_late`, and
        only what the writes need: the raw value of the dead and late records alone (the dead
        letters and late events keep it; silver does not), the key list of the dead alone (for
        their reasons).  Most records are valid and on time, so the cached batch is a fraction of
        the shuffled one (measured: 621 MB for 400,000 quotes with every value kept)."""
        from pyspark.sql import functions as F

        mark = F.lit(None).cast("timestamp")
        event_time = F.lit(None).cast("timestamp")
        for feed, topic in FEED_TOPICS.items():
            struct = feed_struct(feed)
            mine = F.col("topic") == topic
            event_time = F.when(mine, F.col(f"{struct}.event_time")).otherwise(event_time)
            feed_marks = {source: m for (f, source), m in marks.items() if f == feed}
            if feed_marks:
                pairs = [x for s, m in feed_marks.items() for x in (F.lit(s), F.lit(m))]
                mark = F.when(mine, F.create_map(*pairs)[F.col(f"{struct}.source")]).otherwise(mark)
        valid = F.col(VALID)
        late = F.coalesce(valid & mark.isNotNull() & (event_time < mark), F.lit(False))
        kept = [c for c in batch.columns if c not in ("value", KEYS, "_seen_at", "_dedup", "event_id")]
        return batch.select(
            *kept,
            F.when(~valid | late, F.col("value")).alias("value"),
            F.when(~valid, F.col(KEYS)).alias(KEYS),
            mark.alias("_watermark"),
            late.alias(_LATE),
        )

    @staticmethod
    def _typed(records: DataFrame, feed: str) -> DataFrame:
        """One feed's records (from `_slim`) as typed columns, with `_valid`, `_watermark` and
        `_late`."""
        from pyspark.sql import functions as F

        fields = [f.name for f in get_event_type(feed).fields]
        struct = feed_struct(feed)
        return records.select(
            "topic",
            "partition",
            "offset",
            "kafka_timestamp",
            "value",
            KEYS,
            VALID,
            *[F.col(f"{struct}.{name}").alias(name) for name in fields],
            "_watermark",
            _LATE,
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

    def _dead_letters(self, spark: SparkSession, dead: DataFrame, feed: str, batch_id: int) -> int:
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
            F.col("source").alias("_source"),
        )
        rows = rows.persist()  # the reasons are computed once, for the topic and the table
        try:
            self._publish_dead_letters(rows, feed)
            return self._merge(
                spark,
                rows.drop("_source"),
                DEAD_LETTERS,
                _SAME_KAFKA_RECORD,
                f"silver_dead_{feed}_{batch_id}",
            )
        finally:
            rows.unpersist()

    def _publish_dead_letters(self, rows: DataFrame, feed: str) -> None:
        """The batch's dead letters to the feed's dead-letter topic, in the producers' shape;
        Spark's Kafka writer fails the batch if Kafka does not take them."""
        from pyspark.sql import functions as F

        raw, length = F.col("raw_value"), F.length("raw_value")
        cut = length > MAX_RAW
        note = F.format_string(TRUNCATION_NOTE, length)
        reason = F.when(cut, F.concat(F.col("reason"), note)).otherwise(F.col("reason"))
        source = F.coalesce(F.col("_source"), F.lit("stream"))
        body = F.struct(
            F.lit(feed).alias("feed"),
            source.alias("source"),
            reason.alias("reason"),
            F.date_format(F.col("failed_at"), "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX").alias("failed_at"),
            F.when(cut, F.substring(raw, 1, MAX_RAW)).otherwise(raw).alias("raw"),
            F.struct(
                F.col("stage"), F.col("kafka_topic"), F.col("kafka_partition"), F.col("kafka_offset")
            ).alias("context"),
        )
        headers = F.array(
            F.struct(F.lit("source").alias("key"), source.cast("binary").alias("value")),
            F.struct(
                F.lit("reason").alias("key"),
                F.substring(F.col("reason"), 1, 200).cast("binary").alias("value"),
            ),
        )
        letters = rows.select(
            F.lit(dead_letter_topic(feed)).alias("topic"),
            F.concat_ws(":", "kafka_topic", "kafka_partition", "kafka_offset").alias("key"),
            F.to_json(body).alias("value"),
            headers.alias("headers"),
        )
        letters.write.format("kafka").options(**spark_options(self.settings.kafka)).save()

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
        return self._merge(spark, rows, LATE_EVENTS, _SAME_KAFKA_RECORD, f"silver_late_{feed}_{batch_id}")

    def _append(self, spark: SparkSession, on_time: DataFrame, feed: str, batch_id: int) -> int:
        """Append the batch's valid, on-time records (already de-duplicated by the stream), once.

        The snapshot carries (query id, batch id): when Spark replays a batch after a crash, a
        table that already took it is skipped, so nothing is appended twice.
        """
        from pyspark.sql import functions as F

        target = f"{self.catalog}.{SILVER_TABLES[feed]}"
        tag = f"{self._query_id}:{batch_id}"
        done = spark.sql(
            f"SELECT 1 FROM {target}.snapshots WHERE summary['{BATCH_PROPERTY}'] = '{tag}' LIMIT 1"
        ).first()
        if done is not None:
            return 0
        fields = [f.name for f in get_event_type(feed).fields]
        rows = on_time.select(
            *fields,
            F.col("topic").alias("kafka_topic"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.current_timestamp().alias("processed_at"),
        )
        before = self._latest_snapshot(spark, target)
        # No clustering shuffle per micro-batch: compaction sorts the files later.
        (
            rows.writeTo(target)
            .option("distribution-mode", "none")
            .option("fanout-enabled", "true")
            .option(f"snapshot-property.{BATCH_PROPERTY}", tag)
            .append()
        )
        after = self._latest_snapshot(spark, target)
        return self._added(before, after)


def keyed_records(source: DataFrame, dedup_window: str) -> DataFrame:
    """Kafka records stamped with their arrival time (watermarked by ``dedup_window``), parsed by
    their feed's schema, with their dedup key: the event id of a valid record, the Kafka
    coordinates of any other (never a duplicate: every malformed record reaches the dead letters,
    and a malformed record cannot shadow a valid one with the same id).

    The arrival time is the batch's time, so the state forgets an id after the window, and no
    record is ever late for the dedup itself: lateness is the marks' business.  It is stamped
    *before* the watermark and the parse after it: Spark writes the batch's time into the
    generated code as a constant, and the watermark ends that code's stage.  Stamped beside the
    parse, every micro-batch compiled the parse's ~40 KB method anew (and the JIT compiled it
    again from scratch); now the parse's code is the same in every batch and compiled once.
    """
    from pyspark.sql import functions as F

    records = source.select(
        "topic",
        "partition",
        "offset",
        F.col("timestamp").alias("kafka_timestamp"),
        text(F.col("value")).alias("value"),
        F.current_timestamp().alias("_seen_at"),
    ).withWatermark("_seen_at", dedup_window)
    feeds = {feed: get_event_type(feed) for feed in FEED_TOPICS}
    parsed = parse_feeds(records, feeds, FEED_TOPICS)
    coordinates = F.concat_ws("@", "topic", F.col("partition").cast("string"), F.col("offset").cast("string"))
    return parsed.withColumn("_dedup", F.when(F.col(VALID), F.col("event_id")).otherwise(coordinates))


def silver_query(
    spark: SparkSession, settings: Settings, available_now: bool = False, name: str = "silver"
) -> StreamingQuery:
    window = f"{int(settings.streaming.silver_dedup_window_s)} seconds"
    deduped = keyed_records(
        kafka_source(spark, settings, headers=False), window
    ).dropDuplicatesWithinWatermark(["topic", "_dedup"])
    writer = (
        deduped.writeStream.queryName(name)
        .option("checkpointLocation", settings.checkpoint_location(name))
        .foreachBatch(SilverBatch(settings, name))
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=settings.streaming.trigger_interval)
    )
    # No batch without input: such a batch only forgets the ids past the window, which the next
    # batch with input does as well.  A drain ended with one (1.5-2 s of a 400,000-record drain).
    # Spark reads the setting when the query starts; the session's other queries keep theirs (the
    # aggregates' processing-time TTLs need batches without input).
    key = "spark.sql.streaming.noDataMicroBatches.enabled"
    before = spark.conf.get(key, "true")
    spark.conf.set(key, "false")
    try:
        return writer.start()
    finally:
        spark.conf.set(key, before or "true")
