"""`lakehouse demo` (`make demo`): the production path, end to end, on embedded defaults.

Every stage runs the code the CLI and the DAGs run, no private copies:

1. stack: Kafka and Druid on loopback (or the ones configured and answering), the topics, and a
   Kafka supervisor per aggregate (`stack up --with druid`);
2. produce: every real The Odds API capture and ESPN scoreboard replayed (`produce replay`),
   then ``sim_seconds`` of the market simulator ending now (`produce simulate`);
3. stream: bronze, silver, aggregates and gold until Kafka is drained (`stream run --available-now`);
4. druid: the supervisors' ingestion, until Druid holds every record of the aggregate topics;
5. airflow: `historical_backfill` over the shared football-data history (started with the demo:
   the batch layer runs beside the speed layer, as in production), then `lake_to_warehouse` (the
   live tables) and `dbt_build`, each with ``dag.test()`` on a real Airflow (its SQLite metadata
   database under ``.local/airflow``), in one process (``infra.stack.dag_runs``);
6. report: counts compared between the stages, and a self-contained HTML report
   (``cli.demo_report``) under ``.local/reports``.

Settings come from the environment, as for every command, and reach the Airflow tasks the same
way.  The summary is also written as JSON beside the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from infra.stack.airflow import airflow_environment
from infra.stack.dag_runs import MIGRATE, WAIT
from infra.stack.process import quick_start_jvms
from lakehouse.config import Settings
from lakehouse.log import get_logger
from lakehouse.schemas import AGGREGATE_TYPES

log = get_logger(__name__)

SIM_SECONDS = 120.0
FEED_TOPICS = ("odds.quotes", "games.events")
MARTS = (
    "fct_match",
    "mart_bookmaker_margin",
    "mart_closing_line_value",
    "mart_calibration",
    "mart_team_elo",
    "fct_game",
    "mart_line_movement",
    "mart_arbitrage_live",
)
"""Marts the demo expects rows in: the history's, then the live data's."""


class DemoError(RuntimeError):
    """A stage did not do what it should have; the message says which and where to look."""


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """Counts that must agree (``equal``) or each be positive (``non_empty``)."""

    name: str
    counts: dict[str, int]
    rule: str = "equal"

    @property
    def ok(self) -> bool:
        values = list(self.counts.values())
        if self.rule == "non_empty":
            return all(v > 0 for v in values)
        return len(set(values)) == 1


@dataclass
class Summary:
    stages: list[Stage] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    report: Path | None = None
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stages": [asdict(s) for s in self.stages],
            "checks": [asdict(c) | {"ok": c.ok} for c in self.checks],
            "report": str(self.report) if self.report else None,
            "urls": self.urls,
        }


# --- counting -----------------------------------------------------------------------------------


def topic_records(settings: Settings, topics: Sequence[str]) -> dict[str, int]:
    """Records in each topic: the sum of its partitions' end offsets (the producers and the
    aggregates job write without transactions, so every offset is a record)."""
    from confluent_kafka import Consumer, TopicPartition

    from lakehouse.kafka import consumer_config

    consumer = Consumer(consumer_config(settings.kafka, group_id="lakehouse-demo-count"))
    try:
        metadata = consumer.list_topics(timeout=30)
        out = {}
        for topic in topics:
            partitions = metadata.topics[topic].partitions if topic in metadata.topics else {}
            out[topic] = sum(
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions
            )
        return out
    finally:
        consumer.close()


def table_rows(settings: Settings, identifier: str, row_filter: str | None = None) -> int:
    """Rows of a lake table (0 if it does not exist yet)."""
    from lakehouse.catalog import load_catalog

    catalog = load_catalog(settings)
    if not catalog.table_exists(identifier):
        return 0
    table = catalog.load_table(identifier)
    first = table.schema().fields[0].name
    scan = (
        table.scan(row_filter=row_filter, selected_fields=(first,))
        if row_filter
        else table.scan(selected_fields=(first,))
    )
    return scan.to_arrow().num_rows


def warehouse_rows(settings: Settings, relations: Sequence[str]) -> dict[str, int]:
    """Rows of warehouse relations (``schema.table``); -1 for one that does not exist."""
    import duckdb

    out = {}
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        for relation in relations:
            try:
                row = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
                out[relation] = int(row[0]) if row else 0
            except duckdb.CatalogException:
                out[relation] = -1
    return out


# --- the stages ---------------------------------------------------------------------------------


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def stack_stage(settings: Settings, stage: Stage, with_api: bool) -> None:
    from infra.stack import Stack
    from infra.stack.topics import apply_topics
    from serving.overlord import Overlord
    from serving.specs import all_specs

    if settings.kafka.bootstrap_servers:  # a configured cluster is used as it is
        if not _answers(f"{settings.druid.broker_url}/status/health"):
            raise DemoError(
                f"Kafka is configured ({settings.kafka.bootstrap}) but no Druid answers at "
                f"{settings.druid.broker_url}: start one (`lakehouse stack up --with druid`)"
            )
        topics = apply_topics(settings.kafka)
        stage.facts["kafka"] = f"configured: {settings.kafka.bootstrap}"
        stage.facts["topics changed"] = sum(1 for v in topics.values() if v != "unchanged")
    else:
        actions = Stack(settings).up(with_druid=True, with_api=with_api)
        stage.facts |= {name: action for name, action in actions.items()}
    with Overlord(settings.druid.overlord_url) as overlord:
        outcomes = overlord.apply_all(all_specs(settings.kafka).values())
        for name in outcomes:
            overlord.wait_running(name, timeout=180)
    stage.facts["supervisors"] = (
        f"{len(outcomes)} running ({sum(o != 'unchanged' for o in outcomes.values())} changed)"
    )


def produce_stage(settings: Settings, stage: Stage, sim_seconds: float) -> dict[str, int]:
    from producers.app import replay, simulate

    before = topic_records(settings, FEED_TOPICS)
    captures = sorted((settings.shared_data_dir / "odds-api").rglob("*.json"))
    odds = replay(settings, "odds-api", captures)
    games = replay(settings, "espn")
    start = datetime.now(UTC) - timedelta(seconds=sim_seconds)
    sim = simulate(settings, seconds=sim_seconds, start=start)
    undelivered = odds["undelivered"] + games["undelivered"] + sim["undelivered"]
    if undelivered:
        raise DemoError(f"{undelivered} records were not acknowledged by Kafka at {settings.kafka.bootstrap}")
    after = topic_records(settings, FEED_TOPICS)
    added = {t: after[t] - before[t] for t in FEED_TOPICS}

    def sent(summary: dict[str, Any]) -> str:
        counts = summary["sent"] if isinstance(summary["sent"], dict) else {"records": summary["sent"]}
        text = ", ".join(f"{n:,} {feed}" for feed, n in counts.items()) or "0"
        unchanged = sum(summary["stats"]["unchanged"].values())
        # A second demo on the same state: the producers' change detection sends no price twice.
        return text + (f" ({unchanged:,} unchanged since an earlier run, not sent)" if unchanged else "")

    stage.facts |= {
        "odds captures": f"{len(captures)} files: {sent(odds)} sent, {odds['dead_lettered']} dead-lettered",
        "espn scoreboards": f"{sent(games)} sent, {games['dead_lettered']} dead-lettered",
        "simulator": f"{sim_seconds:.0f} s ending now: {sim['sent']:,} records, "
        f"{sim['arbitrages']} arbitrage windows",
        "kafka": ", ".join(f"{t} +{n:,}" for t, n in added.items()),
    }
    return added


def stream_stage(settings: Settings, stage: Stage) -> int:
    """Drain Kafka through every job; the bronze rows this added for ``odds.quotes``."""
    from pyspark.sql import SparkSession

    from iceberg.tables import BRONZE_KAFKA_RECORDS, SILVER_DEAD_LETTERS, SILVER_FEEDS
    from streaming.runner import JOBS, run_jobs

    odds_bronze = "topic == 'odds.quotes'"
    bronze_before = table_rows(settings, BRONZE_KAFKA_RECORDS.identifier, odds_bronze)
    silver_before = table_rows(settings, SILVER_FEEDS["odds"].identifier)
    from lakehouse.spark import build_spark_session

    owned = SparkSession.getActiveSession() is None
    spark = build_spark_session(settings, app_name="lakehouse-demo")
    if owned:  # the stages' own lines say what happened; Spark's warnings are for `stream run`
        spark.sparkContext.setLogLevel("ERROR")
    try:
        run_jobs(settings, JOBS, available_now=True)
    finally:
        if owned and (session := SparkSession.getActiveSession()) is not None:
            session.stop()
    bronze = table_rows(settings, BRONZE_KAFKA_RECORDS.identifier, odds_bronze) - bronze_before
    silver = table_rows(settings, SILVER_FEEDS["odds"].identifier) - silver_before
    stage.facts |= {
        "bronze": f"odds.quotes +{bronze:,} rows",
        "silver": f"odds_quotes +{silver:,} rows (distinct valid quotes); "
        f"dead letters {table_rows(settings, SILVER_DEAD_LETTERS.identifier):,} in all",
    }
    return bronze


def druid_stage(settings: Settings, stage: Stage) -> tuple[dict[str, int], dict[str, int]]:
    """Wait until Druid holds every record of each aggregate topic; (topic records, Druid rows)."""
    from serving.query import DruidQuery

    topics = {agg.name: agg.topic for agg in AGGREGATE_TYPES.values()}
    records = topic_records(settings, list(topics.values()))
    wanted = {name: records[topic] for name, topic in topics.items()}
    with DruidQuery(settings.druid.broker_url) as druid:
        held = {name: druid.wait_queryable(name, n, timeout_s=300) for name, n in wanted.items()}
    stage.facts |= {name: f"{held[name]:,} rows (topic {wanted[name]:,})" for name in wanted}
    return wanted, held


def airflow_env(settings: Settings) -> dict[str, str]:
    """A real Airflow of the demo's own: the local Airflow's configuration (home, SQLite metadata
    database and logs under the state folder; the project's DAGs) and the demo's settings."""
    env = {**os.environ, **airflow_environment(settings)}
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


class DagRuns:
    """The demo's DAG runs in one Airflow process (``infra.stack.dag_runs``), started with the
    demo: the batch layer's ``historical_backfill`` runs beside the speed layer, as in
    production (they share only the Iceberg catalog); ``lake_to_warehouse`` and ``dbt_build``
    wait at the runs' barrier, which ``finish()`` releases once the streams have drained.  Output
    in ``demo/logs/airflow.log``.
    """

    def __init__(self, settings: Settings, leagues: Sequence[str] | None) -> None:
        logs = settings.state_dir / "demo" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_file, self.events_file = logs / "airflow.log", logs / "airflow-steps.jsonl"
        self.events_file.unlink(missing_ok=True)
        runs = [
            ("historical_backfill", {"leagues": list(leagues or [])}),
            WAIT,
            ("lake_to_warehouse", {}),
            ("dbt_build", {}),
        ]
        self.expected = len(runs) + 1  # and the metadata database's migration
        argv = [sys.executable, "-m", "infra.stack.dag_runs", str(self.events_file), json.dumps(runs)]
        with self.log_file.open("w") as out:
            self.process = subprocess.Popen(
                argv,
                env=airflow_env(settings),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=settings.project_root,
                text=True,
            )
        self.seen = 0
        self.states: dict[str, str] = {}
        self.seconds: dict[str, float] = {}

    def _read(self, tick: Callable[[str], None]) -> list[dict[str, Any]]:
        lines = self.events_file.read_text().splitlines() if self.events_file.exists() else []
        events = [json.loads(line) for line in lines[self.seen :]]
        self.seen = len(lines)
        ended = {e["step"] for e in events if e["event"] == "finished"}
        for event in events:
            if event["event"] == "started" and event["step"] not in ended | {WAIT}:
                tick(event["step"])
            elif event["event"] == "finished":
                self.states[event["step"]] = event["state"]
                if "seconds" in event:
                    self.seconds[event["step"]] = event["seconds"]
        return events

    def finish(self, stage: Stage, tick: Callable[[str], None]) -> None:
        """Let the warehouse steps go once the backfill is done; raise if a step failed."""
        released = False
        while True:
            done = self.process.poll() is not None
            events = self._read(tick)
            if not released and any(e["step"] == WAIT and e["event"] == "started" for e in events):
                assert self.process.stdin is not None
                self.process.stdin.write("go\n")
                self.process.stdin.close()
                released = True
            if done:
                break
            time.sleep(0.5)
        for step, seconds in self.seconds.items():
            beside = " (beside the speed layer)" if step in (MIGRATE, "historical_backfill") else ""
            stage.facts[step] = f"{seconds:.0f} s{beside}"
        failed = [f"{step}: {state}" for step, state in self.states.items() if state != "success"]
        if self.process.returncode != 0 or failed or len(self.states) != self.expected:
            text = self.log_file.read_text(errors="replace")
            tail = " | ".join(line for line in text.splitlines()[-5:] if line.strip())
            what = "; ".join(failed) or f"exit {self.process.returncode} after {sorted(self.states)}"
            raise DemoError(f"airflow: {what} (log: {self.log_file}): {tail[-600:]}")

    def close(self) -> None:
        """Stop the runs if the demo ends early (end of input stops them at the barrier)."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def history_checks(settings: Settings, leagues: Sequence[str] | None) -> list[Check]:
    """The valid rows of the season files (parsed again here) against Iceberg and the warehouse."""
    from pyiceberg.exceptions import NoSuchTableError

    from batch.pipeline import discover, iceberg_counts, parse_landed
    from batch.warehouse import open_target
    from iceberg.history import FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS

    files = discover(settings, leagues)
    partitions = [(sf.league, sf.season) for sf in files]
    parsed = [parse_landed(settings, sf) for sf in files]
    try:
        lake = iceberg_counts(settings, partitions)
    except NoSuchTableError as exc:
        raise DemoError(
            f"the backfill left no history table ({exc}): see {settings.state_dir / 'demo' / 'logs'}"
        ) from None
    target = open_target(settings)
    try:
        counts = {
            "csv valid matches": sum(p.matches.num_rows for p in parsed),
            "iceberg matches": lake[FOOTBALL_DATA_MATCHES.name],
            "warehouse matches": target.count(FOOTBALL_DATA_MATCHES.name, partitions),
        }
        prices = {
            "csv valid prices": sum(p.odds.num_rows for p in parsed),
            "iceberg prices": lake[FOOTBALL_DATA_ODDS.name],
            "warehouse prices": target.count(FOOTBALL_DATA_ODDS.name, partitions),
        }
    finally:
        target.close()
    return [
        Check(f"history matches, {len(files)} seasons: CSV valid = Iceberg = warehouse", counts),
        Check(f"history prices, {len(files)} seasons: CSV valid = Iceberg = warehouse", prices),
    ]


# --- the run ------------------------------------------------------------------------------------


@contextmanager
def _timed(console: Console, summary: Summary, number: int, total: int, name: str) -> Iterator[Stage]:
    stage = Stage(name)
    console.print(f"[bold]{number}/{total}[/] {name}")
    started = time.monotonic()
    yield stage
    stage.seconds = round(time.monotonic() - started, 1)
    for key, value in stage.facts.items():
        console.print(f"    {key}: {value}")
    console.print(f"    [dim]{stage.seconds:.1f} s[/]")
    summary.stages.append(stage)


def run_demo(
    settings: Settings,
    keep_stack: bool = False,
    sim_seconds: float = SIM_SECONDS,
    leagues: Sequence[str] | None = None,
    console: Console | None = None,
) -> Summary:
    """Every stage, then the checks and the report; raises ``DemoError`` if a stage fails."""
    from batch.pipeline import BackfillInputError, discover
    from cli.demo_report import write_report
    from infra.stack import Stack

    try:  # a mistyped league is refused before anything starts, not after the stream
        discover(settings, leagues)
    except BackfillInputError as exc:
        raise DemoError(str(exc)) from None
    console = console or Console(width=max(Console().width, 110))
    quick_start_jvms()  # the demo's Kafka, Druid and Spark live for minutes: C1 only
    summary = Summary()
    began = time.monotonic()
    local = not settings.kafka.bootstrap_servers
    key = _demo_key(settings) if keep_stack and local else None
    if key is not None:
        settings = settings.model_copy(update={"api": settings.api.model_copy(update={"keys": key[1]})})
    total = 6
    dag_runs = DagRuns(settings, leagues)
    console.print("[dim]    batch layer: historical_backfill started in Airflow, beside the speed layer[/]")
    try:
        with _timed(console, summary, 1, total, "stack: Kafka, Druid and its supervisors") as stage:
            stack_stage(settings, stage, with_api=key is not None)
        with _timed(console, summary, 2, total, "produce: real captures replayed, the simulator") as stage:
            produced = produce_stage(settings, stage, sim_seconds)
        with _timed(console, summary, 3, total, "stream: bronze, silver, aggregates, gold") as stage:
            bronze = stream_stage(settings, stage)
        with _timed(console, summary, 4, total, "druid: the aggregates ingested") as stage:
            topic_counts, druid_counts = druid_stage(settings, stage)
        with _timed(console, summary, 5, total, "airflow: backfill, live load, dbt build") as stage:
            dag_runs.finish(stage, lambda step: console.print(f"    running {step} ..."))
        with _timed(console, summary, 6, total, "report") as stage:
            summary.checks = [
                Check(
                    "quotes produced = bronze rows",
                    {"kafka odds.quotes": produced["odds.quotes"], "bronze": bronze},
                ),
                *(
                    Check(
                        f"{name}: topic = Druid", {"topic": topic_counts[name], "druid": druid_counts[name]}
                    )
                    for name in topic_counts
                ),
                *history_checks(settings, leagues),
                Check(
                    "live quotes: silver = warehouse",
                    {
                        "silver": table_rows(settings, "silver.odds_quotes"),
                        "warehouse": warehouse_rows(settings, ["raw.silver_odds_quotes"])[
                            "raw.silver_odds_quotes"
                        ],
                    },
                ),
                Check(
                    "marts have rows", warehouse_rows(settings, [f"marts.{m}" for m in MARTS]), "non_empty"
                ),
            ]
            summary.report = write_report(settings, summary)
            stage.facts["report"] = str(summary.report)
    finally:
        dag_runs.close()
        if not keep_stack and local:
            Stack(settings).down()
            console.print("    stack down (use --keep-stack to leave it and the web board up)")
    if keep_stack:
        summary.urls = _urls(settings, key[0] if key else None)
    _print_summary(console, summary, time.monotonic() - began)
    (summary.report.parent / "demo-summary.json").write_text(
        json.dumps(summary.as_dict(), indent=2, default=str)
    )
    return summary


def _demo_key(settings: Settings) -> tuple[str, str]:
    """A read key for the board the demo leaves up (printed once; only its hash is kept)."""
    from serving.api.keys import new_key

    key, entry = new_key("demo", ("read",))
    os.environ["LAKEHOUSE_API__KEYS"] = ",".join(e for e in (settings.api.keys, entry) if e)
    return key, os.environ["LAKEHOUSE_API__KEYS"]


def _urls(settings: Settings, key: str | None) -> dict[str, str]:
    api = f"http://{settings.api.host}:{settings.api.port}"
    urls = {
        "web board": f"{api}/board/",
        "API docs": f"{api}/docs",
        "Druid router (SQL, supervisors)": settings.druid.url
        or f"http://{settings.druid.host}:{settings.druid.router_port}",
        "Druid coordinator": settings.druid.overlord_url,
        # The demo's runs are in the metadata database `stack up --with airflow` serves.
        "Airflow UI": f"http://{settings.airflow.host}:{settings.airflow.port} "
        "(after `.venv/bin/lakehouse stack up --with airflow`)",
    }
    if key:
        urls["board key"] = key
    return urls


def _print_summary(console: Console, summary: Summary, seconds: float) -> None:
    table = Table(title="checks between the stages")
    for column in ("check", "counts", "ok"):
        table.add_column(column)
    for check in summary.checks:
        counts = ", ".join(f"{k} {v:,}" for k, v in check.counts.items())
        table.add_row(check.name, counts, "[green]yes[/]" if check.ok else "[red]NO[/]")
    console.print(table)
    console.print("stages: " + ", ".join(f"{s.name.split(':')[0]} {s.seconds:.0f} s" for s in summary.stages))
    for name, url in summary.urls.items():
        console.print(f"{name}: {url}")
    verdict = "[green]OK[/]" if summary.ok else "[red]CHECKS FAILED[/]"
    console.print(f"{verdict} in {seconds:.0f} s; report: {summary.report}")
