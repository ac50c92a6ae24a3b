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
