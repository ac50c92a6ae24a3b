"""Dashboard query latency on Druid: every panel and variable query of every dashboard, p50/p95.

    .venv/bin/python -m bench.serving [--sim-seconds 300] [--batch 4000] [--runs 20]

Own Kafka and Druid (`Stack.up(with_druid=True)`, temporary folder, free ports) and Spark. Druid
is loaded the way production loads it: the live-market simulator's quotes (`--sim-seconds` of
the default market, about 120 quotes per simulated second, its clock ending now) go to Kafka,
the aggregates job drains them (available-now, `--batch` quotes per micro-batch so the
arbitrage tracker sees intermediate boards), and the supervisors ingest the aggregate topics.
Then each query, rendered as Grafana sends it (`dashboards.queries`: range = the data, every
variable All, the busiest game, market h2h), runs `--runs` times after one warm-up; the
figures are wall time through `serving.query` (pydruid, HTTP to the broker).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.druid import _pct, _rss_gib, _time
from bench.report import bench_command
from dashboards.build import JSON_DIR
from dashboards.queries import iter_panel_queries, iter_variable_queries
from infra.stack import Stack
from infra.stack.druid import druid_settings_on_free_ports
from infra.stack.process import free_port
from lakehouse.config import KafkaSettings, Settings
from lakehouse.health import HealthReporter
from lakehouse.kafka import consumer_config
from lakehouse.log import configure_logging
from lakehouse.schemas import AGGREGATE_TYPES
from producers.publisher import Publisher
from producers.simulator import Simulator
from serving.overlord import Overlord
from serving.query import DruidQuery
from serving.specs import all_specs
from streaming.runner import run_jobs

TARGET_P95_S = 0.5  # a dashboard refresh runs its panels in parallel; each should answer well under 1 s


def _settings(tmp: Path, batch: int) -> Settings:
    settings = Settings(
        state_dir=tmp,
        kafka=KafkaSettings(port=free_port(), controller_port=free_port()),
        druid=druid_settings_on_free_ports(),
    )
    settings.streaming.aggregates_max_offsets_per_trigger = batch
    return settings


def _load(settings: Settings, sim_seconds: float) -> tuple[int, datetime, str]:
    """Simulated quotes through the aggregates job into the aggregate topics; returns quotes,
    the simulated start and the game with the most quotes."""
    start = datetime.now(UTC) - timedelta(seconds=sim_seconds)
    publisher = Publisher(settings.kafka, client_id="simulator")
    games: Counter[str] = Counter()
    for feed, record in Simulator(seed=42, start=start).run(sim_seconds):
        publisher.publish(feed, [record])
        if feed == "odds":
            games[record["game_id"]] += 1
    publisher.close(60)
    health = HealthReporter(settings, "producer:simulator")
    health.emit({"source_up": 1.0, "records_per_s": games.total() / sim_seconds})
    health.flush()

    from lakehouse.spark import build_spark_session

    run_jobs(settings, ["aggregates", "gold"], available_now=True)  # health samples included
    build_spark_session(settings).stop()
    return games.total(), start, games.most_common(1)[0][0]


def _topic_rows(query: DruidQuery, settings: Settings) -> dict[str, int]:
    """Rows per datasource once Druid holds every record of its topic."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(consumer_config(settings.kafka, group_id="bench-serving"))
    wanted = {}
    for agg in AGGREGATE_TYPES.values():
        parts = consumer.list_topics(agg.topic, timeout=10).topics[agg.topic].partitions
        wanted[agg.name] = sum(
            consumer.get_watermark_offsets(TopicPartition(agg.topic, p), timeout=10)[1] for p in parts
        )
    consumer.close()
    return {name: query.wait_queryable(name, n, timeout_s=300) for name, n in wanted.items()}


def up_with_supervisors(stack: Stack, settings: Settings) -> None:
    """Kafka and Druid up, with a running Kafka supervisor per aggregate."""
    stack.up(with_druid=True)
    with Overlord(settings.druid.overlord_url) as overlord:
        overlord.apply_all(all_specs(settings.kafka).values())
        for name in overlord.ids():
            overlord.wait_running(name)


@bench_command("serving")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-seconds", type=float, default=300, help="simulated market seconds to load")
    parser.add_argument("--batch", type=int, default=4000, help="quotes per aggregates micro-batch")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each query")
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        settings = _settings(Path(tmp), args.batch)
        stack = Stack(settings)
        try:
            up_with_supervisors(stack, settings)
            began = time.perf_counter()
            quotes, start, game = _load(settings, args.sim_seconds)
            loaded_s = time.perf_counter() - began
            with DruidQuery(settings.druid.broker_url) as druid:
                rows = _topic_rows(druid, settings)
                t0 = start.replace(second=0, microsecond=0) - timedelta(minutes=1)
                t1 = datetime.now(UTC) + timedelta(minutes=2)
                timings: dict[tuple[str, str], list[float]] = {}
                empty: list[str] = []
                for path in sorted(JSON_DIR.glob("*.json")):
                    for v in iter_variable_queries(path, t0, t1, {"game": game}):
                        timings[(path.stem, f"${v.name}")] = _time(
                            functools.partial(druid.sql, v.sql), args.runs
                        )
                    for q in iter_panel_queries(path, t0, t1, {"game": game}):
                        if not druid.sql(q.sql):
                            empty.append(f"{q.dashboard} / {q.panel_title}")
                        key = (q.dashboard, q.panel_title + ("" if q.ref_id == "A" else f" [{q.ref_id}]"))
                        timings[key] = _time(functools.partial(druid.sql, q.sql), args.runs)
            rss, per_service = _rss_gib(stack)
        finally:
            stack.down()

    every = [t for values in timings.values() for t in values]
    print(
        f"loaded: {quotes:,} simulator quotes ({args.sim_seconds:.0f} simulated s) through the aggregates job"
    )
    print(f"  in {loaded_s:.0f} s; Druid rows: " + ", ".join(f"{n} {c:,}" for n, c in rows.items()))
    print(f"Druid resident memory after the queries: {rss:.2f} GiB ({per_service} MiB)")
    print(f"\npanel and variable query latency, {args.runs} runs each after a warm-up:")
    for dashboard in sorted({d for d, _ in timings}):
        mine = [t for (d, _), values in timings.items() if d == dashboard for t in values]
        count = sum(1 for d, _ in timings if d == dashboard)
        p50, p95 = statistics.median(mine) * 1000, _pct(mine, 0.95) * 1000
        print(f"  {dashboard:22} {count:3} queries   p50 {p50:5.0f} ms   p95 {p95:5.0f} ms")
    p95 = _pct(every, 0.95)
    verdict = "met" if p95 <= TARGET_P95_S else "MISSED"
    print(
        f"  {'all':22} {len(timings):3} queries   p50 {statistics.median(every) * 1000:5.0f} ms   "
        f"p95 {p95 * 1000:5.0f} ms  (target {TARGET_P95_S * 1000:.0f} ms: {verdict})"
    )
    print("slowest (p95):")
    slowest = sorted(timings.items(), key=lambda kv: -_pct(kv[1], 0.95))[:5]
    for (dashboard, title), values in slowest:
        print(
            f"  {dashboard} / {title}: p50 {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {_pct(values, 0.95) * 1000:.0f} ms"
        )
    if empty:
        print(f"panels with no rows on this data ({len(empty)}): " + "; ".join(empty))


if __name__ == "__main__":
    main()
