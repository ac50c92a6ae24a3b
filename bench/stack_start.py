"""Local stack start-up: time to a healthy broker with every topic, first and later starts.

    .venv/bin/python -m bench.stack_start [--runs 3]

Runs in a temporary state folder on free ports, so it never touches `.local/`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.report import bench_command
from infra.stack import Stack
from infra.stack.process import free_port
from lakehouse.config import KafkaSettings, MotoSettings, Settings
from lakehouse.jvm import ensure_jars
from lakehouse.log import configure_logging


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@bench_command("stack_start")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="restarts to time after the first start")
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        settings = Settings(
            state_dir=Path(tmp),
            kafka=KafkaSettings(port=free_port(), controller_port=free_port()),
            moto=MotoSettings(port=free_port()),
        )
        ensure_jars(settings)
        stack = Stack(settings)
        t0 = time.perf_counter()
        stack.up()
        first = time.perf_counter() - t0
        pid = stack.kafka.running_pid()
        rss = _rss_mib(pid) if pid else float("nan")
        stack.down()
        restarts, with_moto = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            stack.up()
            restarts.append(time.perf_counter() - t0)
            stack.down()
        for _ in range(args.runs):
            t0 = time.perf_counter()
            stack.up(with_moto=True)
            with_moto.append(time.perf_counter() - t0)
            stack.down()
    print(f"first start (format storage, start broker, create every topic): {first:.2f} s")
    print(f"restart on existing data, median of {args.runs}: {statistics.median(restarts):.2f} s")
    print(f"restart with moto (S3 + Glue), median of {args.runs}: {statistics.median(with_moto):.2f} s")
    print(f"broker resident memory after start: {rss:.0f} MiB (heap limit {settings.kafka.heap})")


if __name__ == "__main__":
    main()
