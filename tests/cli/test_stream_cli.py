"""`lakehouse stream start | status | stop`: a background streaming process an operator can manage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from infra.stack.kafka import KafkaBroker
from lakehouse.catalog import load_catalog
from lakehouse.config import KafkaSettings, Settings
from producers.simulator import Simulator

pytestmark = [pytest.mark.integration, pytest.mark.spark]
ROOT = Path(__file__).resolve().parents[2]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "stream", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_start_status_stop(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {
        **os.environ,
        "LAKEHOUSE_STATE_DIR": str(state),
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        "LAKEHOUSE_STREAMING__STARTING_OFFSETS": "latest",
    }
    # A previous run's figures are on disk: status must not present them as this run's.
    (state / "streaming").mkdir(parents=True)
    (state / "streaming" / "metrics.json").write_text(
        json.dumps({"bronze": {"batch_id": 99, "input_rows": 12345, "timestamp": "2020-01-01T00:00:00Z"}})
    )
    stopped = _cli(env, "status")
    assert stopped.returncode == 1 and "streaming stopped" in stopped.stdout
    assert "Traceback" not in stopped.stderr  # an older run's metrics file, without today's figures
    assert "  bronze      batch 99: 12345 rows, ?/s, ? ms, lag ?" in stopped.stdout

    started = _cli(env, "start", "--job", "bronze")
    assert started.returncode == 0, started.stderr
    assert "streaming started" in started.stdout
    try:
        assert "already running" in _cli(env, "start", "--job", "bronze").stdout
        records = [r for feed, r in Simulator(seed=9).run(60) if feed == "odds"][:200]
        deadline = time.monotonic() + 180
        status = ""
        while time.monotonic() < deadline:
            producer = Producer({"bootstrap.servers": kafka_broker.bootstrap})
            for r in records:
                producer.produce("odds.quotes", key=r["game_id"], value=json.dumps(r).encode())
            producer.flush(10)
            result = _cli(env, "status")
            status = result.stdout
            fresh = "bronze" in status and "12345 rows" not in status and ": 0 rows" not in status
            if result.returncode == 0 and fresh:
                break
            time.sleep(3)
        assert "running (pid" in status, status
        line = next(x for x in status.splitlines() if x.strip().startswith("bronze"))
        assert "12345" not in line and "batch 99" not in line
        assert int(line.split(":")[1].split("rows")[0]) > 0
    finally:
        stop = _cli(env, "stop")
    assert stop.returncode == 0 and "streaming stopped" in stop.stdout
    # Graceful: the driver stopped its query between batches and logged it; the JVM was not
    # killed under it (signalling the whole group once did that).
    from infra.stack.process import ManagedProcess

    log = ManagedProcess("streaming", state / "streaming", marker="").log_file.read_text()
    assert "streaming stopped" in log, log[-3000:]
    assert "query failed" not in log and "Traceback" not in log and "threw an exception" not in log, log[
        -3000:
    ]
    assert _cli(env, "status").returncode == 1
    assert "not running" in _cli(env, "stop").stdout

    settings = Settings(state_dir=state, kafka=KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))
    bronze = load_catalog(settings).load_table("bronze.kafka_records").scan().to_arrow()
    assert bronze.num_rows >= 200
