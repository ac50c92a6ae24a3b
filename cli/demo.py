"""The main job on embedded defaults, end to end on real data.

1. bring the local stack up (real Kafka broker on loopback);
2. publish the real The Odds API capture as canonical odds quotes, validated against the
   shared schema, with the idempotent producer;
3. consume them back (round trip);
4. stream the topic into an Iceberg table with Spark (official Kafka source, Iceberg sink);
5. read the table with pyiceberg (another engine) and price each game with the odds math.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra.stack import Stack
from infra.stack.topics import apply_topics
from lakehouse.config import KafkaSettings, Settings
from lakehouse.kafka import consumer_config, producer_config, spark_options
from lakehouse.log import get_logger
from lakehouse.schemas import get_event_type, iceberg_schema, spark_schema, validate
from producers.connectors.odds_api import TheOddsApi

log = get_logger(__name__)

TOPIC = "odds.quotes"
NAMESPACE = "demo"
TABLE = "odds_quotes"
CAPTURE = Path("odds-api") / "soccer_epl_odds_2024-03-27.json"


class DemoError(RuntimeError):
    """A step of the demo did not produce what it should have."""


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        consumer_config(KafkaSettings(bootstrap_servers=bootstrap), group_id=f"demo-{uuid.uuid4().hex}")
    )


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer(
        consumer_config(KafkaSettings(bootstrap_servers=bootstrap), group_id=f"demo-{uuid.uuid4().hex}")
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        for _ in range(50):  # a just-created partition may not serve offsets for a moment
            try:
                return {
                    p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                    for p in partitions
                }
            except KafkaException:
                time.sleep(0.2)
        raise DemoError(f"no offsets for {topic} after 10 s")
    finally:
        consumer.close()


def _produce(bootstrap: str, records: list[dict], progress: Progress) -> int:
    failures: list[str] = []
    producer = Producer(
        producer_config(KafkaSettings(bootstrap_servers=bootstrap), client_id="demo", **{"linger.ms": 10})
    )
    task = progress.add_task("produce odds quotes", total=len(records))

    def delivered(err, _msg) -> None:
        if err is not None:
            failures.append(str(err))
        progress.advance(task)

    for record in records:
        producer.produce(
            TOPIC, key=record["game_id"], value=json.dumps(record).encode(), on_delivery=delivered
        )
        producer.poll(0)
    if producer.flush(60) or failures:
        raise DemoError(f"{len(failures)} records failed delivery: {failures[:3]}")
    return len(records)


def _consume_back(bootstrap: str, start: dict[int, int], expected: int, progress: Progress) -> set[str]:
    consumer = Consumer(
        consumer_config(KafkaSettings(bootstrap_servers=bootstrap), group_id=f"demo-{uuid.uuid4().hex}")
    )
    consumer.assign([TopicPartition(TOPIC, p, o) for p, o in start.items()])
    task = progress.add_task("consume them back", total=expected)
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while len(seen) < expected and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=500, timeout=1.0):
            if msg.error() is None:
                seen.add(json.loads(msg.value())["event_id"])
                progress.update(task, completed=len(seen))
    consumer.close()
    return seen


def _stream_to_iceberg(settings: Settings, start: dict[int, int]) -> str:
    """Kafka -> Spark Structured Streaming -> Iceberg: one availableNow run from this run's offsets."""
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import DayTransform
    from pyspark.sql import functions as F

    from lakehouse.catalog import load_catalog
    from lakehouse.spark import build_spark_session

    event_type = get_event_type("odds")
    catalog = load_catalog(settings)
    catalog.create_namespace_if_not_exists(NAMESPACE)
    identifier = f"{NAMESPACE}.{TABLE}"
    if catalog.table_exists(identifier):
        catalog.drop_table(identifier)
    schema = iceberg_schema(event_type)
    spec = PartitionSpec(
        PartitionField(schema.find_field("event_time").field_id, 1000, DayTransform(), "event_day")
    )
    catalog.create_table(identifier, schema=schema, partition_spec=spec, properties={"format-version": "2"})

    checkpoint = settings.state_dir / "demo" / "checkpoint"
    shutil.rmtree(checkpoint, ignore_errors=True)
    spark = build_spark_session(settings, app_name="lakehouse-demo")
    # Rows were validated against the schema before they were produced; from_json still
    # types every column nullable, so let Iceberg trust the required flags.
    spark.conf.set("spark.sql.iceberg.check-nullability", "false")
    offsets = lambda o: json.dumps({TOPIC: {str(p): v for p, v in o.items()}})  # noqa: E731
    source = (
        spark.readStream.format("kafka")
        .options(**spark_options(settings.kafka))
        .option("subscribe", TOPIC)
        .option("startingOffsets", offsets(start))
        .load()
        .select(F.from_json(F.col("value").cast("string"), spark_schema(event_type)).alias("r"))
        .select("r.*")
    )
    table = f"{settings.catalog.name}.{identifier}"
    query = (
        source.writeStream.format("iceberg")
        .outputMode("append")
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .toTable(table)
    )
    query.awaitTermination()
    if query.exception() is not None:
        raise DemoError(f"streaming query failed: {query.exception()}")
    return identifier


BOARD_COLUMNS = ("game", "books", "best H / D / A", "fair H / D / A", "arbitrage")


def _price_games(settings: Settings, identifier: str) -> tuple[int, list[tuple[str, ...]]]:
    """Read the table with pyiceberg and judge each game's 1X2 line with the shared core: best
    prices, consensus Shin fair probabilities, and the arbitrage window by the trader's rules.
    Returns the table's row count and the board's rows (``BOARD_COLUMNS``), 12 games at most."""
    from lakehouse.catalog import load_catalog
    from lakehouse.market.board import Quote, arbitrage_window, summarise_market

    table_ = load_catalog(settings).load_table(identifier)
    total = table_.scan().to_arrow().num_rows
    rows = table_.scan(row_filter="market == 'h2h'").to_arrow().to_pylist()
    teams = {r["game_id"]: (r["home_team"], r["away_team"]) for r in rows}
    lines = summarise_market(Quote.from_record(r) for r in rows)
    rules = settings.trading.rules()
    order = ("home", "draw", "away")
    board: list[tuple[str, ...]] = []
    for line in sorted(lines, key=lambda s: teams[s.game_id])[:12]:
        window = arbitrage_window(line, rules)
        fair = line.fair_shin
        home, away = teams[line.game_id]
        board.append(
            (
                f"{home} v {away}",
                str(len(line.prices)),
                " / ".join(f"{line.best_prices[s]:.2f}" for s in order),
                " / ".join(f"{fair[s]:.3f}" for s in order) if fair else "-",
                f"{window.status} {window.gross_return:+.2%}" if window else "-",
            )
        )
    return total, board


def _board_table(board: list[tuple[str, ...]]) -> Table:
    table = Table(
        title="EPL 1X2 read back from Iceberg: best price across books, consensus Shin fair probability, "
        "arbitrage as a trader judges it"
    )
    for column in BOARD_COLUMNS:
        table.add_column(column, no_wrap=column != "game")
    for row in board:
        table.add_row(*row)
    return table


def run_demo(settings: Settings, keep_stack: bool = False) -> int:
    """Run every step; returns the number of quotes that made the whole trip."""
    console = Console(width=max(Console().width, 110))
    started = time.monotonic()
    stack = Stack(settings)
    # An explicitly configured cluster is used as is; otherwise the local stack is started.
    external = bool(settings.kafka.bootstrap_servers)
    was_running = external or stack.kafka.running_pid() is not None
    console.print("[bold]1/5[/] stack up")
    if external:
        apply_topics(settings.kafka.bootstrap)
        console.print(f"    kafka    external cluster {settings.kafka.bootstrap}")
    else:
        for name, action in stack.up().items():
            console.print(f"    {name:8} {action}")
    try:
        capture = settings.shared_data_dir / CAPTURE
        events = json.loads(capture.read_text())
        parsed = TheOddsApi().parse_events(events)
        if parsed.rejects:
            raise DemoError(f"{len(parsed.rejects)} captured quotes rejected: {parsed.rejects[0].reason}")
        records = [validate("odds", q) for q in parsed.events]
        bootstrap = settings.kafka.bootstrap
        start = _end_offsets(bootstrap, TOPIC)
        with Progress(
            TextColumn("    {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            console.print(
                f"[bold]2/5[/] publish {len(records)} quotes of {len(events)} games from {capture.name}"
            )
            produced = _produce(bootstrap, records, progress)
            console.print("[bold]3/5[/] Kafka round trip")
            seen = _consume_back(bootstrap, start, produced, progress)
        if seen != {r["event_id"] for r in records}:
            raise DemoError(f"round trip lost records: produced {produced}, consumed {len(seen)}")
        console.print("[bold]4/5[/] Spark Structured Streaming: Kafka -> Iceberg")
        identifier = _stream_to_iceberg(settings, start)
        console.print("[bold]5/5[/] pyiceberg reads the table back")
        rows, board = _price_games(settings, identifier)
        if rows != produced:
            raise DemoError(f"Iceberg holds {rows} rows, expected {produced}")
        console.print(_board_table(board))
        console.print(
            f"[green]OK[/] {produced} quotes: Kafka {produced} -> consumed {len(seen)} -> "
            f"Iceberg {settings.catalog.name}.{identifier} {rows} rows "
            f"({settings.warehouse_path}); {time.monotonic() - started:.1f}s"
        )
        return rows
    finally:
        if not keep_stack and not was_running:
            stack.down()
            console.print("    stack down (started by the demo; use --keep-stack to leave it up)")
