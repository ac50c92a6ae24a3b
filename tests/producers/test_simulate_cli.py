"""The simulator into the real broker, and a clean flush when the process is told to stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.stack.kafka import KafkaBroker
from lakehouse.config import Settings
from producers.app import simulate

pytestmark = pytest.mark.integration


def test_simulated_minutes_land_in_kafka(lake_settings: Settings, topic_reader, tmp_path: Path) -> None:
    settings = lake_settings.model_copy(update={"state_dir": tmp_path})
    start = {t: topic_reader.end_offsets(t) for t in ("odds.quotes", "games.events")}
    summary = simulate(settings, seconds=180, seed=7)
    odds = [
        r
        for r in topic_reader.read("odds.quotes", start["odds.quotes"])
        if r["headers"]["source"] == "simulator"
    ]
    games = [
        r
        for r in topic_reader.read("games.events", start["games.events"])
        if r["headers"]["source"] == "simulator"
    ]
    assert summary["sent"] == len(odds) + len(games)
    assert len(odds) > 1000 and len(games) > 10
    assert summary["arbitrages"] >= 1
    assert all(r["key"] == r["value"]["game_id"] for r in odds + games)


def test_sigterm_stops_a_realtime_run_and_flushes_everything(
    kafka_broker: KafkaBroker, topic_reader, tmp_path: Path
) -> None:
    start = {t: topic_reader.end_offsets(t) for t in ("odds.quotes", "games.events")}
    env = {
        **os.environ,
        "LAKEHOUSE_STATE_DIR": str(tmp_path),
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "produce",
            "simulate",
            "--realtime",
            "--rate",
            "500",
            "--seconds",
            "3600",
            "--seed",
            "99",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    sent = int(re.search(r"sent (\d+)", out).group(1))
    assert sent > 500  # it ran for a while...
    delivered = [
        r
        for topic in ("odds.quotes", "games.events")
        for r in topic_reader.read(topic, start[topic])
        if r["value"]["event_id"].startswith("sim-99-")
    ]
    assert len(delivered) == sent  # every record it counted as sent reached Kafka before exit


def test_undelivered_records_fail_the_command_with_the_count(tmp_path: Path) -> None:
    """With the broker down, `produce simulate` once printed "sent 40120" and exited 0."""
    from infra.stack.process import free_port

    env = {
        **os.environ,
        "LAKEHOUSE_STATE_DIR": str(tmp_path),
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",  # nothing listens there
        "LAKEHOUSE_KAFKA__DELIVERY_TIMEOUT_MS": "2000",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "produce", "simulate", "--seconds", "60", "--seed", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 1
    sent = int(re.search(r"sent (\d+)", proc.stdout).group(1))
    failed = re.search(r"Error: (\d+) records were not delivered to Kafka", proc.stderr)
    assert failed and int(failed.group(1)) == sent > 0, proc.stderr[-1000:]
    assert "Traceback" not in proc.stderr
