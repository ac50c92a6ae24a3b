"""Speed-layer figures: sustained events/s through bronze and silver, and produce-to-aggregate freshness.

    .venv/bin/python -m bench.streaming [--events 1000000] [--warmup-events 400000]
        [--max-offsets N] [--skip-freshness] [--freshness-seconds 60 --rate 200]

Own broker and lake in a temporary folder.  Throughput: the simulator's odds quotes are
loaded into Kafka first, then bronze and silver each drain them (available-now) on
`local[2]`; events/s = events / wall time of the drain (Spark start excluded).  "Cold" is
the first drain (`--warmup-events`) in a fresh JVM; "sustained" is the next `--events`
drained by the same queries, as a long-running stream sees them.  Freshness:
the aggregates job runs at its configured trigger while quotes are produced at `--rate`;
for each quote, the time from produce to its row in `agg.market_prices_live`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, Producer

from bench.report import bench_command
from iceberg import ensure_tables
from infra.stack.kafka import KafkaBroker
from infra.stack.process import free_port
from infra.stack.topics import apply_topics
from lakehouse.catalog import load_catalog
from lakehouse.config import KafkaSettings, Settings
from lakehouse.kafka import consumer_config, producer_config, spark_options
from lakehouse.log import configure_logging
from lakehouse.schemas import validate
from lakehouse.spark import build_spark_session
from producers.simulator import Simulator
from streaming.aggregates import aggregates_query
from streaming.bronze import bronze_query
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


def _freshness(spark, settings: Settings, seconds: float, rate: float) -> list[float]:
    # Live freshness, not a backlog drain: the query starts at the end of the topic.
    live = settings.model_copy(
        update={"streaming": settings.streaming.model_copy(update={"starting_offsets": "latest"})}
    )
    query = aggregates_query(spark, live)
    time.sleep(20)  # first batch (board restore, JIT) out of the way
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
    query.stop()
    return [seen[e] - t for e, t in produced.items() if e in seen]


@bench_command("streaming")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--warmup-events", type=int, default=400_000)
    parser.add_argument("--freshness-seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--max-offsets", type=int, default=None, help="maxOffsetsPerTrigger override")
    parser.add_argument("--skip-freshness", action="store_true")
    args = parser.parse_args()
    configure_logging("WARNING")
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
            if args.max_offsets:
                settings.streaming.max_offsets_per_trigger = args.max_offsets
            ensure_tables(load_catalog(settings))
            spark = build_spark_session(settings, app_name="bench-streaming")
            spark.sql("SELECT 1").collect()
            # Cold: a fresh JVM drains the warm-up backlog (JIT compilation, first commits).
            _load(broker.bootstrap, args.warmup_events)
            cold = [_drain(spark, settings, q) for q in (bronze_query, silver_query)]
            # Sustained: the same queries (same checkpoints) drain the measured backlog.
            _load(broker.bootstrap, args.events, seed=2)
            bronze_s = _drain(spark, settings, bronze_query)
            silver_s = _drain(spark, settings, silver_query)
            parts = _components(spark, broker.bootstrap)
            lags = []
            if not args.skip_freshness:
                lags = _freshness(spark, settings, args.freshness_seconds, args.rate)
            spark.stop()
        finally:
            broker.stop()
    print(
        f"simulator quotes, local[2], maxOffsetsPerTrigger {settings.streaming.max_offsets_per_trigger:,}, "
        f"trigger {settings.streaming.trigger_interval}"
    )
    for name, warm_s, cold_s in (("bronze", bronze_s, cold[0]), ("silver", silver_s, cold[1])):
        print(
            f"{name}: {args.events / warm_s:,.0f} events/s sustained ({args.events:,} in {warm_s:.1f} s); "
            f"cold start {args.warmup_events / cold_s:,.0f} events/s "
            f"({args.warmup_events:,} in {cold_s:.1f} s)"
        )
    print(
        f"floor, batch reads of the topic's {parts[0]:,} records: Kafka read {parts[1]:,.0f}/s; "
        f"read + parse + validate {parts[2]:,.0f}/s"
    )
    if lags:
        q = statistics.quantiles(lags, n=100)
        print(
            f"produce -> agg.market_prices_live freshness over {len(lags)} quotes at {args.rate:.0f}/s: "
            f"p50 {statistics.median(lags):.2f} s, p95 {q[94]:.2f} s"
        )


if __name__ == "__main__":
    main()
