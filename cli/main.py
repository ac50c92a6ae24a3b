"""`lakehouse`: the project's command line (set-up, local stack, demo)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from cli.api import api_group
from cli.arbitrage import arbitrage_command
from cli.backtest import backtest_command
from cli.dlq import dlq_group
from cli.output import emit, json_option
from cli.teams import teams_group
from cli.warehouse import warehouse_group
from lakehouse.config import Settings, get_settings
from lakehouse.log import configure_logging


@click.group()
@click.option("--log-format", type=click.Choice(["console", "json"]), default=None, help="Log output format.")
@click.pass_context
def main(ctx: click.Context, log_format: str | None) -> None:
    """Sports-betting analytics lakehouse."""
    try:
        settings = get_settings()
    except ValidationError as exc:  # a setting the user gave: one line, no traceback
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise click.ClickException(f"invalid settings: {problems}") from None
    level = settings.log_level
    if ctx.invoked_subcommand == "demo" and "LAKEHOUSE_LOG_LEVEL" not in os.environ:
        level = "WARNING"  # the demo prints what each stage did; logs are for trouble
    configure_logging(level, log_format or settings.log_format)


@main.command()
def setup() -> None:
    """Resolve the JVM artifacts (Kafka, Spark connectors, Iceberg, Druid) into .cache/ (idempotent)."""
    from lakehouse.jvm import ensure_jars

    click.echo(f"jars ready under {ensure_jars(get_settings())}")


@main.group()
def stack() -> None:
    """Local services on loopback: Kafka (KRaft) and optionally moto (S3 + Glue) and Druid."""


@stack.command("up")
@click.option("--with-moto", is_flag=True, help="Also start moto as local S3 + Glue.")
@click.option(
    "--with",
    "extras",
    multiple=True,
    type=click.Choice(["moto", "druid", "spark-cluster", "airflow", "api"]),
    help="Also start these (repeatable); druid also applies the Kafka supervisors; spark-cluster is "
    "a standalone master and workers (point jobs at it with LAKEHOUSE_SPARK__MASTER); airflow is "
    "`airflow standalone` with the project's DAGs (UI on LAKEHOUSE_AIRFLOW__PORT, 8090); api is the "
    "query API and live board (needs LAKEHOUSE_API__KEYS), started last.",
)
@json_option
def stack_up(with_moto: bool, extras: tuple[str, ...], as_json: bool) -> None:
    """Start what is not running and apply infra/topics.yaml; a second call is a no-op."""
    from infra.stack import Stack
    from infra.stack.process import ServiceError

    settings = get_settings()
    stack = Stack(settings)
    try:
        actions = _stack_up(stack, settings, extras, with_moto)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    emit(as_json, {"services": actions}, (f"{name:8} {action}" for name, action in actions.items()))


def _stack_up(stack: Any, settings: Settings, extras: tuple[str, ...], with_moto: bool) -> dict[str, str]:
    with_druid = "druid" in extras
    if "api" in extras and not (settings.api.keys or settings.api.keys_file):  # before starting anything
        raise click.ClickException(
            "the API needs keys: run `lakehouse api key`, then set LAKEHOUSE_API__KEYS"
        )
    actions = stack.up(
        with_moto=with_moto or "moto" in extras,
        with_druid=with_druid,
        with_spark_cluster="spark-cluster" in extras,
        with_api="api" in extras,
        with_airflow="airflow" in extras,
    )
    result = dict(actions)
    if with_druid:
        outcomes = _apply_supervisors(settings)
        changed = sum(1 for o in outcomes.values() if o != "unchanged")
        result["supervisors"] = f"{changed} changed of {len(outcomes)}"
    return result


def _apply_supervisors(settings: Settings) -> Mapping[str, str]:
    from serving.overlord import Overlord
    from serving.specs import all_specs

    with Overlord(settings.druid.overlord_url) as overlord:
        return overlord.apply_all(all_specs(settings.kafka).values())


@stack.command("down")
@json_option
def stack_down(as_json: bool) -> None:
    """Stop every service this project started (by PID file)."""
    from infra.stack import Stack

    actions = dict(Stack(get_settings()).down())
    emit(as_json, {"services": actions}, (f"{name:8} {action}" for name, action in actions.items()))


@stack.command("status")
@json_option
def stack_status(as_json: bool) -> None:
    """Health of each service; exits 1 if anything started is unhealthy or gone."""
    from infra.stack import Stack

    status = Stack(get_settings()).status()
    services = [
        {"name": svc.name, "state": svc.state, "pid": svc.pid, "endpoint": svc.endpoint}
        for svc in status.services
    ]
    emit(
        as_json,
        {"ok": status.ok, "services": services},
        (
            f"{s['name']:8} {s['state']:10} pid={s['pid'] if s['pid'] is not None else '-'} {s['endpoint']}"
            for s in services
        ),
    )
    sys.exit(0 if status.ok else 1)


@main.group()
def topics() -> None:
    """Kafka topics declared in infra/topics.yaml."""


@topics.command("apply")
@json_option
def topics_apply(as_json: bool) -> None:
    """Create or update the declared topics on the configured cluster (idempotent)."""
    from infra.stack.topics import apply_topics

    outcomes = dict(sorted(apply_topics(get_settings().kafka).items()))
    emit(as_json, {"topics": outcomes}, (f"{outcome:9} {name}" for name, outcome in outcomes.items()))


@main.group()
def druid() -> None:
    """The serving layer's Druid: Kafka supervisors of the aggregates, as code (serving/specs.py)."""


@druid.command("apply")
@click.option("--wait", is_flag=True, help="Wait until every supervisor is RUNNING.")
@json_option
def druid_apply(wait: bool, as_json: bool) -> None:
    """Create or update one supervisor per aggregate; an unchanged spec is not re-posted."""
    from serving.overlord import Overlord

    settings = get_settings()
    outcomes = dict(sorted(_apply_supervisors(settings).items()))
    states: dict[str, str] = {}
    if wait:
        with Overlord(settings.druid.overlord_url) as overlord:
            states = {name: overlord.wait_running(name).state for name in overlord.ids()}
    lines = [f"{outcome:9} {name}" for name, outcome in outcomes.items()]
    emit(
        as_json,
        {"supervisors": outcomes, "states": states},
        [*lines, *(f"{state:9} {name}" for name, state in states.items())],
    )


@druid.command("status")
@json_option
def druid_status(as_json: bool) -> None:
    """Each supervisor's state and its datasource's queryable rows; exits 1 if any is unhealthy."""
    from serving.overlord import Overlord, OverlordError
    from serving.query import DruidQuery, DruidQueryError

    settings = get_settings()
    try:
        with (
            Overlord(settings.druid.overlord_url) as overlord,
            DruidQuery(settings.druid.broker_url) as query,
        ):
            states = overlord.states()
            supervisors = [
                {
                    "id": s.id,
                    "state": s.detailed_state,
                    "healthy": s.healthy,
                    "active_tasks": s.active_tasks,
                    "lag": s.aggregate_lag,
                    "rows": query.count(s.id),
                }
                for s in states
            ]
    except (OverlordError, DruidQueryError) as exc:
        raise click.ClickException(str(exc)) from exc
    ok = bool(states) and all(s.healthy for s in states)
    emit(
        as_json,
        {"ok": ok, "supervisors": supervisors},
        (
            f"{s['id']:24} {s['state']:22} tasks={s['active_tasks']} lag={s['lag']} rows={s['rows']}"
            for s in supervisors
        ),
    )
    sys.exit(0 if ok else 1)


@druid.command("specs")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def druid_specs(out: Path | None) -> None:
    """Regenerate infra/druid/supervisors/*.json from the aggregate schemas."""
    from serving.specs import SPEC_DIR, write_specs

    for path in write_specs(out or SPEC_DIR):
        click.echo(str(path))


@main.group()
def produce() -> None:
    """Producers: poll sources on their schedule, replay real captures, or simulate a market."""


@produce.command("run")
@click.option("--source", "sources", multiple=True, help="Only these sources (repeatable); default: all.")
@click.option(
    "--duration", type=float, default=None, help="Stop after this many seconds (default: until SIGTERM)."
)
@click.option(
    "--health-port", type=int, default=None, help="Port of /health and /metrics (0 = any free port)."
)
@click.option(
    "--schedule",
    "schedule_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A schedule file of your own (default: producers/schedule.yaml).",
)
@json_option
def produce_run(
    sources: tuple[str, ...],
    duration: float | None,
    health_port: int | None,
    schedule_file: Path | None,
    as_json: bool,
) -> None:
    """Poll the sources of a schedule concurrently until stopped."""
    from producers.app import run_schedule
    from producers.scheduler import load_schedule

    schedule = load_schedule(schedule_file) if schedule_file else None
    scheduler = run_schedule(
        get_settings(), schedule, sources=sources, duration_s=duration, health_port=health_port
    )
    polls = len(scheduler.outcomes)
    sent = sum(o.sent for _, o in scheduler.outcomes)
    dead = sum(o.dead_lettered for _, o in scheduler.outcomes)
    summary = {"polls": polls, "sent": sent, "dead_lettered": dead, "undelivered": scheduler.undelivered}
    emit(as_json, summary, [f"{polls} polls, {sent} records sent, {dead} dead-lettered"])
    _fail_on_undelivered(scheduler.undelivered)


@produce.command("replay")
@click.argument("what", type=click.Choice(["odds-api", "espn", "football-data"]))
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--speed", type=float, default=None, help="1 = original pace, 60 = a minute a second; default: flat out."
)
@click.option("--no-change-detection", is_flag=True, help="Send every quote even if its price did not move.")
@click.option(
    "--league",
    default=None,
    help="ESPN scoreboard of the files, as ESPN's API path (hockey/nhl, basketball/wnba, "
    "football/college-football); default: what each body says.",
)
@json_option
def produce_replay(
    what: str,
    files: tuple[Path, ...],
    speed: float | None,
    no_change_detection: bool,
    league: str | None,
    as_json: bool,
) -> None:
    """Publish real captured data (../shared/data) into Kafka."""
    from producers.app import replay

    try:
        summary = replay(
            get_settings(),
            what,
            list(files) or None,
            speed,
            change_detection=not no_change_detection,
            league=league,
        )
    except ValueError as exc:  # a capture we cannot tell or read: the user's to fix, in one line
        raise click.ClickException(str(exc)) from None
    sent = ", ".join(f"{n} {feed}" for feed, n in summary["sent"].items()) or "nothing"
    emit(
        as_json,
        summary,
        [f"{summary['records']} records, sent {sent}, dead-lettered {summary['dead_lettered']}"],
    )
    _fail_on_undelivered(summary["undelivered"])


@produce.command("simulate")
@click.option("--seconds", type=float, default=300.0, help="Simulated seconds to run.")
@click.option("--rate", type=float, default=None, help="Target odds quotes per second (load tests).")
@click.option("--seed", type=int, default=42)
@click.option(
    "--realtime", is_flag=True, help="Pace output in wall-clock time at --rate (default: flat out)."
)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    default=None,
    help="The simulated market's first instant, UTC (default: --seconds before now, so the market "
    "ends now and the live dashboards' time ranges show it).",
)
@json_option
def produce_simulate(
    seconds: float, rate: float | None, seed: int, realtime: bool, start: datetime | None, as_json: bool
) -> None:
    """Run the live-market simulator into Kafka."""
    from producers.app import simulate

    first = start.replace(tzinfo=UTC) if start else datetime.now(UTC) - timedelta(seconds=seconds)
    summary = simulate(get_settings(), seconds=seconds, rate=rate, seed=seed, realtime=realtime, start=first)
    emit(
        as_json,
        summary,
        [
            f"sent {summary['sent']} ({summary['per_second']:.0f}/s), "
            f"arbitrage windows {summary['arbitrages']}"
        ],
    )
    _fail_on_undelivered(summary["undelivered"])


def _fail_on_undelivered(undelivered: int) -> None:
    """Records handed to the producer but never acknowledged by Kafka make the command fail."""
    if undelivered:
        raise click.ClickException(
            f"{undelivered} records were not delivered to Kafka at {get_settings().kafka.bootstrap} "
            "(is the broker up?); sent counts records handed to the producer"
        )


@main.group("iceberg")
def iceberg_group() -> None:
    """Iceberg tables as code: create/evolve them, and maintain them."""


@iceberg_group.command("ensure")
@json_option
def iceberg_ensure(as_json: bool) -> None:
    """Create missing tables and apply additive schema/property changes (idempotent)."""
    from iceberg import ensure_tables
    from lakehouse.catalog import load_catalog

    outcomes = dict(sorted(ensure_tables(load_catalog(get_settings())).items()))
    emit(as_json, {"tables": outcomes}, (f"{outcome:9} {table}" for table, outcome in outcomes.items()))


@iceberg_group.command("maintain")
@click.option("--table", "tables", multiple=True, help="Only these tables (e.g. silver.odds_quotes).")
@json_option
def iceberg_maintain(tables: tuple[str, ...], as_json: bool) -> None:
    """Compact data files, rewrite manifests, expire snapshots, remove old orphan files."""
    from iceberg import maintain_all
    from lakehouse.spark import build_spark_session

    settings = get_settings()
    spark = build_spark_session(settings, app_name="lakehouse-maintenance")
    reports = list(maintain_all(spark, settings, list(tables) or None).values())
    emit(
        as_json,
        {
            "tables": {
                r.identifier: {
                    what: {"before": getattr(r.before, what), "after": getattr(r.after, what)}
                    for what in ("data_files", "snapshots", "manifests")
                }
                for r in reports
            }
        },
        (
            f"{r.identifier}: data files {r.before.data_files} -> {r.after.data_files}, "
            f"snapshots {r.before.snapshots} -> {r.after.snapshots}, "
            f"manifests {r.before.manifests} -> {r.after.manifests}"
            for r in reports
        ),
    )


@main.group()
def stream() -> None:
    """Speed layer: Spark Structured Streaming jobs (bronze, silver, aggregates)."""


def _stream_process():
    from infra.stack.process import ManagedProcess

    settings = get_settings()
    return ManagedProcess("streaming", settings.state_dir / "streaming", marker="cli.main stream run")


@stream.command("run")
@click.option(
    "--job", "jobs", multiple=True, help="bronze, silver, aggregates, gold (repeatable); default: all."
)
@click.option("--available-now", is_flag=True, help="Process what Kafka holds now, then exit.")
def stream_run(jobs: tuple[str, ...], available_now: bool) -> None:
    """Run the jobs in the foreground until SIGTERM/SIGINT (or, with --available-now, done)."""
    from streaming.runner import JOBS, StreamingQueryFailed, run_jobs

    try:
        run_jobs(get_settings(), jobs or JOBS, available_now=available_now)
    except StreamingQueryFailed as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        # Stop Spark while Python still listens: its listener bus drains the queries' last
        # events into our listener instead of failing on a closed callback server at exit.
        from pyspark.sql import SparkSession

        if (session := SparkSession.getActiveSession()) is not None:
            session.stop()


@stream.command("start")
@click.option("--job", "jobs", multiple=True)
def stream_start(jobs: tuple[str, ...]) -> None:
    """Start the jobs in the background (logs under .local/streaming/logs)."""
    process = _stream_process()
    if process.pid() is not None:
        click.echo(f"streaming already running (pid {process.pid()})")
        return
    args = [arg for job in jobs for arg in ("--job", job)]
    pid = process.start([sys.executable, "-m", "cli.main", "stream", "run", *args])
    click.echo(f"streaming started (pid {pid}); logs: {process.log_file}")


@stream.command("stop")
def stream_stop() -> None:
    """Stop the background jobs gracefully (SIGTERM to the driver: each query's current batch completes)."""
    stopped = _stream_process().stop(timeout=90, leader_first=True)
    click.echo("streaming stopped" if stopped else "streaming not running")


@stream.command("status")
@json_option
def stream_status(as_json: bool) -> None:
    """Whether the jobs run, and each query's last batch metrics."""
    import json
    from datetime import UTC, datetime

    pid = _stream_process().pid()
    metrics = get_settings().state_dir / "streaming" / "metrics.json"
    queries: dict[str, dict[str, Any]] = json.loads(metrics.read_text()) if metrics.exists() else {}
    failed = [name for name, m in queries.items() if "error" in m]
    lines = [f"streaming {'running (pid ' + str(pid) + ')' if pid else 'stopped'}"]
    now = datetime.now(UTC)
    for name, m in queries.items():
        if "error" in m:
            lines.append(f"  {name:11} FAILED at {m.get('failed_at', '?')}: {m['error']}")
            continue
        # A figure an older version of the jobs did not record shows as "?", not as a crash.
        keys = ("batch_id", "input_rows", "processed_rows_per_s", "trigger_ms", "kafka_lag")
        f = {key: m.get(key, "?") for key in keys}
        ago = ""
        if "timestamp" in m:
            age = (now - datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00"))).total_seconds()
            ago = f" ({age:.0f} s ago)"
        lines.append(
            f"  {name:11} batch {f['batch_id']}: {f['input_rows']} rows, {f['processed_rows_per_s']}/s, "
            f"{f['trigger_ms']} ms, lag {f['kafka_lag']}{ago}"
        )
    emit(as_json, {"running": pid is not None, "pid": pid, "queries": queries, "failed": failed}, lines)
    if failed and not as_json:
        click.echo(f"failed: {', '.join(failed)}", err=True)
    sys.exit(0 if pid and not failed else 1)


@main.group("batch")
def batch_group() -> None:
    """Batch layer: football-data history -> raw zone -> Iceberg -> warehouse."""


@batch_group.command("fetch")
@click.option("--league", "leagues", multiple=True, required=True, help="E0, D1, SC0 ... (repeatable).")
@click.option(
    "--season", "seasons", multiple=True,
    help="e.g. 2023-24 (repeatable); an extra league (ARG, USA ...) is one file of every season.",
)  # fmt: skip
@click.option(
    "--to", "dest", type=click.Path(path_type=Path), default=None,
    help="Folder to download into (<to>/2324/E0.csv, <to>/new/ARG.csv); default: <state dir>/football-data.",
)  # fmt: skip
@click.option("--base-url", default=None, help="Default: https://www.football-data.co.uk.")
@json_option
def batch_fetch(
    leagues: tuple[str, ...], seasons: tuple[str, ...], dest: Path | None, base_url: str | None, as_json: bool
) -> None:
    """Download season files from football-data.co.uk; then `batch backfill --source` that folder."""
    import httpx

    from batch.fetch import FOOTBALL_DATA_URL, country_file, fetch_seasons
    from lakehouse.football_data import LEAGUES
    from lakehouse.football_data.files import SeasonFile

    unknown = [code for code in leagues if code.upper() not in LEAGUES]
    if unknown:
        raise click.ClickException(f"unknown league(s) {unknown}; known: {', '.join(LEAGUES)}")
    codes = [code.upper() for code in leagues]
    extra = [code for code in codes if LEAGUES[code].extra]
    if not seasons and len(extra) < len(codes):
        raise click.ClickException("--season is needed for a main league (e.g. --season 2023-24)")
    try:
        wanted = [country_file(code) for code in extra] + [
            SeasonFile.of(code, season) for code in codes if code not in extra for season in seasons
        ]
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    folder = dest or get_settings().state_dir / "football-data"
    try:
        fetched = fetch_seasons(wanted, folder, base_url or FOOTBALL_DATA_URL)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"download failed: {exc}") from None
    emit(
        as_json,
        {
            "folder": folder,
            "files": [
                {"file": f.label, "outcome": f.outcome, "bytes": f.size, "path": f.path} for f in fetched
            ],
        },
        [
            *(f"{f.label:19} {f.outcome:9} {f.size:>9} bytes  {f.path}" for f in fetched),
            f"backfill them with: lakehouse batch backfill --source {folder}",
        ],
    )
    if any(f.outcome == "missing" for f in fetched):
        raise SystemExit(1)


@batch_group.command("backfill")
@click.option("--league", "leagues", multiple=True, help="E0, SP1 (repeatable); default: settings' leagues.")
@click.option("--season", "seasons", multiple=True, help="e.g. 2023-24 (repeatable); default: every file.")
@click.option("--start", default=None, help="Seasons overlapping this date on (YYYY-MM-DD).")
@click.option("--end", default=None, help="Seasons overlapping this date back (YYYY-MM-DD).")
@click.option(
    "--warehouse", type=click.Choice(["duckdb", "snowflake"]), default=None, help="Default: settings."
)
@click.option("--no-warehouse", is_flag=True, help="Stop after Iceberg.")
@click.option(
    "--source",
    default=None,
    help="Folder of season files (E0_2324.csv, 2324/E0.csv, ARG.csv), searched recursively, or a site "
    "in football-data's layout (https://www.football-data.co.uk) to download the asked-for seasons from; "
    "default: LAKEHOUSE_BATCH__FOOTBALL_DATA_DIR, else ../shared/data/football-data.",
)
@json_option
def batch_backfill(
    leagues: tuple[str, ...],
    seasons: tuple[str, ...],
    start: str | None,
    end: str | None,
    warehouse: str | None,
    no_warehouse: bool,
    source: str | None,
    as_json: bool,
) -> None:
    """Land the season CSVs, replace their Iceberg partitions, copy them to the warehouse."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from batch.pipeline import BackfillInputError, backfill, with_source, with_warehouse

    settings = with_source(with_warehouse(get_settings(), warehouse), source)
    columns = (TextColumn("{task.description:10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:  # stdout holds the answer
        tasks: dict[str, TaskID] = {}

        def advance(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=total)
            progress.update(tasks[step], completed=done, total=total)

        from batch.quality import QualityError
        from batch.warehouse import WarehouseTimeout, WarehouseUnavailable

        try:
            result = backfill(
                settings,
                leagues=leagues or None,
                seasons=seasons or None,
                start=start,
                end=end,
                warehouse=not no_warehouse,
                progress=advance,
            )
        except (WarehouseUnavailable, WarehouseTimeout, BackfillInputError, QualityError) as exc:
            raise click.ClickException(str(exc)) from None
    emit(
        as_json,
        {"raw_zone": settings.raw_zone, **result.as_dict()},
        _backfill_lines(result, settings.raw_zone),
    )


def _backfill_lines(result: Any, raw_zone: str) -> Iterator[str]:
    parsed = result.parsed
    yield (
        f"{len(result.partitions)} seasons: {parsed.rows} rows -> {parsed.matches} matches, "
        f"{parsed.prices} prices, {parsed.rejects} rejects "
        f"({parsed.rejected_rows} rows, {parsed.rejected_prices} prices, {parsed.rejected_cells} cells, "
        f"{parsed.file_rejects} file)"
    )
    landed = ", ".join(f"{n} {outcome}" for outcome, n in sorted(result.landed.items()))
    yield f"raw zone {raw_zone}: {landed}"
    for step, counts in (("iceberg", result.iceberg), (result.warehouse_kind, result.warehouse)):
        if counts:
            yield f"{step}: " + ", ".join(f"{name} {n}" for name, n in counts.items())
    for suite in result.quality:
        yield (
            f"quality {suite['table']}: {suite['rows']} rows, {suite['evaluated']} expectations, "
            f"{len(suite['failures'])} warnings"
        )
    yield "seconds: " + ", ".join(f"{step} {s}" for step, s in result.seconds.items())


main.add_command(api_group)
main.add_command(teams_group)
main.add_command(warehouse_group)
main.add_command(dlq_group)
main.add_command(arbitrage_command)
main.add_command(backtest_command)


@main.command()
@click.option("--keep-stack", is_flag=True, help="Leave the stack, the API and the web board up afterwards.")
@click.option("--sim-seconds", type=float, default=120.0, show_default=True, help="Simulated market seconds.")
@click.option("--league", "leagues", multiple=True, help="Backfill these leagues (default: the settings').")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON at the end.")
def demo(keep_stack: bool, sim_seconds: float, leagues: tuple[str, ...], as_json: bool) -> None:
    """The whole platform on embedded defaults: stack with Druid, producers, streaming, Druid
    ingestion, Airflow (backfill, live load, dbt build), checks between the stages and an HTML report."""
    import json

    from cli.demo import DemoError, run_demo
    from infra.stack.process import ServiceError

    try:
        summary = run_demo(
            get_settings(), keep_stack=keep_stack, sim_seconds=sim_seconds, leagues=leagues or None
        )
    except (DemoError, ServiceError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(summary.as_dict(), default=str))
    if not summary.ok:
        raise click.ClickException("counts disagree between stages (see the checks above)")


if __name__ == "__main__":
    main()
