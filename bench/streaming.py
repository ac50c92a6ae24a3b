"""Speed-layer figures: sustained events/s through bronze, silver and the aggregates, the aggregates'
state after a simulated day, and produce-to-aggregate freshness.

    .venv/bin/python -m bench.streaming [--events 1000000] [--warmup-events 400000]
        [--max-offsets N] [--skip-freshness] [--freshness-seconds 60 --rate 200]
        [--day-seconds 3600] [--master local[2]] [--cluster]

Own broker and lake in a temporary folder.  Throughput: the simulator's odds quotes are
loaded into Kafka first, then each job drains them on `--master`; events/s = events / wall
time of the drain (Spark start excluded).  "Cold" is the first drain (`--warmup-events`) in a
fresh JVM; "sustained" is the next `--events` drained by the same queries, as a long-running
stream sees them.  State: the aggregates drain a simulated day (`--day-seconds` of a rolling
market, games finishing and new ones starting) with a short idle TTL; the games and history blobs
the state store then holds (read with Spark's state data source) and its bytes are printed next
to the games the day had.  Freshness: the aggregates job runs at its
configured trigger while quotes are produced at `--rate`; for each quote, the time from produce
to its row in `agg.market_prices_live`.  `--cluster` then runs it all again on a Spark standalone
cluster started here (2 workers of 1 core, `infra.stack.spark_cluster`) and prints both.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer

from bench.report import bench_command
from iceberg import ensure_tables
from infra.stack.kafka import KafkaBroker
from infra.stack.process import free_port
from infra.stack.spark_cluster import SparkCluster
from infra.stack.topics import apply_topics
from lakehouse.catalog import load_catalog
from lakehouse.config import KafkaSettings, Settings, StreamingSettings
from lakehouse.kafka import consumer_config, producer_config, spark_options
from lakehouse.log import configure_logging
from lakehouse.schemas import validate
from lakehouse.spark import build_spark_session
from producers.simulator import Simulator
from streaming.aggregates import aggregates_query
from streaming.bronze import bronze_query
from streaming.runner import _caught_up, stop_between_batches
from streaming.silver import silver_query


def _load(bootstrap: str, n: int, seed: int = 1) -> None:
    producer = Producer(producer_config(KafkaSettings(bootstrap_servers=bootstrap), client_id="bench-load"))
    sim = Simulator.for_rate(5000, seed=seed)
    sent = 0
    while sent < n:
        for feed, record in sim.run(10):
            if feed == "odds" and sent < n:
                producer.produce("odds.quotes", key=record["game_id"], value=json.dumps(record).encode())
                producer.poll(0)
                sent += 1
    producer.flush(60)


def _drain(spark, settings: Settings, build) -> float:
    started = time.perf_counter()
    query = build(spark, settings, available_now=True)
    query.awaitTermination()
    if query.exception() is not None:
        raise RuntimeError(query.exception())
    return time.perf_counter() - started


def _components(spark, bootstrap: str) -> tuple[int, float, float]:
    """Rates of the two steps every silver record pays, on the topic's records (batch reads):
    reading them from Kafka, and reading plus parsing and validating them.  Returns
    (records, read/s, read+parse/s)."""
    from pyspark.sql import functions as F

    from lakehouse.schemas import get_event_type
    from streaming.parse import parse_feed

    raw = (
        spark.read.format("kafka")
        .options(**spark_options(KafkaSettings(bootstrap_servers=bootstrap)))
        .option("subscribe", "odds.quotes")
    )
    n = raw.load().count()
    started = time.perf_counter()
    raw.load().select(F.sum(F.length("value"))).first()
    read_s = time.perf_counter() - started
    parsed = parse_feed(
        raw.load().select(F.col("value").cast("string").alias("value")), get_event_type("odds")
    )
    started = time.perf_counter()
    parsed.write.format("noop").mode("overwrite").save()
    return n, n / read_s, n / (time.perf_counter() - started)


def _drain_aggregates(spark: Any, settings: Settings, name: str = "aggregates") -> tuple[float, Any]:
    """Seconds for the aggregates query to catch up with the topic, and its last progress."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    query = aggregates_query(spark, settings, name=name)
    while not _caught_up(query, started_at):
        if query.exception() is not None:
            raise RuntimeError(f"aggregates failed: {query.exception()}")
        time.sleep(0.2)
    # the batch that found nothing new ended the drain: count the time to the last batch with data
    last = query.lastProgress
    elapsed = time.perf_counter() - started - (last["durationMs"]["triggerExecution"] / 1000 if last else 0.0)
    progress = query.recentProgress
    stop_between_batches(query)
    return elapsed, progress


def _state_after_a_day(
    spark: Any, settings: Settings, bootstrap: str, day_s: float
) -> tuple[int, int, int, int]:
    """(games in the day, games held in the state store, history blobs held, state bytes) after
    draining a rolling day."""
    producer = Producer(producer_config(KafkaSettings(bootstrap_servers=bootstrap), client_id="bench-day"))
    sim = Simulator(seed=9, rolling=True, game_speed=10.0)
    games: set[str] = set()
    for feed, record in sim.run(day_s):
        if feed == "odds":
            games.add(record["game_id"])
            producer.produce("odds.quotes", key=record["game_id"], value=json.dumps(record).encode())
            producer.poll(0)
    producer.flush(60)
    day = settings.model_copy(
        update={"streaming": settings.streaming.model_copy(update={"aggregates_idle_s": 10.0})}
    )
    _drain_aggregates(spark, day, name="aggregates_day")
    evict_after = time.time() + 11  # past the idle TTL: the next batch evicts the finished games
    time.sleep(11)
    # A batch runs only for new input: a few quotes of a next game make the one that evicts.
    next_game = (r for f, r in Simulator(seed=10, game_speed=10.0).run(60) if f == "odds")
    for record in itertools.islice(next_game, 20):
        producer.produce("odds.quotes", key=record["game_id"], value=json.dumps(record).encode())
    producer.flush(60)
    query = aggregates_query(spark, day, name="aggregates_day")
    state: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    while not state and time.monotonic() < deadline:
        for progress in query.recentProgress:
            ran_at = datetime.fromisoformat(progress["timestamp"].replace("Z", "+00:00")).timestamp()
            if ran_at > evict_after and progress["stateOperators"]:
                state = progress["stateOperators"][0]
        time.sleep(0.5)
    stop_between_batches(query)
    if not state:
        raise RuntimeError("the aggregates reported no state store figures within 120 s")
    # Rows counted in the state itself: the state store does not count them (trackTotalNumberOfRows).
    held = {
        variable: spark.read.format("statestore")
        .option("stateVarName", variable)
        .load(day.checkpoint_location("aggregates_day"))
        .count()
        for variable in ("game_state", "history")
    }
    return len(games), held["game_state"], held["history"], int(state["memoryUsedBytes"])


def _freshness(spark, settings: Settings, seconds: float, rate: float) -> list[float]:
    # Live freshness, not a backlog drain: the query starts at the end of the topic.
    live = settings.model_copy(
        update={"streaming": settings.streaming.model_copy(update={"starting_offsets": "latest"})}
    )
    query = aggregates_query(spark, live, name="aggregates_live")
    time.sleep(20)  # first batch (Python workers, state store) out of the way
    produced: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def consume() -> None:
        consumer = Consumer(
            consumer_config(settings.kafka, group_id=uuid.uuid4().hex, **{"auto.offset.reset": "latest"})
        )
        consumer.subscribe(["agg.market_prices_live"])
        while not stop.is_set():
            for m in consumer.consume(500, 0.2):
                if m.error() is None:
                    seen.setdefault(json.loads(m.value())["event_id"], time.time())
        consumer.close()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    time.sleep(3)
    producer = Producer(producer_config(settings.kafka, client_id="bench-freshness", **{"linger.ms": 5}))
    sim = Simulator(seed=3, start=datetime.now(UTC))
    stream = (r for f, r in sim.run(10_000) if f == "odds")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        record = validate("odds", next(stream))
        produced[record["event_id"]] = time.time()
        producer.produce("odds.quotes", key=record["game_id"], value=json.dumps(record).encode())
        producer.poll(0)
        time.sleep(1 / rate)
    producer.flush(30)
    time.sleep(15)
    stop.set()
    reader.join(10)
    stop_between_batches(query)
    return [seen[e] - t for e, t in produced.items() if e in seen]


@dataclass
class Figures:
    """One master's run: drain seconds (sustained and cold), the floor, the day's state, freshness."""

    master: str
    sustained_s: dict[str, float]
    cold_s: dict[str, float]
    floor: tuple[int, float, float]
    day: tuple[int, int, int, int]
    lags: list[float]


def _measure(master: str, args: argparse.Namespace) -> Figures:
    """The whole benchmark on ``master``, with its own broker and lake (the same input each time:
    the simulator is seeded)."""
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as tmp:
        broker = KafkaBroker(
            home=Path(tmp) / "kafka", port=free_port(), controller_port=free_port(), heap="1g"
        )
        broker.start()
        try:
            apply_topics(broker.bootstrap)
            settings = Settings(
                state_dir=Path(tmp) / "state", kafka=KafkaSettings(bootstrap_servers=broker.bootstrap)
            )
            settings.spark.master = master
            settings.spark.executor_memory = args.executor_memory
            if args.max_offsets:
                settings.streaming.max_offsets_per_trigger = args.max_offsets
            ensure_tables(load_catalog(settings))
            spark = build_spark_session(settings, app_name="bench-streaming")
            spark.sql("SELECT 1").collect()
            # Cold: a fresh JVM drains the warm-up backlog (JIT compilation, first commits).
            _load(broker.bootstrap, args.warmup_events)
            cold = {
                "bronze": _drain(spark, settings, bronze_query),
                "silver": _drain(spark, settings, silver_query),
                "aggregates": _drain_aggregates(spark, settings)[0],
            }
            # Sustained: the same queries (same checkpoints) drain the measured backlog.
            _load(broker.bootstrap, args.events, seed=2)
            sustained = {
                "bronze": _drain(spark, settings, bronze_query),
                "silver": _drain(spark, settings, silver_query),
                "aggregates": _drain_aggregates(spark, settings)[0],
            }
            floor = _components(spark, broker.bootstrap)
            day = _state_after_a_day(spark, settings, broker.bootstrap, args.day_seconds)
            lags = []
            if not args.skip_freshness:
                lags = _freshness(spark, settings, args.freshness_seconds, args.rate)
            spark.stop()
        finally:
            broker.stop()
    return Figures(master, sustained, cold, floor, day, lags)


def _print(f: Figures, args: argparse.Namespace, streaming: StreamingSettings) -> None:
    print(
        f"simulator quotes, {f.master}, maxOffsetsPerTrigger {streaming.max_offsets_per_trigger:,} "
        f"(aggregates {streaming.aggregates_max_offsets_per_trigger:,}), trigger {streaming.trigger_interval}"
    )
    for name, warm_s in f.sustained_s.items():
        cold_s = f.cold_s[name]
        print(
            f"{name}: {args.events / warm_s:,.0f} events/s sustained ({args.events:,} in {warm_s:.1f} s); "
            f"cold start {args.warmup_events / cold_s:,.0f} events/s "
            f"({args.warmup_events:,} in {cold_s:.1f} s)"
        )
    records, read_rate, parse_rate = f.floor
    silver_rate = args.events / f.sustained_s["silver"]
    print(
        f"floor, batch reads of the topic's {records:,} records: Kafka read {read_rate:,.0f}/s; "
        f"read + parse + validate {parse_rate:,.0f}/s; silver / floor {silver_rate / parse_rate:.2f}"
    )
    print(
        f"aggregates state after a simulated day of {args.day_seconds:.0f} s: {f.day[0]} games in the day, "
        f"{f.day[1]} games and {f.day[2]} history blobs held in the state store, {f.day[3] / 1e6:.1f} MB "
        "(games idle 10 s are evicted)"
    )
    if f.lags:
        q = statistics.quantiles(f.lags, n=100)
        print(
            f"produce -> agg.market_prices_live freshness over {len(f.lags)} quotes at {args.rate:.0f}/s: "
            f"p50 {statistics.median(f.lags):.2f} s, p95 {q[94]:.2f} s"
        )


@bench_command("streaming")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--warmup-events", type=int, default=400_000)
    parser.add_argument("--freshness-seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--max-offsets", type=int, default=None, help="maxOffsetsPerTrigger override")
    parser.add_argument("--skip-freshness", action="store_true")
    parser.add_argument("--day-seconds", type=float, default=3600)
    parser.add_argument("--master", default="local[2]", help="e.g. spark://127.0.0.1:7077")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="then the same on a standalone cluster started here (2 workers of 1 core), side by side",
    )
    parser.add_argument("--executor-memory", default="3g", help="per executor, on a cluster")
    args = parser.parse_args()
    configure_logging("WARNING")
    runs = [_measure(args.master, args)]
    if args.cluster:
        with tempfile.TemporaryDirectory(prefix="bench-spark-cluster-") as home:
            cluster = SparkCluster(
                home=Path(home), port=free_port(), webui_port=free_port(), workers=2, cores=1, memory="4g"
            )
            try:
                cluster.start()
                runs.append(_measure(cluster.url, args))
            finally:
                cluster.stop()
    streaming = Settings().streaming
    if args.max_offsets:
        streaming.max_offsets_per_trigger = args.max_offsets
    for i, figures in enumerate(runs):
        if i:
            print()
        if i:  # the second run is always the cluster started here
            print("standalone cluster started here: 2 workers of 1 core, 4g each")
        _print(figures, args, streaming)


if __name__ == "__main__":
    main()
