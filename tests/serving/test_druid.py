"""The serving layer on a real Druid cluster: supervisors as code, Kafka -> Druid, SQL and native queries.

One cluster per test session (`druid_cluster`, ~30 s to start on 2 cores); the tests share it
and its supervisors, each producing rows under its own marker. The last test drives the same
cluster through `lakehouse stack` and restarts it.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer
from pydruid.utils.aggregators import count, doublemax
from pydruid.utils.filters import Filter
from structlog.testing import capture_logs

from infra.stack.druid import DruidCluster
from infra.stack.kafka import KafkaBroker
from infra.stack.process import free_port, port_open, wait_until
from lakehouse.config import DruidSettings, KafkaSettings
from lakehouse.schemas import AGGREGATE_TYPES, AggregateType, Primitive, validate
from serving.overlord import Overlord, OverlordError, SupervisorState
from serving.query import DruidQuery, DruidQueryError, is_transient
from serving.specs import all_specs
from tests.support.samples import sample_batch, sample_record

pytestmark = pytest.mark.integration

PER_TYPE = 25
AGGREGATES = list(AGGREGATE_TYPES.values())


def _kafka(broker: KafkaBroker) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=broker.bootstrap)


def _marker_filter(agg: AggregateType, marker: str) -> tuple[str, dict[str, str]]:
    """SQL condition selecting one run's rows (the marker sits in game_id or component)."""
    if agg.name == "pipeline_health":
        return "component = %(m)s", {"m": f"producer:{marker}"}
    return "game_id LIKE %(m)s", {"m": f"2024-03-27:{marker}:%"}


def _produce(bootstrap: str, records: dict[str, list[dict[str, Any]]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    delivered: list[str] = []
    for name, rows in records.items():
        agg = next(a for a in AGGREGATES if a.name == name)
        for row in rows:
            validate(agg, row)  # only records the stream could have written
            producer.produce(
                agg.topic,
                key=":".join(str(row[k]) for k in agg.key),
                value=json.dumps(row).encode(),
                on_delivery=lambda err, msg: delivered.append("ok" if err is None else str(err)),
            )
    assert producer.flush(30) == 0
    assert delivered == ["ok"] * sum(len(r) for r in records.values())


def _as_druid_row(agg: AggregateType, record: dict[str, Any]) -> dict[str, Any]:
    """What Druid SQL returns for a produced record: __time to the ms, booleans 1/0, the rest as sent."""
    out: dict[str, Any] = {}
    for f in agg.fields:
        value = record[f.name]
        if f.name == agg.time_column:
            at = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
            out["__time"] = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        elif f.type is Primitive.BOOLEAN:
            out[f.name] = None if value is None else int(value)
        else:
            out[f.name] = value
    return out


def _canonical(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


@pytest.fixture(scope="module")
def overlord(druid_cluster: DruidCluster):
    with Overlord(druid_cluster.overlord_url) as client:
        yield client


@pytest.fixture(scope="module")
def query(druid_cluster: DruidCluster):
    with DruidQuery(druid_cluster.broker_url) as client:
        yield client


@pytest.fixture(scope="module")
def supervisors(overlord: Overlord, kafka_broker: KafkaBroker) -> tuple[dict[str, str], dict[str, str]]:
    """Every aggregate's supervisor applied twice; the outcomes of both passes."""
    specs = all_specs(_kafka(kafka_broker))
    first = overlord.apply_all(specs.values())
    second = overlord.apply_all(specs.values())
    for name in specs:
        overlord.wait_running(name, timeout=120)
    return first, second


@pytest.fixture(scope="module")
def produced(supervisors, kafka_broker: KafkaBroker, query: DruidQuery) -> tuple[str, dict[str, list]]:
    """PER_TYPE valid records of every aggregate produced to Kafka and queryable in Druid."""
    marker = uuid.uuid4().hex[:10]
    batch = sample_batch(marker, PER_TYPE)
    _produce(kafka_broker.bootstrap, batch)
    for agg in AGGREGATES:
        where, params = _marker_filter(agg, marker)
        query.wait_queryable(agg.name, PER_TYPE, timeout_s=90, where=where, parameters=params)
    return marker, batch


def test_cluster_is_healthy_and_answers_sql(druid_cluster: DruidCluster, query: DruidQuery) -> None:
    services = druid_cluster.status()
    assert [s.name for s in services] == [
        "zookeeper",
        "coordinator",
        "broker",
        "historical",
        "indexer",
        "router",
    ]
    assert all(s.healthy and s.pid for s in services), services
    assert all(50 < (s.rss_mib or 0) < 1500 for s in services), services  # every JVM is small
    assert druid_cluster.ready()
    assert query.sql("SELECT 1 + 1 AS two") == [{"two": 2}]
    assert query.sql("SELECT %(a)s AS a, %(b)s AS b", {"a": "it's", "b": 2.5}) == [{"a": "it's", "b": 2.5}]


def test_supervisors_apply_idempotently(supervisors, overlord: Overlord) -> None:
    first, second = supervisors
    names = sorted(a.name for a in AGGREGATES)
    assert sorted(first) == names and set(first.values()) == {"created"}
    assert second == {name: "unchanged" for name in first}
    assert overlord.ids() == names
    for state in overlord.states():
        assert (state.state, state.healthy, state.suspended) == ("RUNNING", True, False), state
        assert state.active_tasks == 1


def test_produced_records_are_queryable_row_for_row(produced, query: DruidQuery) -> None:
    marker, batch = produced
    for agg in AGGREGATES:
        where, params = _marker_filter(agg, marker)
        rows = query.sql(f'SELECT * FROM "{agg.name}" WHERE {where}', params)
        assert len(rows) == PER_TYPE, agg.name
        # Druid adds each record's Kafka timestamp (ms): the latest-per-key reads order by it.
        published = [row.pop("published_at") for row in rows]
        assert all(isinstance(ms, int) and ms > 1_700_000_000_000 for ms in published), agg.name
        expected = [_as_druid_row(agg, r) for r in batch[agg.name]]
        assert _canonical(rows) == _canonical(expected), agg.name
    # A list column keeps order and duplicates, so element i still lines up across lists.
    arb = query.sql(
        'SELECT selections, bookmakers, best_prices FROM "arbitrage_opportunities" WHERE arb_id = %(id)s',
        {"id": f"{marker}-arb0"},
    )
    assert arb == [
        {
            "selections": ["home", "draw", "away"],
            "bookmakers": ["pinnacle", "bet365", "pinnacle"],
            "best_prices": [2.9, 3.6, 3.1],
        }
    ]


def _by_id(states: list[SupervisorState]) -> dict[str, tuple[str, bool]]:
    return {s.id: (s.state, s.suspended) for s in states}


def test_one_router_url_serves_queries_and_the_overlord(
    druid_cluster: DruidCluster, produced, overlord: Overlord, query: DruidQuery, kafka_broker: KafkaBroker
) -> None:
    """Pointing every client at a cluster's router (`LAKEHOUSE_DRUID__URL`) is one setting: SQL and
    the Overlord's supervisor API answer through it as they do from the broker and the Overlord."""
    druid = DruidSettings(url=druid_cluster.router_url)
    assert druid.broker_url == druid.overlord_url == druid_cluster.router_url
    marker, batch = produced
    with DruidQuery(druid.broker_url) as routed, Overlord(druid.overlord_url) as routed_overlord:
        for agg in AGGREGATES:
            where, params = _marker_filter(agg, marker)
            sql = f'SELECT * FROM "{agg.name}" WHERE {where}'
            rows = routed.sql(sql, params)
            assert len(rows) == len(batch[agg.name]) == PER_TYPE, agg.name
            assert _canonical(rows) == _canonical(query.sql(sql, params)), agg.name
        assert _by_id(routed_overlord.states()) == _by_id(overlord.states())
        specs = all_specs(_kafka(kafka_broker))
        assert routed_overlord.apply_all(specs.values()) == dict.fromkeys(specs, "unchanged")


def test_native_timeseries_and_top_n(produced, query: DruidQuery) -> None:
    marker, batch = produced
    games = Filter(type="like", dimension="game_id", pattern=f"2024-03-27:{marker}:%")
    series = query.timeseries(
        "market_agg_1m",
        {"bars": count("bars"), "top": doublemax("max_price")},
        granularity="all",
        filter=games,
    )
    bars = batch["market_agg_1m"]
    assert series[0]["bars"] == PER_TYPE
    assert series[0]["top"] == max(r["max_price"] for r in bars)

    top = query.top_n(
        "arbitrage_opportunities",
        dimension="game_id",
        metric="best",
        aggregations={"best": doublemax("guaranteed_return")},
        threshold=3,
        filter=games,
    )
    best: dict[str, float] = {}
    for r in batch["arbitrage_opportunities"]:
        best[r["game_id"]] = max(best.get(r["game_id"], -1.0), r["guaranteed_return"])
    expected = sorted(best.items(), key=lambda kv: -kv[1])[:3]
    assert [(t["game_id"], t["best"]) for t in top] == expected


def test_changed_spec_updates_and_segments_hand_off(
    produced, overlord: Overlord, query: DruidQuery, kafka_broker: KafkaBroker
) -> None:
    """An update restarts ingestion: the old task publishes, the historical loads, nothing is lost.

    It runs on a copy of the steam_moves supervisor (own datasource, same topic), so the shared
    supervisors other modules rely on never go through a hand-off.
    """
    marker, _ = produced
    original = copy.deepcopy(all_specs(_kafka(kafka_broker))["steam_moves"])
    datasource = original["spec"]["dataSchema"]["dataSource"] = f"steam_moves_update_{marker}"
    where, params = _marker_filter(AGGREGATE_TYPES["steam_moves"], marker)
    assert overlord.apply(original) == "created"
    overlord.wait_running(datasource, timeout=120)
    query.wait_queryable(datasource, PER_TYPE, timeout_s=90, where=where, parameters=params)

    changed = copy.deepcopy(original)
    changed["spec"]["tuningConfig"]["maxRowsInMemory"] = 40000
    assert overlord.apply(changed) == "updated"
    assert overlord.apply(changed) == "unchanged"
    assert overlord.spec(datasource)["spec"]["tuningConfig"]["maxRowsInMemory"] == 40000

    def handed_off() -> bool:
        segments = query.sql(
            "SELECT is_published, is_realtime, is_available FROM sys.segments "
            "WHERE datasource = %(ds)s AND is_published = 1 AND is_realtime = 0 AND is_available = 1",
            {"ds": datasource},
        )
        return bool(segments)

    assert wait_until(handed_off, 90, interval=1.0), f"{datasource} segments were not loaded"
    assert query.count(datasource, where, params) == PER_TYPE
    overlord.wait_running(datasource, timeout=120)
    overlord.terminate(datasource)
    assert datasource not in overlord.ids()


def test_queries_are_answered_through_a_task_hand_off(
    produced, overlord: Overlord, query: DruidQuery, kafka_broker: KafkaBroker, druid_cluster: DruidCluster
) -> None:
    """Every row stays queryable, and no query fails, while a task hands its segment off.

    Hand-off happens at each `taskDuration` and at every restart. When the task ends, the Indexer
    drops the datasource's query runner before the broker's server view hears of it, and a query
    routed there in that window failed with "Could not find segment walker for datasource" (a
    fresh clone caught it right after a restart). Queries run back to back from the hand-off
    request until well after the old task has succeeded. Own supervisor, as above.
    """
    marker, _ = produced
    spec = copy.deepcopy(all_specs(_kafka(kafka_broker))["pipeline_health"])
    datasource = spec["spec"]["dataSchema"]["dataSource"] = f"pipeline_health_handoff_{marker}"
    where, params = _marker_filter(AGGREGATE_TYPES["health"], marker)
    assert overlord.apply(spec) == "created"
    overlord.wait_running(datasource, timeout=120)
    seen = query.wait_queryable(datasource, PER_TYPE, timeout_s=90, where=where, parameters=params)
    assert seen == PER_TYPE

    with httpx.Client(base_url=f"{druid_cluster.overlord_url}/druid/indexer/v1", timeout=30) as http:
        status = http.get(f"/supervisor/{datasource}/status").json()["payload"]
        (old_task,) = [t["id"] for t in status["activeTasks"]]
        handoff = http.post(f"/supervisor/{datasource}/taskGroups/handoff", json={"taskGroupIds": [0]})
        handoff.raise_for_status()
        counts: list[int] = []
        ended_at = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            counts.append(query.count(datasource, where, params))
            if ended_at is None:
                if http.get(f"/task/{old_task}/status").json()["status"]["status"] != "RUNNING":
                    ended_at = time.monotonic()
            elif time.monotonic() - ended_at > 10:
                break
        task = http.get(f"/task/{old_task}/status").json()["status"]
    assert task["status"] == "SUCCESS", task
    assert len(counts) > 100 and set(counts) == {PER_TYPE}, sorted(set(counts))
    published = query.sql(
        "SELECT COUNT(*) AS n FROM sys.segments WHERE datasource = %(ds)s AND is_published = 1 "
        "AND is_available = 1",
        {"ds": datasource},
    )
    assert published[0]["n"] >= 1
    overlord.terminate(datasource)


def test_suspend_resume_terminate(produced, overlord: Overlord, query: DruidQuery, kafka_broker) -> None:
    """Lifecycle on one supervisor; a re-created one resumes from the stored offsets (no re-read)."""
    marker, _ = produced
    agg = AGGREGATE_TYPES["health"]
    spec = all_specs(_kafka(kafka_broker))[agg.name]
    overlord.suspend(agg.name)
    assert overlord.wait_state(agg.name, "SUSPENDED", timeout=60).suspended
    assert overlord.apply(spec) == "unchanged"  # apply changes specs, never the run state
    overlord.resume(agg.name)
    overlord.wait_running(agg.name, timeout=120)

    overlord.terminate(agg.name)
    assert agg.name not in overlord.ids()
    assert overlord.apply(spec) == "created"
    overlord.wait_running(agg.name, timeout=120)
    _produce(kafka_broker.bootstrap, {agg.name: [sample_record(agg, marker, PER_TYPE)]})
    where, params = _marker_filter(agg, marker)
    assert query.wait_queryable(agg.name, PER_TYPE + 1, timeout_s=90, where=where, parameters=params) == (
        PER_TYPE + 1
    )

    with pytest.raises(OverlordError, match="no supervisor 'nope'"):
        overlord.state("nope")
    with pytest.raises(OverlordError, match="no such supervisor"):
        overlord.suspend("nope")


def test_query_and_overlord_errors_are_clear(query: DruidQuery) -> None:
    with pytest.raises(DruidQueryError, match=r"(?s)Druid SQL failed.*query: SELECT nope FROM"):
        query.sql('SELECT nope FROM "market_prices_live"')
    assert query.count("no_such_datasource") == 0
    with pytest.raises(DruidQueryError, match="0 of 1 rows queryable"):
        query.wait_queryable("no_such_datasource", 1, timeout_s=0.5)
    closed = free_port()
    with pytest.raises(DruidQueryError, match="unreachable"):
        DruidQuery(f"http://127.0.0.1:{closed}").sql("SELECT 1")
    with pytest.raises(OverlordError, match="is Druid running"), Overlord(f"http://127.0.0.1:{closed}") as o:
        o.ids()


def test_transient_druid_errors_are_retried_and_others_are_not(druid_cluster: DruidCluster) -> None:
    """The hand-off error, made for real: a data server asked for a datasource it runs no task of.

    The Indexer answers native queries itself; for a datasource with no task it gives the error a
    broker relays in the hand-off window. The client retries it for its budget, then says so;
    a query that is wrong fails at once.
    """
    indexer = DruidQuery(f"http://{druid_cluster.host}:{druid_cluster.indexer_port}", transient_retry_s=2.0)
    with capture_logs() as logs, pytest.raises(DruidQueryError, match="Could not find segment walker") as err:
        started = time.monotonic()
        indexer.timeseries("no_task_of_this", {"rows": count("rows")})
    assert 2.0 <= time.monotonic() - started < 10
    retries = [e for e in logs if e["event"] == "druid query retried"]
    assert len(retries) >= 3 and is_transient(err.value)

    with capture_logs() as logs, pytest.raises(DruidQueryError, match="nope"):
        broker = DruidQuery(druid_cluster.broker_url, transient_retry_s=30.0)
        broker.sql('SELECT nope FROM "market_prices_live"')
    assert not [e for e in logs if e["event"] == "druid query retried"]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )


def test_stack_cli_drives_druid_and_data_survives_a_restart(
    druid_cluster: DruidCluster, kafka_broker: KafkaBroker, produced, query: DruidQuery
) -> None:
    """`stack up --with druid` on the running cluster changes nothing; down, then up, keeps every row."""
    marker, _ = produced
    filters = {agg.name: _marker_filter(agg, marker) for agg in AGGREGATES}
    before = {name: query.count(name, *f) for name, f in filters.items()}
    assert all(n >= PER_TYPE for n in before.values()), before
    state_dir = druid_cluster.home.parent.parent
    stack_kafka = KafkaBroker(home=state_dir / "stack" / "kafka", port=free_port())
    try:
        _drive_stack(druid_cluster, kafka_broker, query, stack_kafka, filters, before)
    finally:
        stack_kafka.stop()  # `stack up` starts its own broker; the fixture stops only Druid


def _drive_stack(
    druid_cluster: DruidCluster,
    kafka_broker: KafkaBroker,
    query: DruidQuery,
    stack_kafka: KafkaBroker,
    filters: dict[str, tuple[str, dict[str, str]]],
    before: dict[str, int],
) -> None:
    env = {
        "LAKEHOUSE_STATE_DIR": str(druid_cluster.home.parent.parent),
        # The stack's own Kafka goes on free ports; clients and specs use the session broker.
        "LAKEHOUSE_KAFKA__PORT": str(stack_kafka.port),
        "LAKEHOUSE_KAFKA__CONTROLLER_PORT": str(free_port()),
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        "LAKEHOUSE_DRUID__ZOOKEEPER_PORT": str(druid_cluster.zookeeper_port),
        "LAKEHOUSE_DRUID__COORDINATOR_PORT": str(druid_cluster.coordinator_port),
        "LAKEHOUSE_DRUID__BROKER_PORT": str(druid_cluster.broker_port),
        "LAKEHOUSE_DRUID__HISTORICAL_PORT": str(druid_cluster.historical_port),
        "LAKEHOUSE_DRUID__INDEXER_PORT": str(druid_cluster.indexer_port),
        "LAKEHOUSE_DRUID__ROUTER_PORT": str(druid_cluster.router_port),
        "LAKEHOUSE_DRUID__DERBY_PORT": str(druid_cluster.derby_port),
    }
    up = _cli(env, "stack", "up", "--with", "druid")
    assert up.returncode == 0, up.stderr[-3000:]
    assert "druid    already running" in up.stdout
    assert "supervisors 0 changed of 5" in up.stdout

    status = _cli(env, "stack", "status")
    assert status.returncode == 0, status.stdout
    for name in ("zookeeper", "coordinator", "broker", "historical", "indexer", "router"):
        assert f"druid-{name} healthy" in status.stdout
    supervisors = _cli(env, "druid", "status")
    assert supervisors.returncode == 0, supervisors.stdout + supervisors.stderr[-2000:]
    assert supervisors.stdout.count("RUNNING") == 5

    # A crashed service is reported, and `stack up` starts just that one again.
    broker = next(s for s in druid_cluster.status() if s.name == "broker")
    os.kill(broker.pid, signal.SIGKILL)
    crashed = _cli(env, "stack", "status")
    assert crashed.returncode == 1 and "druid-broker unhealthy (process gone" in crashed.stdout
    others = {s.name: s.pid for s in druid_cluster.status() if s.name != "broker"}
    recovered = _cli(env, "stack", "up", "--with", "druid")
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert "druid    started in" in recovered.stdout
    assert {s.name: s.pid for s in druid_cluster.status() if s.name != "broker"} == others
    assert _cli(env, "stack", "status").returncode == 0

    down = _cli(env, "stack", "down")
    assert down.returncode == 0, down.stderr[-3000:]
    assert "druid    stopped" in down.stdout
    ports = (druid_cluster.zookeeper_port, druid_cluster.derby_port, druid_cluster.broker_port)
    assert not any(port_open("127.0.0.1", p) for p in ports)
    stopped = _cli(env, "stack", "status")
    assert stopped.returncode == 1 and "druid-broker stopped" in stopped.stdout

    again = _cli(env, "stack", "up", "--with", "druid")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "druid    started in" in again.stdout
    assert "supervisors 0 changed of 5" in again.stdout
    # Metadata (Derby) and segments (deep storage) live under the state dir: every row is back,
    # published ones from the historical, the rest re-read from Kafka at the stored offsets.
    for name, (where, params) in filters.items():
        query.wait_queryable(name, before[name], timeout_s=120, where=where, parameters=params)
    assert {name: query.count(name, *f) for name, f in filters.items()} == before
