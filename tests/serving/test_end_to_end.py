"""The serving layer end to end: simulator -> Kafka -> aggregates job -> Kafka -> Druid -> dashboards.

One streaming run serves every test (module fixture `run`): the session's Druid gets every
supervisor (pointed at the session broker), the aggregates and gold jobs start on the session's
Spark and lake, the live-market simulator publishes through the project's publisher, and once the
aggregates have consumed the last quote and gold has drained, the tests compare

* each Druid datasource with its topic, record for record (Druid reads Kafka exactly once), and
  the topic's latest record per key with the gold Iceberg table (the topics re-emit a row on every
  update; gold keeps the latest),
* every panel and variable query of every dashboard, rendered as Grafana sends it, run on Druid,
  and each dashboard's checked panel with `dashboards.checked` computed from the topics' records.

Simulated data (`SIM`): seed 42, two games per sport (EPL, NFL, NBA) kicking off 10 s apart and
played at 60x match speed, 120 simulated seconds (every game plays to full time), about 7,400
quotes. Scores move the latent price in jumps while slow books still quote the old one, so the
board goes through arbitrages (about 40 windows by `producers.simulator.arbitrage_windows`, half
of them open for 4 simulated seconds or more, in h2h, spreads and totals; the job sees ~20, half
closed by the end) and steam moves (about 100 by `lakehouse.market.detect_steam`). Quotes are
paced at `SPEEDUP` simulated seconds per wall second so micro-batches see the board between
quotes, as live; produced all at once, a batch would only see the final board and no
short-lived arbitrage.
The simulated clock starts `SIM_SECONDS` before wall time, so event times are recent and one
dashboard time range covers both event-time (`window_start`) and processing-time datasources.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from dashboards.build import JSON_DIR
from dashboards.queries import (
    iter_panel_queries,
    iter_variable_queries,
    load,
    panel_query,
    panels,
    variable_definitions,
)
from infra.stack.druid import DruidCluster
from infra.stack.kafka import KafkaBroker
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, KafkaSettings, Settings
from lakehouse.health import HealthReporter
from lakehouse.schemas import AGGREGATE_TYPES, AggregateType
from lakehouse.schemas.fields import BOOLEAN, TIMESTAMP
from lakehouse.topics import feed_topic
from producers.publisher import Publisher
from producers.simulator import Simulator, arbitrage_windows
from serving.overlord import Overlord
from serving.query import DruidQuery
from serving.specs import all_specs
from streaming.gold import GOLD
from streaming.runner import run_jobs, stop_between_batches
from tests.support.dashboard_checks import CHECKS

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SEED = 42
SIM_SECONDS = 120
SIM = {"games_per_sport": 2, "game_speed": 60.0, "first_kickoff_s": 10.0, "kickoff_interval_s": 10.0}
SPEEDUP = 4.0  # simulated seconds per wall second: ~30 s of producing
INVALID_QUOTES = 3  # dead-lettered by the publisher, reported as the simulator's dead_letters

AGGREGATES = {agg.name: agg for agg in AGGREGATE_TYPES.values()}
GOLD_AGGREGATES = [AGGREGATES[name] for name in GOLD]
DASHBOARDS = sorted(p.stem for p in JSON_DIR.glob("*.json"))

# Panel columns that may be null in every row of this run, and why (rows are always required).
ALWAYS_NULL_OK = {
    # The aggregates job dead-letters nothing itself (the silver job does and is not run here).
    ("pipeline_health", "Streaming jobs", "dead_letters"),
}


@dataclass
class Run:
    """What one streaming run left behind, for the tests to compare."""

    settings: Settings
    query: DruidQuery
    games: set[str]
    sim_start: datetime
    wall_start: datetime
    time_from: datetime
    time_to: datetime
    topics: dict[str, list[dict[str, Any]]]  # aggregate name -> every record on its topic
    sim_arbitrages: int
    quotes: int
    timings: dict[str, float] = field(default_factory=dict)

    def gold(self, name: str) -> list[dict[str, Any]]:
        table = load_catalog(self.settings).load_table(GOLD[name])
        return [r for r in table.scan().to_arrow().to_pylist() if r["game_id"] in self.games]

    def druid(self, name: str) -> list[dict[str, Any]]:
        return self.query.sql(
            f'SELECT * FROM "{name}" WHERE game_id IN (%(games)s)', {"games": sorted(self.games)}
        )


# -- Kafka ---------------------------------------------------------------------------------------


def _consumer(bootstrap: str) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": f"e2e-{uuid.uuid4().hex}"})


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = _consumer(bootstrap)
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    finally:
        consumer.close()


def _read_topic(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every record on the topic in offset order, from the beginning to the current end (what Druid
    ingests), each with ``published_at``: its Kafka timestamp, as Druid keeps it."""
    end = _end_offsets(bootstrap, topic)
    wanted = sum(end.values())
    consumer = _consumer(bootstrap)
    consumer.assign([TopicPartition(topic, p, 0) for p in end])
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while len(out) < wanted and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=5000, timeout=0.5):
            assert message.error() is None, message.error()
            if message.offset() < end[message.partition()]:
                out.append(json.loads(message.value()) | {"published_at": message.timestamp()[1]})
    consumer.close()
    assert len(out) == wanted, f"{topic}: read {len(out)} of {wanted} records"
    return out


# -- producing -----------------------------------------------------------------------------------


def _paced(stream: Iterable[tuple[str, dict[str, Any]]], sim_start: datetime) -> Iterator[tuple[str, dict]]:
    """Release each record when the wall clock reaches its simulated time divided by SPEEDUP."""
    began = time.monotonic()
    for feed, record in stream:
        due = (datetime.fromisoformat(record["event_time"]) - sim_start).total_seconds() / SPEEDUP
        wait = began + due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        yield feed, record


def _simulate(settings: Settings, sim_start: datetime) -> tuple[int, int, set[str]]:
    """Publish the simulated market; returns quotes sent, arbitrage windows seen, game ids."""
    publisher = Publisher(settings.kafka, client_id="simulator")
    health = HealthReporter(settings, "producer:simulator")
    games: set[str] = set()
    sent = Counter[str]()
    started = time.monotonic()

    def tap(stream: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
        last_report = time.monotonic()
        for feed, record in stream:
            sent[feed] += publisher.publish(feed, [record]).sent
            if feed == "odds":
                games.add(record["game_id"])
                if sent["odds"] == 1000:  # a few malformed quotes, as a real feed sends
                    bad = [{**record, "event_id": f"bad-{i}", "price": 0.95} for i in range(INVALID_QUOTES)]
                    publisher.publish("odds", bad)
            if time.monotonic() - last_report >= 5.0:
                last_report = time.monotonic()
                health.emit({"source_up": 1.0, "records_per_s": sent["odds"] / (last_report - started)})
            yield feed, record

    sim = Simulator(seed=SEED, start=sim_start, **SIM)
    windows, _ = arbitrage_windows(tap(_paced(sim.run(SIM_SECONDS), sim_start)))
    assert publisher.flush(60) == 0
    publisher.close()
    assert publisher.stats.dead_lettered["odds"] == INVALID_QUOTES
    health.emit(
        {
            "source_up": 1.0,
            "records_per_s": sent["odds"] / (time.monotonic() - started),
            "dead_letters": float(INVALID_QUOTES),
        }
    )
    assert health.flush() == 0
    return sent["odds"], len(windows), games


def _broker_outage(broker: KafkaBroker, after_s: float, timings: dict[str, float]) -> None:
    time.sleep(after_s)
    began = time.monotonic()
    broker.kill()
    time.sleep(5)
    broker.start()
    timings["broker down and back"] = time.monotonic() - began


def _polled_sources(settings: Settings) -> None:
    """Health of two polled API sources, which the simulator cannot report: it has no API quota,
    no freshness of its own (its event times are simulated) and is never down.  One source is up
    with its quota falling and two dead letters, one is down, so "Sources down", "Rate-limit
    remaining" and the checked "Producer source health" panel have real values to show."""
    odds_api = HealthReporter(settings, "producer:the_odds_api")
    espn = HealthReporter(settings, "producer:espn")
    odds_api.emit({"source_up": 1.0, "rate_limit_remaining": 480.0, "freshness_s": 6.0})
    espn.emit({"source_up": 1.0, "freshness_s": 4.0})
    time.sleep(0.05)  # later samples of the same metric must not share the millisecond
    odds_api.emit(
        {"rate_limit_remaining": 470.0, "records_per_s": 12.5, "dead_letters": 2.0, "freshness_s": 3.5}
    )
    espn.emit({"source_up": 0.0})
    assert odds_api.flush() == 0 and espn.flush() == 0


def _wait_consumed(spark: Any, bootstrap: str, topic: str, timeout: float) -> None:
    """Wait until the aggregates query's last batch ended at the topic's end offsets."""
    end = {str(p): o for p, o in _end_offsets(bootstrap, topic).items()}
    deadline = time.monotonic() + timeout
    reached: dict[str, int] = {}
    while time.monotonic() < deadline:
        query = next((q for q in spark.streams.active if q.name == "aggregates"), None)
        assert query is not None, "the aggregates query stopped"
        progress = query.lastProgress
        if progress is not None and progress.sources:
            reached = json.loads(progress.sources[0].endOffset or "{}").get(topic, {})
            if all(reached.get(p, -1) >= o for p, o in end.items()):
                return
        time.sleep(0.5)
    raise AssertionError(f"aggregates job did not consume {topic} to {end} within {timeout:.0f}s: {reached}")


def _wait_druid(query: DruidQuery, topics: dict[str, list[dict[str, Any]]], timeout: float) -> None:
    """Wait until every datasource holds exactly its topic's records (Druid reads Kafka exactly once)."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = {name: query.count(name) for name in topics}
        if all(counts[name] >= len(records) for name, records in topics.items()):
            break
        time.sleep(1.0)
    assert counts == {name: len(records) for name, records in topics.items()}, "Druid rows != topic records"


@pytest.fixture(scope="module")
def run(
    spark, lake_settings: Settings, druid_cluster: DruidCluster, kafka_broker: KafkaBroker, tmp_path_factory
) -> Iterator[Run]:
    timings: dict[str, float] = {}
    began = time.monotonic()
    with Overlord(druid_cluster.overlord_url) as overlord:
        overlord.apply_all(all_specs(KafkaSettings(bootstrap_servers=kafka_broker.bootstrap)).values())
        for name in AGGREGATES:
            overlord.wait_running(name, timeout=120)
    # The session's Druid may hold other modules' records: it must mirror the topics before the
    # run, so a stalled supervisor fails here, named, rather than as a short count at the end.
    with DruidQuery(druid_cluster.broker_url) as query:
        before = {name: _read_topic(kafka_broker.bootstrap, agg.topic) for name, agg in AGGREGATES.items()}
        _wait_druid(query, before, timeout=120)
    timings["supervisors"] = time.monotonic() - began

    settings = lake_settings.model_copy(
        update={
            "state_dir": tmp_path_factory.mktemp("e2e-state"),
            "catalog": CatalogSettings(
                local_warehouse=lake_settings.warehouse_path, local_catalog_db=lake_settings.catalog_db_path
            ),
            "streaming": lake_settings.streaming.model_copy(update={"starting_offsets": "latest"}),
        }
    )
    runner = threading.Thread(target=run_jobs, args=(settings, ["aggregates", "gold"]), daemon=True)
    runner.start()
    deadline = time.monotonic() + 120
    while not any(q.name == "aggregates" and q.lastProgress for q in spark.streams.active):
        assert runner.is_alive() and time.monotonic() < deadline, "the aggregates job did not start"
        time.sleep(0.5)
    timings["job started"] = time.monotonic() - began

    wall_start = datetime.now(UTC)
    sim_start = wall_start - timedelta(seconds=SIM_SECONDS)
    # Mid-run the broker is SIGKILLed and restarted: the producers buffer and retry, the
    # aggregates' Kafka writes wait or fail their batch and retry; no row may be lost on the way
    # to Druid or gold (the tests below compare Druid, the topics and gold row for row).
    outage = threading.Thread(target=_broker_outage, args=(kafka_broker, SIM_SECONDS / SPEEDUP / 2, timings))
    outage.start()
    quotes, sim_arbitrages, games = _simulate(settings, sim_start)
    outage.join()
    _polled_sources(settings)
    timings["simulated"] = time.monotonic() - began
    try:
        _wait_consumed(spark, kafka_broker.bootstrap, feed_topic("odds"), timeout=120)
    finally:
        for q in spark.streams.active:
            stop_between_batches(q)
        runner.join(120)
    assert not runner.is_alive()
    run_jobs(settings, ["aggregates", "gold"], available_now=True)  # gold takes the last records
    timings["stream drained"] = time.monotonic() - began

    topics = {name: _read_topic(kafka_broker.bootstrap, agg.topic) for name, agg in AGGREGATES.items()}
    with DruidQuery(druid_cluster.broker_url) as query:
        _wait_druid(query, topics, timeout=120)
        timings["druid caught up"] = time.monotonic() - began
        now = datetime.now(UTC)
        yield Run(
            settings=settings,
            query=query,
            games=games,
            sim_start=sim_start,
            wall_start=wall_start,
            time_from=sim_start.replace(second=0, microsecond=0) - timedelta(minutes=1),
            time_to=now.replace(second=0, microsecond=0) + timedelta(minutes=2),
            topics=topics,
            sim_arbitrages=sim_arbitrages,
            quotes=quotes,
            timings=timings,
        )
    arbs = _latest_per_key(
        AGGREGATES["arbitrage_opportunities"],
        (r for r in topics["arbitrage_opportunities"] if r["game_id"] in games),
    )
    steam = sum(1 for r in topics["steam_moves"] if r["game_id"] in games)
    print(
        f"\nend-to-end: {quotes} quotes, {sim_arbitrages} simulated arbitrage windows -> "
        f"{len(arbs)} arbitrages ({Counter(a['status'] for a in arbs.values())}), {steam} steam moves"
    )
    print("end-to-end timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


# -- comparing rows ------------------------------------------------------------------------------


def _at(value: Any) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at.astimezone(UTC)


def _millis(at: datetime) -> datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _canonical(agg: AggregateType, row: dict[str, Any], druid: bool) -> dict[str, Any]:
    """A gold, topic or Druid row in one shape: timestamps as UTC datetimes (the time column to the
    millisecond, as Druid's `__time`), booleans as bool, everything else as is."""
    out: dict[str, Any] = {}
    for f in agg.fields:
        if f.name == agg.time_column:
            value = _at(row["__time"]) if druid else _millis(_at(row[f.name]))
        else:
            value = row[f.name]
            if value is not None and f.type is TIMESTAMP:
                value = _at(value)
            elif value is not None and f.type is BOOLEAN:
                value = bool(value)
        out[f.name] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _key(agg: AggregateType, row: dict[str, Any]) -> tuple:
    return tuple(row[k] for k in agg.key)


def _latest_per_key(agg: AggregateType, rows: Iterable[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """A consumer's view of a topic: the last record of each key in offset order, retractions dropped."""
    latest: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        latest[_key(agg, row)] = row
    return {k: r for k, r in latest.items() if not r.get("retracted")}


def _assert_rows_equal(agg: AggregateType, got: dict[tuple, dict], expected: dict[tuple, dict]) -> None:
    assert got.keys() == expected.keys(), (
        f"{agg.name}: {len(got.keys() - expected.keys())} keys only in the first, "
        f"{len(expected.keys() - got.keys())} only in the second"
    )
    for k, row in expected.items():
        diff = {c: (got[k][c], v) for c, v in row.items() if not _same(got[k][c], v)}
        assert not diff, f"{agg.name} {k}: rows differ on {diff}"


def _same_rows(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    """Equal as multisets of rows, floats to 1e-9 relative (Druid orders nulls its own way)."""

    def order(row: dict[str, Any]) -> tuple:
        return tuple(
            (k, v is None, round(v, 6) if isinstance(v, float) else v or 0) for k, v in sorted(row.items())
        )

    if len(got) != len(expected):
        return False
    pairs = zip(sorted(got, key=order), sorted(expected, key=order), strict=True)
    return all(g.keys() == e.keys() and all(_same(g[c], e[c]) for c in g) for g, e in pairs)


# -- the stream ----------------------------------------------------------------------------------


def test_the_run_produced_every_aggregate_kind(run: Run) -> None:
    mine = {
        name: [r for r in records if r.get("game_id") in run.games] for name, records in run.topics.items()
    }
    assert run.quotes > 5000 and len(run.games) == 6
    assert run.sim_arbitrages >= 20, "the simulated market should go through arbitrages"
    live_keys = {_key(AGGREGATES["market_prices_live"], r) for r in mine["market_prices_live"]}
    assert len(mine["market_prices_live"]) > len(live_keys) > 200  # prices re-emitted as they move
    assert {r["market"] for r in mine["market_agg_1m"]} == {"h2h", "spreads", "totals"}
    arbs = _latest_per_key(AGGREGATES["arbitrage_opportunities"], mine["arbitrage_opportunities"])
    assert Counter(a["status"] for a in arbs.values()).keys() == {"open", "closed"}, "want open and closed"
    assert len(arbs) >= 5 and {a["market"] for a in arbs.values()} >= {"h2h"}
    steam = mine["steam_moves"]
    assert {m["direction"] for m in steam} == {"shortening", "drifting"} and len(steam) >= 20
    health = [
        r
        for r in run.topics["pipeline_health"]
        if r["component"] == "stream:aggregates" and _at(r["observed_at"]) >= run.wall_start
    ]
    assert Counter(r["metric"] for r in health).keys() >= {
        "freshness_s",
        "input_rows",
        "processing_ms",
        "lag_records",
        "records_per_s",
    }
    assert all(r["value"] >= 0 for r in health if r["metric"] == "freshness_s")


@pytest.mark.parametrize("name", [agg.name for agg in GOLD_AGGREGATES])
def test_druid_holds_the_topic_and_gold_its_latest_row_per_key(run: Run, name: str) -> None:
    """Druid ingested every record of the topic once; gold is the topic's latest row per key."""
    agg = AGGREGATES[name]
    topic = [r for r in run.topics[name] if r["game_id"] in run.games]
    druid = [_canonical(agg, row, druid=True) for row in run.druid(name)]
    assert _same_rows(druid, [_canonical(agg, row, druid=False) for row in topic]), f"{name}: Druid != topic"
    gold = {_key(agg, r): r for r in (_canonical(agg, row, druid=False) for row in run.gold(name))}
    latest = _latest_per_key(agg, (_canonical(agg, row, druid=False) for row in topic))
    assert gold, f"gold.{name} has no rows of this run"
    _assert_rows_equal(agg, gold, latest)


def test_latest_price_per_key_in_druid_sql_equals_gold(run: Run) -> None:
    """The live board's own reading, Druid's LATEST_BY, gives gold's current price per key."""
    rows = run.query.sql(
        "SELECT game_id, market, bookmaker, selection, LATEST_BY(price, __time) AS price, "
        "COUNT(*) AS versions FROM market_prices_live WHERE game_id IN (%(games)s) GROUP BY 1, 2, 3, 4",
        {"games": sorted(run.games)},
    )
    agg = AGGREGATES["market_prices_live"]
    gold = {_key(agg, r): r["price"] for r in run.gold("market_prices_live")}
    assert {_key(agg, r): r["price"] for r in rows} == gold
    assert sum(r["versions"] for r in rows) > len(rows)  # prices were re-emitted on every update


def test_pipeline_health_has_the_jobs_freshness(run: Run) -> None:
    rows = run.query.sql(
        'SELECT COUNT(*) AS samples, MIN("value") AS low, MAX("value") AS high FROM pipeline_health '
        "WHERE component = 'stream:aggregates' AND metric = 'freshness_s' "
        "AND __time >= MILLIS_TO_TIMESTAMP(%(since)s)",
        {"since": int(run.wall_start.timestamp() * 1000)},
    )
    on_topic = [
        r
        for r in run.topics["pipeline_health"]
        if (r["component"], r["metric"]) == ("stream:aggregates", "freshness_s")
        and _millis(_at(r["observed_at"])) >= _millis(run.wall_start)
    ]
    assert rows[0]["samples"] == len(on_topic) > 0
    assert 0 <= rows[0]["low"] <= rows[0]["high"] < 60


def test_the_alert_rules_on_druid_equal_their_recomputation(run: Run, druid_cluster: DruidCluster) -> None:
    """Each alert rule's query, as Grafana sends it, on Druid: the stale-data and dead-letter numbers
    equal the same computed here from Druid's raw samples of the window, and no supervisor of
    this run is stalled (by the Overlord's own account), so none of them fires."""
    from dashboards.alerts import DEAD_LETTER_RATE, STALE_LIVE_DATA, STALLED_SUPERVISORS
    from serving.overlord import Overlord

    def expected(now: datetime) -> tuple[float | None, float | None]:
        recent = [
            (_at(r["__time"]), r) for r in samples if _at(r["__time"]) >= _millis(now - timedelta(minutes=15))
        ]
        latest: dict[str, tuple[datetime, float]] = {}
        for at, r in recent:
            job = r["component"] if r["component"].startswith("stream:") else None
            if job and r["metric"] == "freshness_s" and (job not in latest or at >= latest[job][0]):
                latest[job] = (at, r["value"])
        stale = max((v for _, v in latest.values()), default=None)
        dead = [
            r["value"]
            for at, r in recent
            if r["metric"] == "dead_letters" and at >= _millis(now - timedelta(minutes=10))
        ]
        return stale, (sum(dead) / 600.0 if dead else None)

    before = datetime.now(UTC)
    samples = run.query.sql(
        'SELECT __time, component, metric, "value" FROM pipeline_health '
        "WHERE __time >= CURRENT_TIMESTAMP - INTERVAL '20' MINUTE"
    )
    stale = run.query.sql(STALE_LIVE_DATA.sql)[0]["stalest_stream_s"]
    dead = run.query.sql(DEAD_LETTER_RATE.sql)[0]["dead_letters_per_s"]
    after = datetime.now(UTC)
    assert any(r["component"].startswith("stream:") for r in samples)
    assert (stale, dead) in {expected(before), expected(after)}
    assert stale is not None and not STALE_LIVE_DATA.fires(stale), stale
    assert not DEAD_LETTER_RATE.fires(dead), dead

    rows = run.query.sql(STALLED_SUPERVISORS.sql)  # Druid's system tables answer a count of none with no row
    count = STALLED_SUPERVISORS.number(rows[0]["stalled_supervisors"] if rows else None)
    with Overlord(druid_cluster.overlord_url) as overlord:
        states = overlord.states()
    stalled = [s.id for s in states if not s.suspended and (not s.healthy or s.detailed_state != "RUNNING")]
    assert states and count == len(stalled) == 0, states
    # The columns the rule reads say what the Overlord says, supervisor by supervisor.
    table = run.query.sql("SELECT supervisor_id, detailed_state, healthy, suspended FROM sys.supervisors")
    assert {
        (r["supervisor_id"], r["detailed_state"], r["healthy"] == 1, r["suspended"] == 1) for r in table
    } == {(s.id, s.detailed_state, s.healthy, s.suspended) for s in states}
    assert not STALLED_SUPERVISORS.fires(count)


# -- the dashboards ------------------------------------------------------------------------------


def _game(run: Run) -> str:
    """The game with the most h2h one-minute bars carrying a best price and a fair probability."""
    bars = Counter(
        r["game_id"]
        for r in run.topics["market_agg_1m"]
        if r["game_id"] in run.games and r["market"] == "h2h" and r["best_price"] and r["fair_prob_shin"]
    )
    return bars.most_common(1)[0][0]


def _dashboard(uid: str) -> dict[str, Any]:
    return dict(load(JSON_DIR / f"{uid}.json"))


@pytest.mark.parametrize("uid", DASHBOARDS)
def test_every_variable_query_runs_on_druid(run: Run, uid: str) -> None:
    for q in iter_variable_queries(_dashboard(uid), run.time_from, run.time_to, {"game": _game(run)}):
        values = [next(iter(r.values())) for r in run.query.sql(q.sql)]
        assert values and None not in values, f"{uid} ${q.name}: {values}"
        assert values == sorted(set(values)), f"{uid} ${q.name}: options must be distinct and sorted"
        if q.name == "game":
            assert run.games <= set(values)


def _variable_sets(uid: str, game: str) -> list[dict[str, str]]:
    """All for every variable that has it, the run's game, and each market in turn where one is chosen."""
    markets = variable_definitions(_dashboard(uid)).get("market")
    return [{"game": game} | ({"market": m} if m else {}) for m in (markets.options if markets else [None])]


@pytest.mark.parametrize("uid", DASHBOARDS)
def test_every_panel_query_runs_on_druid_and_returns_rows(run: Run, uid: str) -> None:
    for values in _variable_sets(uid, _game(run)):
        queries = list(iter_panel_queries(_dashboard(uid), run.time_from, run.time_to, values))
        assert queries
        for q in queries:
            rows = run.query.sql(q.sql)
            assert rows, f"{uid} / {q.panel_title} with {values}: no rows"
            exempt = {c for u, t, c in ALWAYS_NULL_OK if (u, t) == (uid, q.panel_title)}
            if values.get("market") == "h2h":
                exempt.add("point")  # h2h has no line
            for column in set(rows[0]) - exempt:
                assert any(r[column] is not None for r in rows), (
                    f"{uid} / {q.panel_title} with {values}: {column} always null"
                )
            _check_units(uid, q.panel_title, q.panel_type, set(rows[0]))


def _check_units(uid: str, title: str, panel_type: str, columns: set[str]) -> None:
    """A table's unit overrides name columns the query returns, and every fraction column (a margin
    or a return) is shown as a percentage, not as a raw fraction."""
    if panel_type != "table":
        return
    (panel,) = [p for p in panels(_dashboard(uid)) if p["title"] == title]
    units = {
        o["matcher"]["options"]: prop["value"]
        for o in panel.get("fieldConfig", {}).get("overrides", [])
        for prop in o["properties"]
        if prop["id"] == "unit"
    }
    assert set(units) <= columns, f"{uid} / {title}: units for columns it does not return"
    for column in columns:
        if re.search(r"(margin|return)$", column):
            assert units.get(column) == "percentunit", f"{uid} / {title}: {column} shown as a raw fraction"


@pytest.mark.parametrize("uid", sorted(CHECKS))
def test_checked_panel_on_druid_matches_the_reference(run: Run, uid: str) -> None:
    check = CHECKS[uid]
    board = _dashboard(uid)
    values = {"game": _game(run)} if uid == "line_movement_steam" else {}
    query = panel_query(board, check.panel_title, run.time_from, run.time_to, values)
    expected = check.expected(run.topics[check.aggregate.name], run.time_from, run.time_to, values)
    got = run.query.sql(query.sql)
    assert expected, f"{check.panel_title}: the reference is empty, nothing is checked"
    assert _same_rows(got, expected), f"{check.panel_title}:\n got {got}\n expected {expected}"


# -- the API's live endpoints on this run's Druid ----------------------------------------------------


def _api_parts(run: Run, **optional: Any) -> tuple[Any, str]:
    """The API's parts on this run's Druid and Kafka, with a fresh read key; ``optional``: the
    ``fanout`` and ``summariser`` of ``serving.api.app.Parts``."""
    from cli.api import KafkaIngestSink
    from lakehouse.config import ApiSettings
    from serving.api.app import Parts
    from serving.api.history import DuckDBHistory
    from serving.api.keys import KeyRing, new_key
    from serving.api.live import LiveStore

    key, entry = new_key("board", ("read",))
    settings = ApiSettings(keys=entry)
    parts = Parts(
        settings,
        KeyRing.from_settings(settings),
        LiveStore(run.query),
        DuckDBHistory(run.settings.duckdb_path),
        KafkaIngestSink(run.settings),
        **optional,
    )
    return parts, key


@pytest.fixture(scope="module")
def api(run: Run) -> Iterator[tuple[Any, str]]:
    from fastapi.testclient import TestClient

    from serving.api.app import create_app
    from serving.api.push import Fanout

    parts, key = _api_parts(run, fanout=Fanout(run.settings.kafka))
    with TestClient(create_app(parts)) as client:
        client.headers["X-API-Key"] = key
        assert parts.fanout is not None and parts.fanout.assigned.wait(60)
        yield client, key


def test_api_board_is_the_latest_price_per_book_with_best_prices_and_margins(run: Run, api) -> None:
    client, _ = api
    game = _game(run)
    board = client.get(f"/v1/games/{game}/board").json()
    latest = _latest_per_key(
        AGGREGATES["market_prices_live"],
        (r for r in run.topics["market_prices_live"] if r["game_id"] == game),
    )
    got = {(p["market"], p["bookmaker"], p["selection"]): p["price"] for p in board["prices"]}
    assert got == {(m, b, s): r["price"] for (_, m, b, s), r in latest.items()}
    assert all(p["stale_s"] >= 0 for p in board["prices"])
    # The h2h line, recomputed plainly: best price per selection, each full book's overround - 1.
    h2h = {(b, s): r["price"] for (_, m, b, s), r in latest.items() if m == "h2h"}
    (line,) = [ln for ln in board["lines"] if ln["market"] == "h2h"]
    for selection in line["selections"]:
        assert line["best_prices"][selection] == max(p for (_, s), p in h2h.items() if s == selection)
    books = {b for b, _ in h2h}
    full = {b for b in books if all((b, s) in h2h for s in line["selections"])}
    assert set(line["margins"]) == full
    for b in full:
        assert math.isclose(line["margins"][b], sum(1 / h2h[(b, s)] for s in line["selections"]) - 1)
    assert math.isclose(sum(line["fair_prob_shin"].values()), 1.0)
    assert client.get("/v1/games/no-such-game/board").status_code == 404


def test_api_arbitrage_lists_each_window_once_with_its_latest_state(run: Run, api) -> None:
    client, _ = api
    agg = AGGREGATES["arbitrage_opportunities"]
    expected = _latest_per_key(agg, (r for r in run.topics[agg.name] if r["game_id"] in run.games))

    def listed(query: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        offset: int | None = 0
        while offset is not None:  # every page, as a client would walk them
            page = client.get(f"/v1/arbitrage?limit=7&offset={offset}{query}").json()
            out |= {w["arb_id"]: w for w in page["items"] if w["game_id"] in run.games}
            offset = page["next_offset"]
        return out

    every = listed("")
    assert set(every) == {k[0] for k in expected} and len(every) > 5
    for (arb_id,), row in expected.items():
        assert every[arb_id]["status"] == row["status"]
        assert math.isclose(every[arb_id]["guaranteed_return"], row["guaranteed_return"])
        assert every[arb_id]["bookmakers"] == row["bookmakers"]
    closed = listed("&status=closed")
    assert set(closed) == {a for a, w in every.items() if w["status"] == "closed"}
    cut = sorted(w["guaranteed_return"] for w in every.values())[len(every) // 2]
    assert set(listed(f"&min_return={cut}")) == {a for a, w in every.items() if w["guaranteed_return"] >= cut}


def test_api_movement_and_status(run: Run, api) -> None:
    client, _ = api
    game = _game(run)
    agg = AGGREGATES["market_agg_1m"]
    bars = _latest_per_key(agg, (r for r in run.topics[agg.name] if r["game_id"] == game))
    page = client.get(f"/v1/games/{game}/movement?limit=1000").json()
    assert page["total"] == len(bars) == len(page["items"])
    starts = [b["window_start"] for b in page["items"]]
    assert starts == sorted(starts)
    status = client.get("/status?minutes=60").json()
    assert "stream:aggregates" in status["components"]
    assert status["status"] in ("ok", "info", "warning", "critical") and status["headline"]


def test_api_polled_by_many_costs_one_druid_query_per_answer_lifetime(run: Run) -> None:
    """Thirty clients reading one board at once: one Druid query, the same bytes for all; once the
    answer's second has passed, the next read queries again."""
    import asyncio

    import httpx

    from serving.api.app import create_app
    from serving.api.live import LiveStore

    queries: list[str] = []

    class Counting:
        def sql(self, query: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
            queries.append(query)
            return run.query.sql(query, parameters)

    parts, key = _api_parts(run)
    parts.live = LiveStore(Counting())
    app = create_app(parts)
    game = _game(run)

    async def poll(clients: int) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            url = f"/v1/games/{game}/board"
            return await asyncio.gather(*(http.get(url, headers={"X-API-Key": key}) for _ in range(clients)))

    answers = asyncio.run(poll(30))
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1 and len(queries) == 1
    time.sleep(parts.settings.live_cache_ms / 1000 + 0.2)
    (again,) = asyncio.run(poll(1))
    assert again.status_code == 200 and len(queries) == 2


def test_status_reports_druid_ingestion_lag_and_a_suspended_supervisor(run: Run, druid_cluster) -> None:
    """/status asks the Overlord: every aggregate's supervisor with its lag; a supervisor created
    suspended (a datasource of its own, so the run's ingestion is untouched) is a finding."""
    from fastapi.testclient import TestClient

    from serving.api.app import create_app
    from serving.specs import supervisor_spec

    probe = AGGREGATES["steam_moves"]
    spec = supervisor_spec(probe, run.settings.kafka)
    spec["spec"]["dataSchema"]["dataSource"] = "status_probe"
    spec["spec"]["ioConfig"]["topic"] = "status.probe"
    spec["suspended"] = True
    with Overlord(druid_cluster.overlord_url) as overlord:
        overlord.apply(spec)
        try:
            parts, key = _api_parts(run, ingestion=overlord)
            with TestClient(create_app(parts)) as client:
                status = client.get("/status?minutes=60", headers={"X-API-Key": key}).json()
        finally:
            overlord.terminate("status_probe")
    ingestion = {i["datasource"]: i for i in status["ingestion"]}
    assert set(AGGREGATES) | {"status_probe"} <= set(ingestion)
    for name in AGGREGATES:  # the Overlord refreshes lags every 30 s: at most the run's records
        lag = ingestion[name]["lag_records"]
        assert ingestion[name]["state"] == "RUNNING" and 0 <= lag <= len(run.topics[name]), ingestion[name]
    assert {
        "severity": "warning",
        "component": "druid:status_probe",
        "message": "Druid ingestion of status_probe is suspended: no new rows reach it",
    } in status["findings"]
    assert "druid:market_prices_live" in status["components"]


def test_api_pushes_a_snapshot_then_each_update_over_the_websocket(run: Run, api) -> None:
    """Subscribed to a game, a client gets the board as Druid has it, then a record produced to
    the aggregate topic; a second game's records on the same topic reach only its subscribers."""
    from confluent_kafka import Producer
    from starlette.websockets import WebSocketDisconnect

    client, key = api
    game = _game(run)
    pushed = f"ws-{uuid.uuid4().hex[:8]}"  # a game of its own: Druid's rows of the run stay as they were
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json({"key": key, "subscribe": [f"game:{game}", f"game:{pushed}"]})
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot" and snapshot["channels"][f"game:{pushed}"] is None
        board = client.get(f"/v1/games/{game}/board").json()

        def prices(b: dict[str, Any]) -> set[tuple]:
            return {(p["market"], p["bookmaker"], p["selection"], p["price"]) for p in b["prices"]}

        assert prices(snapshot["channels"][f"game:{game}"]) == prices(board)
        template = next(r for r in run.topics["market_prices_live"] if r["game_id"] == game)
        producer = Producer({"bootstrap.servers": run.settings.kafka.bootstrap})
        sent_at = time.monotonic()
        for price in (3.1, 3.2):  # two versions of one key: the client may get both or the latest
            record = {**template, "game_id": pushed, "price": price, "updated_at": _now_text()}
            producer.produce("agg.market_prices_live", key=pushed, value=json.dumps(record).encode())
        other = {**template, "game_id": f"{pushed}-other", "updated_at": _now_text()}
        producer.produce("agg.market_prices_live", key=pushed, value=json.dumps(other).encode())
        assert producer.flush(10) == 0
        seen: list[float] = []
        while 3.2 not in seen:
            message = ws.receive_json()
            assert message["type"] == "updates"
            assert {u["record"]["game_id"] for u in message["updates"]} == {pushed}
            seen += [u["record"]["price"] for u in message["updates"]]
        latency = time.monotonic() - sent_at
        print(f"\nwebsocket: produced -> received in {latency:.3f} s")
        assert latency < 5.0
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json({"key": "not-a-key", "subscribe": ["arbitrage"]})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_status_summary_by_a_language_model_is_optional(run: Run) -> None:
    """A local stand-in for an OpenAI-compatible endpoint words the rules' findings; when it fails,
    /status still answers with the rules' report and says why the summary is missing."""
    from fastapi.testclient import TestClient
    from pydantic import SecretStr
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from serving.api.app import create_app
    from serving.api.summary import ChatSummariser
    from tests.support.http import served

    asked: list[tuple[dict[str, Any], str]] = []
    failing = {"now": False}

    async def complete(request: Request) -> JSONResponse:
        asked.append((await request.json(), request.headers.get("authorization", "")))
        if failing["now"]:
            return JSONResponse({"error": "overloaded"}, status_code=503)
        answer = {"role": "assistant", "content": "  All good; watch the lag.  "}
        return JSONResponse({"choices": [{"message": answer}]})

    model = Starlette(routes=[Route("/v1/chat/completions", complete, methods=["POST"])])

    with served(model) as base:
        summariser = ChatSummariser(f"{base}/v1/chat/completions", "local-model", SecretStr("sk-local"))
        parts, key = _api_parts(run, summariser=summariser)
        with TestClient(create_app(parts)) as client:
            status = client.get("/status", headers={"X-API-Key": key}).json()
            assert status["summary"] == "All good; watch the lag."
            body, auth = asked[-1]
            assert body["model"] == "local-model" and auth == "Bearer sk-local"
            facts = json.loads(body["messages"][1]["content"])
            assert facts["headline"] == status["headline"] and facts["findings"] == status["findings"]
            failing["now"] = True
            degraded = client.get("/status", headers={"X-API-Key": key})
            assert degraded.status_code == 200 and degraded.json()["summary"] is None
            assert "503" in degraded.json()["summary_error"] and degraded.json()["headline"]


def test_the_board_in_a_browser_shows_a_pushed_price_within_two_seconds(run: Run) -> None:
    """Last in the module: it publishes a new price for one of the run's games (Druid's rows of
    that game then differ from the run's topics, which the tests above compare)."""
    from confluent_kafka import Producer

    from lakehouse.config import PROJECT_ROOT
    from serving.api.app import create_app
    from serving.api.push import Fanout
    from tests.support.browser import chromium, open_board, wait_for
    from tests.support.http import served

    fanout = Fanout(run.settings.kafka)
    parts, key = _api_parts(run, fanout=fanout)
    game = _game(run)
    agg = AGGREGATES["market_prices_live"]
    latest = _latest_per_key(agg, (r for r in run.topics[agg.name] if r["game_id"] == game))
    shown = next(r for r in latest.values() if r["market"] == "h2h")
    cell = f"h2h|{shown['bookmaker']}|{shown['selection']}"
    price = round(shown["price"] + 0.37, 2)
    with served(create_app(parts)) as base, chromium() as browser:
        open_board(browser, base, key)
        item = f'li[data-game="{game}"]'
        wait_for(browser, "document.querySelector(arguments[0])", 60, item)
        browser.execute_script("document.querySelector(arguments[0]).click()", item)
        wait_for(browser, "document.body.dataset.live === 'yes'", 30)
        wait_for(browser, 'document.querySelector(`td[data-key="${arguments[0]}"]`)', 30, cell)
        assert fanout.assigned.wait(60)
        record = {**shown, "price": price, "previous_price": shown["price"], "updated_at": _now_text()}
        producer = Producer({"bootstrap.servers": run.settings.kafka.bootstrap})
        producer.produce(agg.topic, key=game, value=json.dumps(record).encode())
        assert producer.flush(10) == 0
        sent = time.monotonic()
        wait_for(
            browser,
            '(document.querySelector(`td[data-key="${arguments[0]}"]`) || {}).textContent === arguments[1]',
            10,
            cell,
            f"{price:.2f}",
        )
        latency = time.monotonic() - sent
        shots = PROJECT_ROOT / ".local" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(shots / "board-live.png"))
        print(
            f"\nboard: pushed price shown {latency:.3f} s after Kafka acknowledged it; {shots}/board-live.png"
        )
        assert latency <= 2.0
        headline = browser.execute_script("return document.getElementById('status').textContent")
        assert headline and "refused" not in headline
