"""Real-time market aggregates as Spark stateful streaming: odds quotes in, aggregate records to Kafka.

``odds.quotes`` is parsed and validated with the shared schema, grouped by game, and each game's
quotes go through ``transformWithStateInPandas`` into the shared market engine
(``lakehouse.market.engine``), which keeps one ``GameState`` per game in Spark's state store
(RocksDB, checkpointed with the query).  So nothing in the driver grows with the number of games
or with time; a restart restores the state from the checkpoint; the engine's outputs do not depend
on how the input was batched or ordered within the allowed lateness.

Each micro-batch writes the records with Spark's Kafka writer to the ``agg.*`` topics (Druid
ingests them, and ``streaming.gold`` upserts them into the gold tables); a failed delivery fails
the batch, which Spark retries, so every row reaches Kafka at least once.  Per game, the recent
quotes are kept as one blob per batch in a list state with a processing-time TTL, read back only
when a quote arrives out of order; a game idle for ``aggregates_idle_s`` leaves the state store
(a processing-time TTL).
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings
from lakehouse.health import HealthReporter
from lakehouse.kafka import spark_options
from lakehouse.log import get_logger
from lakehouse.market import EngineSettings, GameMeta, GameState, Tick
from lakehouse.schemas import AGGREGATE_TYPES, get_event_type
from lakehouse.topics import feed_topic
from streaming.bronze import kafka_source
from streaming.parse import VALID, parse_feed

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery
    from pyspark.sql.streaming.stateful_processor import StatefulProcessorHandle, TimerValues

log = get_logger(__name__)

TOPICS = {agg.name: agg.topic for agg in AGGREGATE_TYPES.values()}
_INPUT = (
    "game_id",
    "sport",
    "event_time",
    "event_id",
    "market",
    "bookmaker",
    "selection",
    "price",
    "point",
    "is_exchange",
    "last_update",
    "previous_price",
    "home_team",
    "away_team",
    "commence_time",
)
OUTPUT_DDL = "topic string, key string, value string, produced_ms long, late long, duplicates long"
"""One row per aggregate record (topic, key, JSON value) plus, per game and batch, the oldest input's
Kafka time (for freshness) and the late and duplicate quotes left out."""


DRAIN_TRIGGER = "3 seconds"
"""The aggregates' trigger in a drain (``--available-now``): idle batches leave room to stop between."""


def engine_settings(settings: Settings) -> EngineSettings:
    return EngineSettings.of(settings)


_TIMES = ("event_time", "last_update", "commence_time")
"""Sent to Python as integer microseconds (the engine's unit), converted in the JVM: converting
pandas' timestamps took about a tenth of the Python worker's time."""

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
"""``json.dumps`` with separators builds an encoder per call; one, made once."""


def _optional(values: list[Any]) -> list[Any]:
    """A nullable double column's values with None for null (pandas gives NaN)."""
    return [None if v != v else v for v in values]


class MarketProcessor:
    """``transformWithStateInPandas`` processor: one ``GameState`` per game in the state store.

    Built lazily as a subclass of Spark's ``StatefulProcessor`` (``processor()``) so importing this
    module needs no pyspark; the logic lives here and in the engine.
    """

    def __init__(self, engine: EngineSettings, history_ttl_ms: int, idle_ms: int) -> None:
        self.engine = engine
        self.history_ttl_ms = history_ttl_ms
        self.idle_ms = idle_ms

    def init(self, handle: StatefulProcessorHandle) -> None:
        # TTLs are processing time, reset by each update: a game idle for ``idle_ms`` leaves the
        # state store, and each batch's history blob expires once no re-derivation can need it.
        # Both are list states written whole with put/appendList, which travel to the JVM as Arrow
        # batches: Spark 4.0.0's state server reads a value update (ValueState.update,
        # ListState.appendValue) with one InputStream.read, so a blob larger than the socket had
        # at that moment arrived cut ("invalid pickle opcode: 0") or hung the task for good
        # (SPARK-53870, fixed in 4.0.2, which Maven Central does not serve with the Kafka connector).
        self.game = handle.getListState("game_state", "blob binary", ttlDurationMs=self.idle_ms)
        self.history = handle.getListState("history", "blob binary", ttlDurationMs=self.history_ttl_ms)

    def handleInputRows(
        self, key: Any, rows: Iterator[pd.DataFrame], timerValues: TimerValues
    ) -> Iterator[pd.DataFrame]:
        import pandas as pd

        game_id = str(key[0])
        ticks: list[Tick] = []
        newest: tuple[tuple[int, str], GameMeta] | None = None
        produced_ms: int | None = None
        for frame in rows:
            times = frame["event_time"].tolist()
            ids = frame["event_id"].tolist()
            ticks.extend(
                map(
                    Tick,
                    times,
                    ids,
                    frame["market"].tolist(),
                    frame["bookmaker"].tolist(),
                    frame["selection"].tolist(),
                    frame["price"].astype(float).tolist(),
                    _optional(frame["point"].tolist()),
                    frame["is_exchange"].astype(bool).tolist(),
                    frame["last_update"].tolist(),
                    _optional(frame["previous_price"].tolist()),
                )
            )
            produced = int(frame["produced_ms"].min())
            produced_ms = produced if produced_ms is None else min(produced_ms, produced)
            # The game as its newest quote states it (teams and kick-off can be corrected).
            i = max(range(len(times)), key=lambda j: (times[j], ids[j]))
            if newest is None or (times[i], ids[i]) > newest[0]:
                meta = GameMeta(
                    frame["sport"].iat[i],
                    frame["home_team"].iat[i],
                    frame["away_team"].iat[i],
                    int(frame["commence_time"].iat[i]),
                )
                newest = ((times[i], ids[i]), meta)
        held = [blob for (blob,) in self.game.get()]  # empty for a new game
        state = GameState.loads(held[0]) if held else GameState(game_id)
        late, duplicates = state.late, state.duplicates
        outputs, applied = state.apply(
            ticks, newest[1] if newest else GameMeta("", "", "", 0), self.engine, self._history
        )
        if applied:
            self.history.appendList([(pickle.dumps(applied, protocol=pickle.HIGHEST_PROTOCOL),)])
        self.game.put([(state.dumps(),)])
        out: list[tuple[str | None, str | None, str | None]] = [
            (TOPICS[o.aggregate], o.key, _ENCODE(o.record)) for o in outputs
        ]
        counts = (state.late - late, state.duplicates - duplicates)
        if not out and any(counts):
            out = [(None, None, None)]  # a row for the counts alone (not published)
        if out:
            yield pd.DataFrame(
                {
                    "topic": [o[0] for o in out],
                    "key": [o[1] for o in out],
                    "value": [o[2] for o in out],
                    "produced_ms": [produced_ms] * len(out),
                    "late": [counts[0]] + [0] * (len(out) - 1),
                    "duplicates": [counts[1]] + [0] * (len(out) - 1),
                }
            )

    def _history(self, since: int) -> list[Tick]:
        """The game's recent ticks (one blob per batch) with event time >= ``since``."""
        out: list[Tick] = []
        for (blob,) in self.history.get():
            out.extend(t for t in pickle.loads(blob) if t.t >= since)
        return out

    def close(self) -> None:
        pass


def processor(settings: Settings) -> Any:
    """The Spark ``StatefulProcessor`` running ``MarketProcessor`` (pyspark imported here)."""
    from pyspark.sql.streaming import StatefulProcessor

    class SparkMarketProcessor(MarketProcessor, StatefulProcessor):
        pass

    s = settings.streaming
    history_ttl_ms = int(max(2 * s.aggregates_lateness_s, 600) * 1000)
    return SparkMarketProcessor(engine_settings(settings), history_ttl_ms, int(s.aggregates_idle_s * 1000))


def valid_quotes(source: DataFrame, future_s: float) -> DataFrame:
    """The odds records of a Kafka source that pass the shared schema, with their Kafka time
    (``produced_ms``); their times (``_TIMES``) as microseconds.

    A quote stamped more than ``future_s`` after its Kafka timestamp (the producer's create time)
    is left out: each game's watermark follows its newest quote, so one quote dated 2099 would
    make every later quote of its game late.  The bound is in the record, not the wall clock, so
    the output stays a function of the input (silver keeps such quotes).
    """
    from pyspark.sql import functions as F

    parsed = parse_feed(
        source.select(F.col("value").cast("string").alias("value"), "timestamp"), get_event_type("odds")
    )
    # The filter reads a nondeterministic column on purpose: Spark may not push it below the
    # parse, where it would re-parse the JSON once per field it checks (measured 4x slower).
    # The partition id, not `rand`: a stream re-seeds `rand` every micro-batch, and the seed is
    # a constant in the generated code, so each batch compiled the parse's ~40 KB method anew.
    barrier = parsed.withColumn("_barrier", F.spark_partition_id())
    believable = F.col("event_time") <= F.col("timestamp") + F.expr(f"INTERVAL {int(future_s)} SECONDS")
    return barrier.filter(F.col(VALID) & (F.col("_barrier") >= 0) & believable).select(
        *(F.unix_micros(c).alias(c) if c in _TIMES else F.col(c) for c in _INPUT),
        (F.unix_micros("timestamp") / 1000).cast("long").alias("produced_ms"),
    )


class AggregatesSink:
    """foreachBatch: publish a batch's records with Spark's Kafka writer, then report health."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.health = HealthReporter(settings, f"stream:{name}")

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        started = time.monotonic()
        batch = batch.persist()  # computed once, by the Kafka write; the figures read the cache
        try:
            records = batch.filter(F.col("topic").isNotNull()).select("topic", "key", "value")
            records.write.format("kafka").options(**spark_options(self.settings.kafka)).save()
            written = time.monotonic()
            figures = batch.agg(
                F.count("topic").alias("records"),
                F.min("produced_ms").alias("oldest_ms"),
                F.sum("late").alias("late"),
                F.sum("duplicates").alias("duplicates"),
            ).first()
        finally:
            batch.unpersist()
        if figures is None or figures["oldest_ms"] is None:
            return
        freshness = (datetime.now(UTC).timestamp() * 1000 - figures["oldest_ms"]) / 1000
        self.health.emit(
            {
                # Produce time of the batch's oldest quote to its aggregates on Kafka: the worst
                # produce-to-dashboard delay of the batch, before Druid's own ingestion.
                "freshness_s": freshness,
                "aggregate_records": float(figures["records"]),
                "late_quotes": float(figures["late"] or 0),
                "duplicate_quotes": float(figures["duplicates"] or 0),
            }
        )
        log.info(
            "aggregates batch",
            batch_id=batch_id,
            records=figures["records"],
            late=figures["late"],
            duplicates=figures["duplicates"],
            freshness_s=round(freshness, 3),
            write_s=round(written - started, 3),
            seconds=round(time.monotonic() - started, 3),
        )


def aggregates_query(
    spark: SparkSession, settings: Settings, available_now: bool = False, name: str = "aggregates"
) -> StreamingQuery:
    source = kafka_source(
        spark,
        settings,
        [feed_topic("odds")],
        settings.streaming.aggregates_max_offsets_per_trigger,
        headers=False,
    )
    aggregated = (
        valid_quotes(source, settings.streaming.future_s)
        .groupBy("game_id")
        .transformWithStateInPandas(
            statefulProcessor=processor(settings),
            outputStructType=OUTPUT_DDL,
            outputMode="Append",
            timeMode="ProcessingTime",  # for the TTLs; each game keeps its own event-time watermark
        )
    )
    writer = (
        aggregated.writeStream.queryName(name)
        .option("checkpointLocation", settings.checkpoint_location(name))
        .foreachBatch(AggregatesSink(settings, name))
    )
    # Always a processing-time trigger: with processing-time state (the TTLs) Spark asks for a
    # batch after every batch, so available-now never ends; the runner drains it instead, and stops
    # it between two batches.  An idle batch (TTLs only) takes about a second, so at a 1 s trigger
    # they ran back to back and a drain waited 15-25 s for a gap; a drain triggers less often (its
    # batches with quotes take longer than that anyway).
    interval = DRAIN_TRIGGER if available_now else settings.streaming.trigger_interval
    return writer.trigger(processingTime=interval).start()
