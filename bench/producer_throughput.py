"""Normalised odds records per second from one producer process, next to Kafka's own perf test.

    .venv/bin/python -m bench.producer_throughput [--records 300000]

Starts its own broker (temporary folder, free ports).  The Python side is the real producer
path: canonical records (the real Odds API capture, repeated with fresh ids and prices) are
schema-validated and published by `producers.publisher.Publisher` (idempotent, acks=all,
zstd).  Kafka's `ProducerPerformance` (the jars' `kafka-producer-perf-test`) then sends the
same number of records of the same average size with the same producer settings.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

from bench.report import bench_command
from infra.stack.kafka import KafkaBroker
from infra.stack.process import free_port
from infra.stack.topics import TopicSpec, apply_topics
from lakehouse.config import KafkaSettings, Settings
from lakehouse.jvm import classpath, java_executable
from lakehouse.kafka import producer_config
from lakehouse.log import configure_logging
from lakehouse.schemas import validate
from producers.publisher import Publisher, encode_record
from producers.replay import odds_api_capture

CAPTURE = Path("odds-api") / "soccer_epl_odds_2024-03-27.json"


def make_records(n: int) -> list[dict]:
    base = odds_api_capture(Settings().shared_data_dir / CAPTURE).events
    records = []
    for i in range(n):
        r = dict(base[i % len(base)])
        r["event_id"] = f"bench-{i}"
        r["price"] = round(r["price"] + (i // len(base)) * 0.01, 2)
        records.append(r)
    return records


def python_rate(bootstrap: str, topic_records: list[dict]) -> tuple[float, int]:
    publisher = Publisher(KafkaSettings(bootstrap_servers=bootstrap), client_id="bench")
    import producers.publisher as pub

    original = pub.feed_topic
    pub.feed_topic = lambda feed: "bench.python"  # same code path, its own topic
    try:
        start = time.perf_counter()
        for i in range(0, len(topic_records), 10_000):
            publisher.publish("odds", topic_records[i : i + 10_000])
        remaining = publisher.flush(120)
        elapsed = time.perf_counter() - start
    finally:
        pub.feed_topic = original
    delivered = publisher.stats.delivered["odds"]
    if remaining or delivered != len(topic_records):
        raise RuntimeError(f"delivered {delivered} of {len(topic_records)}")
    return len(topic_records) / elapsed, delivered


def java_rate(bootstrap: str, n: int, record_size: int) -> float:
    props = {
        k: v
        for k, v in producer_config(KafkaSettings(bootstrap_servers=bootstrap), client_id="bench").items()
        if k in ("acks", "compression.type", "linger.ms", "batch.size")
    }
    props["enable.idempotence"] = "true"
    cmd = [
        java_executable(),
        "-Xmx512m",
        "-cp",
        classpath("kafka"),
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        "bench.java",
        "--num-records",
        str(n),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--producer-props",
        f"bootstrap.servers={bootstrap}",
        *[f"{k}={v}" for k, v in props.items()],
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.findall(r"([\d.]+) records/sec", out)
    return float(match[-1])


@bench_command("producer_throughput")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    args = parser.parse_args()
    configure_logging("WARNING")
    records = make_records(args.records)
    size = round(sum(len(encode_record(validate("odds", r))) for r in records[:5000]) / 5000)
    with tempfile.TemporaryDirectory(prefix="bench-producer-") as tmp:
        broker = KafkaBroker(home=Path(tmp), port=free_port(), controller_port=free_port(), heap="1g")
        broker.start()
        try:
            apply_topics(broker.bootstrap, [TopicSpec(t, 6, 1) for t in ("bench.python", "bench.java")])
            py, _ = python_rate(broker.bootstrap, records)
            java = java_rate(broker.bootstrap, args.records, size)
        finally:
            broker.stop()
    print(f"records: {args.records}, average record size: {size} bytes, acks=all, idempotent, zstd")
    print(f"lakehouse producer (validate + publish): {py:,.0f} records/s")
    print(f"kafka-producer-perf-test (same broker settings): {java:,.0f} records/s")
    print(f"ratio: {py / java:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
