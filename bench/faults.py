"""Faults injected into a running pipeline, and what came out: one table.

    .venv/bin/python -m bench.faults [--records 20000] [--only broker-kill ...] [--record]

Each fault runs on its own broker(s), lake and checkpoints in a temporary folder:

* ``broker-kill``: the broker SIGKILLed a third of the way through producing, restarted 3 s later;
* ``cluster-broker-kill``: one of three brokers SIGKILLed while records are produced and bronze and
  silver stream them (it stays down);
* ``stream-kill``: `lakehouse stream run` (bronze, silver) SIGKILLed mid-stream, then drained by
  a restart from its checkpoints;
* ``poison``: the poison corpus (``tests/streaming/poison.py``), each record after a valid quote,
  through bronze and silver;
* ``object-store-outage``: S3 and Glue (moto) frozen for 5 s at each Iceberg commit of a season's
  load and of its rerun;
* ``concurrent-backfills``: three ``lakehouse batch backfill`` processes at once on a fresh lake
  and warehouse, two of one season and one of another.

The batch faults count matches: ``in`` the valid matches of the season files, ``out`` the rows of
the Iceberg table (outage) or the warehouse (concurrent backfills).

``in`` is what was produced, ``out`` what the last stage holds (silver rows, plus dead letters for
the poison), ``lost`` the produced records missing from it, ``duplicated`` the rows beyond one
per record; ``recover s`` is from the fault to the first record acknowledged (produce faults) or
to the end of the drain after the restart (stream kill).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from bench.report import bench_command
from iceberg import ensure_tables
from infra.stack.kafka import KafkaBroker, KafkaCluster
from infra.stack.process import free_port, free_port_block
from infra.stack.topics import apply_topics
from lakehouse.catalog import load_catalog
from lakehouse.config import PROJECT_ROOT, CatalogSettings, KafkaSettings, Settings, StreamingSettings
from lakehouse.kafka import consumer_config, producer_config
from lakehouse.log import configure_logging
from lakehouse.schemas import validate
from producers.simulator import Simulator


@dataclass
class Outcome:
    fault: str
    records_in: int
    records_out: int
    lost: int
    duplicated: int
    recover_s: float | None


def _quotes(n: int, seed: int) -> list[dict[str, Any]]:
    out = []
    for feed, record in Simulator(seed=seed).run(1_000_000):
        if feed == "odds":
            out.append(validate("odds", record))
            if len(out) == n:
                return out
    raise RuntimeError("the simulator ran out of quotes")


def _settings(home: Path, bootstrap: str, **streaming: Any) -> Settings:
    return Settings(
        state_dir=home / "state",
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        catalog=CatalogSettings(kind="local", name=f"faults_{uuid.uuid4().hex[:8]}"),
        streaming=StreamingSettings(**streaming),
    )


class _Acks:
    """Delivery callbacks: failures, and when the first record produced after the fault was acked."""

    def __init__(self) -> None:
        self.failures = 0
        self.acked_after_fault: list[float] = []
        self.lock = threading.Lock()

    def before(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            with self.lock:
                self.failures += 1

    def after(self, err: KafkaError | None, msg: Message) -> None:
        self.before(err, msg)
        if err is None:
            with self.lock:
                self.acked_after_fault.append(time.monotonic())

    def recovery(self, fault_time: float) -> float | None:
        with self.lock:
            return min(self.acked_after_fault) - fault_time if self.acked_after_fault else None


def _produce(
    kafka: KafkaSettings, records: list[dict[str, Any]], fault_at: int, fault: Callable[[], None]
) -> tuple[_Acks, float]:
    """Produce paced records (1,000 per 0.2 s); call ``fault`` at record ``fault_at``; its time."""
    producer = Producer(producer_config(kafka, client_id="bench-faults"))
    acks, fault_time = _Acks(), 0.0
    for i, record in enumerate(records):
        callback = acks.after if fault_time else acks.before
        producer.produce(
            "odds.quotes", key=record["game_id"], value=json.dumps(record).encode(), on_delivery=callback
        )
        if i % 1000 == 999:
            producer.poll(0)
            time.sleep(0.2)
        if i == fault_at:
            fault_time = time.monotonic()
            fault()
    if producer.flush(180) or acks.failures:
        raise RuntimeError(f"undelivered records: {acks.failures} failed, or still queued after 180 s")
    return acks, fault_time


def _topic_ids(kafka: KafkaSettings, topic: str = "odds.quotes") -> list[str]:
    consumer = Consumer(consumer_config(kafka, group_id=f"bench-{uuid.uuid4().hex}"))
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        ids: list[str] = []
        while len(ids) < sum(ends.values()):
            for message in consumer.consume(1000, 5.0):
                ids.append(json.loads(message.value())["event_id"])
        return ids
    finally:
        consumer.close()


def _score(fault: str, produced: list[str], seen: list[str], recover_s: float | None) -> Outcome:
    distinct = set(seen)
    return Outcome(
        fault, len(produced), len(seen), len(set(produced) - distinct), len(seen) - len(distinct), recover_s
    )


def _broker(home: Path) -> KafkaBroker:
    broker = KafkaBroker(home=home / "kafka", port=free_port(), controller_port=free_port(), heap="384m")
    broker.start()
    apply_topics(broker.bootstrap)
    return broker


def broker_kill(home: Path, n: int) -> Outcome:
    broker = _broker(home)
    try:
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap)
        records = _quotes(n, seed=31)

        def kill_and_restart() -> None:
            broker.kill()
            threading.Timer(3.0, broker.start).start()

        acks, at = _produce(kafka, records, n // 3, kill_and_restart)
        return _score(
            "broker SIGKILL during produce",
            [r["event_id"] for r in records],
            _topic_ids(kafka),
            acks.recovery(at),
        )
    finally:
        broker.stop()


def cluster_broker_kill(home: Path, n: int) -> Outcome:
    from streaming.bronze import bronze_query
    from streaming.runner import stop_between_batches
    from streaming.silver import silver_query

    base = free_port_block(6)
    cluster = KafkaCluster(home=home / "cluster", port=base, controller_port=base + 1, heap="384m", size=3)
    cluster.start()
    try:
        apply_topics(cluster.bootstrap)
        settings = _settings(home, cluster.bootstrap, max_offsets_per_trigger=4000)
        spark = _spark(settings)
        ensure_tables(load_catalog(settings))
        queries = [bronze_query(spark, settings), silver_query(spark, settings)]
        records = _quotes(n, seed=32)
        acks, at = _produce(settings.kafka, records, n // 3, cluster.brokers[1].kill)
        for query in queries:
            query.processAllAvailable()
        for query in queries:
            stop_between_batches(query)
        silver = load_catalog(settings).load_table("silver.odds_quotes").scan().to_arrow()
        return _score(
            "1 of 3 brokers SIGKILL, produce + stream",
            [r["event_id"] for r in records],
            silver["event_id"].to_pylist(),
            acks.recovery(at),
        )
    finally:
        cluster.stop()


def stream_kill(home: Path, n: int) -> Outcome:
    broker = _broker(home)
    try:
        settings = _settings(home, broker.bootstrap, max_offsets_per_trigger=2000)
        records = _quotes(n, seed=33)
        _produce(settings.kafka, records, -1, lambda: None)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")} | {
            "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
            "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": broker.bootstrap,
            "LAKEHOUSE_CATALOG__KIND": "local",
            "LAKEHOUSE_CATALOG__NAME": settings.catalog.name,
            "LAKEHOUSE_STREAMING__MAX_OFFSETS_PER_TRIGGER": "2000",
        }
        command = [sys.executable, "-m", "cli.main", "stream", "run", "--job", "bronze", "--job", "silver"]
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        catalog = load_catalog(settings)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:  # SIGKILL once some batches are in
            try:
                if catalog.load_table("silver.odds_quotes").scan().to_arrow().num_rows > 0:
                    break
            except Exception:
                pass
            time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        subprocess.run(
            [*command, "--available-now"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True
        )
        recovered = time.monotonic() - killed
        silver = load_catalog(settings).load_table("silver.odds_quotes").scan().to_arrow()
        bronze = load_catalog(settings).load_table("bronze.kafka_records").scan().to_arrow()
        assert bronze.num_rows == n, f"bronze holds {bronze.num_rows} rows for {n} Kafka records"
        return _score(
            "stream SIGKILL mid-batch, restart",
            [r["event_id"] for r in records],
            silver["event_id"].to_pylist(),
            recovered,
        )
    finally:
        broker.stop()


def poison(home: Path, n: int) -> Outcome:
    from streaming.runner import run_jobs
    from tests.streaming.poison import corpus

    broker = _broker(home)
    try:
        settings = _settings(home, broker.bootstrap)
        _spark(settings)
        records = _quotes(200, seed=34)
        producer = Producer(
            producer_config(settings.kafka, client_id="bench-poison", **{"message.max.bytes": 2_000_000})
        )
        sent = 0
        valid_ids = []
        for i, record in enumerate(records):
            producer.produce("odds.quotes", key=b"p", value=json.dumps(record).encode(), partition=0)
            valid_ids.append(record["event_id"])
            sent += 1
            poisons = corpus(record)
            if i < len(poisons):
                p = poisons[i]
                producer.produce(
                    "odds.quotes", key=p.key, value=p.value, headers=p.headers or None, partition=0
                )
                sent += 1
                if p.event_id:
                    valid_ids.append(p.event_id)
        assert producer.flush(30) == 0
        run_jobs(settings, ["bronze", "silver"], available_now=True)
        catalog = load_catalog(settings)
        silver = catalog.load_table("silver.odds_quotes").scan().to_arrow()["kafka_offset"].to_pylist()
        dead = catalog.load_table("silver.dead_letters").scan().to_arrow()["kafka_offset"].to_pylist()
        out = silver + dead
        return Outcome(
            f"poison corpus ({len(corpus(records[0]))} kinds)",
            sent,
            len(out),
            sent - len(set(out)),
            len(out) - len(set(out)),
            None,
        )
    finally:
        broker.stop()


def _spark(settings: Settings) -> Any:
    from lakehouse.catalog import spark_catalog_conf
    from lakehouse.spark import build_spark_session

    spark = build_spark_session(settings, app_name="bench-faults")
    for key, value in spark_catalog_conf(settings).items():
        spark.conf.set(key, value)
    return spark


def _season_ids(*seasons: str) -> list[str]:
    """The match ids of SP1 seasons, as the loader validates them."""
    from batch.football_data import SeasonFile, parse_season

    data = Settings().football_data_dir
    return [
        match_id
        for code in seasons
        for match_id in parse_season((data / f"SP1_{code}.csv").read_bytes(), SeasonFile("SP1", code))
        .matches["match_id"]
        .to_pylist()
    ]


def object_store_outage(home: Path, _n: int) -> Outcome:
    import boto3

    from batch.football_data import SeasonFile, parse_season
    from batch.iceberg_load import load_seasons
    from iceberg.history import ensure_history_tables
    from infra.stack.moto import MotoServer

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")  # moto takes any credentials; boto3 wants some
    server = MotoServer(home=home / "moto", port=free_port())
    server.start()
    try:
        bucket = f"lake-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=server.endpoint, region_name="eu-west-1").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        settings = Settings(
            state_dir=home / "state",
            catalog=CatalogSettings(
                kind="glue",
                name="glue",
                s3_warehouse=f"s3://{bucket}/warehouse",
                aws_region="eu-west-1",
                glue_endpoint=server.endpoint,
                s3_endpoint=server.endpoint,
            ),
        )
        catalog = load_catalog(settings)
        ensure_history_tables(catalog)
        pid = server.running_pid()
        assert pid is not None
        commit = catalog.commit_table
        thawed: list[float] = []
        recovered: list[float] = []

        def thaw() -> None:
            thawed.append(time.monotonic())
            os.kill(pid, signal.SIGCONT)

        def frozen_commit(*args: Any, **kwargs: Any) -> Any:
            """Freeze S3 and Glue as the commit goes out; they come back 5 s later."""
            os.kill(pid, signal.SIGSTOP)
            threading.Timer(5.0, thaw).start()
            result = commit(*args, **kwargs)
            recovered.append(time.monotonic() - thawed[-1])  # from the store's return
            return result

        catalog.commit_table = frozen_commit  # type: ignore[method-assign]
        data = Settings().football_data_dir / "SP1_2122.csv"
        season = parse_season(data.read_bytes(), SeasonFile("SP1", "2122"))
        for _ in range(2):  # a load, then its rerun
            load_seasons(catalog, [season])
        os.kill(pid, signal.SIGCONT)
        seen = load_catalog(settings).load_table("history.football_data_matches").scan().to_arrow()
        return _score(
            "object store frozen at each Iceberg commit",
            _season_ids("2122"),
            seen["match_id"].to_pylist(),
            max(recovered),
        )
    finally:
        server.stop()


def concurrent_backfills(home: Path, _n: int) -> Outcome:
    import duckdb

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_STATE_DIR": str(home / "state"), "LAKEHOUSE_CATALOG__KIND": "local"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cli.main", "batch", "backfill", "--league", "SP1", "--season", season],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for season in ("2021-22", "2021-22", "2020-21")
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"a backfill failed:\n{stderr[-2000:]}")
    with duckdb.connect(str(home / "state" / "warehouse.duckdb"), read_only=True) as con:
        seen = [row[0] for row in con.execute("SELECT match_id FROM raw.football_data_matches").fetchall()]
    return _score("3 backfills at once (2 of one season)", _season_ids("2021", "2122"), seen, None)


FAULTS: dict[str, Callable[[Path, int], Outcome]] = {
    "broker-kill": broker_kill,
    "cluster-broker-kill": cluster_broker_kill,
    "stream-kill": stream_kill,
    "poison": poison,
    "object-store-outage": object_store_outage,
    "concurrent-backfills": concurrent_backfills,
}


@bench_command("faults")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--only", nargs="*", choices=sorted(FAULTS), default=None)
    args = parser.parse_args()
    configure_logging("WARNING")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        for name in args.only or FAULTS:
            started = time.monotonic()
            outcome = FAULTS[name](Path(tmp) / name, args.records)
            rows.append((outcome, time.monotonic() - started))
    print(f"{'fault':42} {'in':>8} {'out':>8} {'lost':>6} {'dup':>6} {'recover s':>10} {'run s':>7}")
    for o, seconds in rows:
        recover = "-" if o.recover_s is None else f"{o.recover_s:.1f}"
        print(
            f"{o.fault:42} {o.records_in:>8} {o.records_out:>8} {o.lost:>6} {o.duplicated:>6} "
            f"{recover:>10} {seconds:>7.0f}"
        )


if __name__ == "__main__":
    main()
