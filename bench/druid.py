"""Druid serving layer: start-up, memory, produce-to-queryable latency and SQL query latency.

    .venv/bin/python -m bench.druid [--samples 40] [--queries 40] [--rows 4000]

Starts its own Kafka and Druid (`Stack.up(with_druid=True)`, temporary folder, free ports),
applies the supervisors, loads `--rows` sample rows per aggregate, then:

* produce-to-queryable: one record with a unique marker produced to an aggregate topic (the
  five in turn), Druid SQL polled every 20 ms until the row is visible; target p95 <= 10 s;
* query latency: representative dashboard-style SQL through `serving.query`, each run
  `--queries` times after one warm-up; target p95 <= 500 ms.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Producer

from bench.report import bench_command
from infra.stack import Stack
from infra.stack.druid import druid_settings_on_free_ports
from infra.stack.process import free_port
from lakehouse.config import KafkaSettings, Settings
from lakehouse.kafka import producer_config
from lakehouse.log import configure_logging
from lakehouse.schemas import AGGREGATE_TYPES, AggregateType
from serving.overlord import Overlord
from serving.query import DruidQuery
from serving.specs import all_specs
from tests.support.samples import marker_value, sample_record

QUERIES = {
    "live board (latest price per book/selection of a game)": """
        SELECT bookmaker, selection, LATEST_BY(price, __time) AS price, MAX(__time) AS last_seen
        FROM market_prices_live WHERE game_id = %(game)s
        GROUP BY bookmaker, selection""",
    "1m bars of a game (best price, fair probability)": """
        SELECT __time, selection, MAX(best_price) AS best, AVG(fair_prob_shin) AS fair
        FROM market_agg_1m WHERE game_id = %(game)s AND __time >= CURRENT_TIMESTAMP - INTERVAL '1' DAY
        GROUP BY 1, 2 ORDER BY 1""",
    "open arbitrages by return": """
        SELECT arb_id, game_id, LATEST_BY(guaranteed_return, __time) AS ret
        FROM arbitrage_opportunities WHERE status = 'open'
        GROUP BY 1, 2 ORDER BY ret DESC LIMIT 20""",
    "bookmaker margins (avg over the last hour)": """
        SELECT bookmaker, AVG(bookmaker_margin) AS margin, COUNT(*) AS bars
        FROM market_agg_1m WHERE __time >= CURRENT_TIMESTAMP - INTERVAL '1' HOUR
        GROUP BY 1 ORDER BY 2""",
    "steam moves per minute and direction": """
        SELECT TIME_FLOOR(__time, 'PT1M') AS bucket, direction, COUNT(*) AS moves
        FROM steam_moves GROUP BY 1, 2 ORDER BY 1 DESC LIMIT 60""",
    "pipeline health (latest value per metric)": """
        SELECT component, metric, LATEST_BY("value", __time) AS v FROM pipeline_health GROUP BY 1, 2""",
}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _rss_gib(stack: Stack) -> tuple[float, str]:
    services = stack.druid.status()
    per = ", ".join(f"{s.name} {s.rss_mib:.0f}" for s in services if s.rss_mib)
    return sum(s.rss_mib or 0 for s in services) / 1024, per


def _send(producer: Producer, agg: AggregateType, record: dict) -> None:
    """Keyed as the stream keys them (the compacted live-price topic refuses keyless records)."""
    key = ":".join(str(record[k]) for k in agg.key)
    producer.produce(agg.topic, key=key.encode(), value=json.dumps(record).encode())


def _load(producer: Producer, marker: str, rows: int) -> None:
    """`rows` sample records per aggregate, spread over the last hour."""
    now = datetime.now(UTC)
    for agg in AGGREGATE_TYPES.values():
        for i in range(rows):
            _send(producer, agg, sample_record(agg, marker, i, now - timedelta(seconds=3600 * i / rows)))
            producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("sample rows not delivered to Kafka within 120 s")


def _produce_to_queryable(producer: Producer, query: DruidQuery, samples: int) -> dict[str, list[float]]:
    """Seconds from produce() to the row answering a SQL query, per aggregate."""
    out: dict[str, list[float]] = {agg.name: [] for agg in AGGREGATE_TYPES.values()}
    aggs = list(AGGREGATE_TYPES.values())
    for n in range(samples):
        agg = aggs[n % len(aggs)]
        marker = uuid.uuid4().hex[:12]
        record = sample_record(agg, marker)
        column = "component" if agg.name == "pipeline_health" else "game_id"
        sql = f'SELECT COUNT(*) AS n FROM "{agg.name}" WHERE "{column}" = %(m)s'
        start = time.perf_counter()
        _send(producer, agg, record)
        producer.flush(10)
        while query.sql(sql, {"m": marker_value(agg, marker)})[0]["n"] < 1:
            if time.perf_counter() - start > 60:
                raise TimeoutError(f"{agg.name}: record not queryable after 60 s")
            time.sleep(0.02)
        out[agg.name].append(time.perf_counter() - start)
    return out


def _time(run: Callable[[], object], n: int) -> list[float]:
    run()  # warm-up: first planning and segment loads
    times = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


@bench_command("druid")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40, help="produce-to-queryable measurements")
    parser.add_argument("--queries", type=int, default=40, help="runs of each SQL query")
    parser.add_argument("--rows", type=int, default=4000, help="sample rows loaded per aggregate")
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="bench-druid-") as tmp:
        settings = Settings(
            state_dir=Path(tmp),
            kafka=KafkaSettings(port=free_port(), controller_port=free_port()),
            druid=druid_settings_on_free_ports(),
        )
        stack = Stack(settings)
        try:
            t0 = time.perf_counter()
            stack.up(with_druid=True)
            started = time.perf_counter() - t0
            druid_started = stack.druid.timings["ready"]
            rss_idle, per_service = _rss_gib(stack)
            with Overlord(settings.druid.overlord_url) as overlord:
                overlord.apply_all(all_specs(settings.kafka).values())
                for name in overlord.ids():
                    overlord.wait_running(name)
            producer = Producer(producer_config(settings.kafka, client_id="bench-druid", **{"linger.ms": 0}))
            query = DruidQuery(settings.druid.broker_url)
            load_marker = uuid.uuid4().hex[:8]
            _load(producer, load_marker, args.rows)
            for agg in AGGREGATE_TYPES.values():
                query.wait_queryable(agg.name, args.rows, timeout_s=120)
            latencies = _produce_to_queryable(producer, query, args.samples)
            game = marker_value(AGGREGATE_TYPES["market_1m"], load_marker)
            timings = {
                title: _time(functools.partial(query.sql, sql, {"game": game}), args.queries)
                for title, sql in QUERIES.items()
            }
            rss_loaded, per_service_loaded = _rss_gib(stack)
        finally:
            stack.down()

    every = [s for values in latencies.values() for s in values]
    print(f"stack up --with druid (Kafka + topics + Druid): {started:.1f} s")
    print(f"Druid start (ZooKeeper + 4 services, healthy and answering SQL): {druid_started:.1f} s")
    print(f"resident memory after start: {rss_idle:.2f} GiB ({per_service} MiB)")
    print(f"resident memory after load and queries: {rss_loaded:.2f} GiB ({per_service_loaded} MiB)")
    print(f"\nproduce-to-queryable over {len(every)} records ({args.rows} rows per datasource loaded):")
    for name, values in latencies.items():
        print(f"  {name:24} p50 {_pct(values, 0.5) * 1000:6.0f} ms   p95 {_pct(values, 0.95) * 1000:6.0f} ms")
    p95 = _pct(every, 0.95)
    verdict = "met" if p95 <= 10 else "MISSED"
    p50 = _pct(every, 0.5)
    print(f"  {'all':24} p50 {p50 * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms  (target 10 s: {verdict})")
    print(f"\nSQL query latency, {args.queries} runs each:")
    worst = 0.0
    for title, values in timings.items():
        worst = max(worst, _pct(values, 0.95))
        p50, p95 = statistics.median(values) * 1000, _pct(values, 0.95) * 1000
        print(f"  {title:56} p50 {p50:5.0f} ms   p95 {p95:5.0f} ms")
    print(f"  worst p95 {worst * 1000:.0f} ms (target 500 ms: {'met' if worst <= 0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
