"""`lakehouse stack up|down|status` as a user runs it: idempotent, crash-aware, leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, Producer

from infra.stack.process import free_port, port_open
from infra.stack.topics import load_topic_specs
from serving.api.keys import new_key

pytestmark = pytest.mark.integration


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def _count(bootstrap: str, topic: str, run: str) -> int:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"count-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    seen, idle = 0, 0
    while idle < 5:
        batch = consumer.consume(num_messages=1000, timeout=1.0)
        idle = idle + 1 if not batch else 0
        seen += sum(1 for m in batch if m.error() is None and m.key() and m.key().decode().startswith(run))
    consumer.close()
    return seen


def test_stack_lifecycle(tmp_path: Path) -> None:
    ports = {"kafka": free_port(), "controller": free_port(), "moto": free_port(), "api": free_port()}
    env = {
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
        "LAKEHOUSE_KAFKA__PORT": str(ports["kafka"]),
        "LAKEHOUSE_KAFKA__CONTROLLER_PORT": str(ports["controller"]),
        "LAKEHOUSE_MOTO__PORT": str(ports["moto"]),
        "LAKEHOUSE_API__PORT": str(ports["api"]),
    }
    key, entry = new_key("ops", ("read",))
    bootstrap = f"127.0.0.1:{ports['kafka']}"
    kafka_pid_file = tmp_path / "state" / "stack" / "kafka" / "kafka.pid"
    moto_pid_file = tmp_path / "state" / "stack" / "moto" / "moto.pid"
    try:
        keyless = _cli(env, "stack", "up", "--with", "api")  # refused before anything starts
        assert (
            keyless.returncode == 1 and "needs keys" in keyless.stderr and "Traceback" not in keyless.stderr
        )
        assert not kafka_pid_file.exists()
        first = _cli(env, "stack", "up", "--with-moto")
        assert first.returncode == 0, first.stderr
        assert "kafka    started" in first.stdout and "moto     started" in first.stdout
        n = len(load_topic_specs())
        assert f"{n} changed of {n}" in first.stdout  # every topic of infra/topics.yaml created
        kafka_pid = int(kafka_pid_file.read_text())
        moto_pid = int(moto_pid_file.read_text())

        second = _cli(env | {"LAKEHOUSE_API__KEYS": entry}, "stack", "up", "--with-moto", "--with", "api")
        assert second.returncode == 0, second.stderr
        assert "kafka    already running" in second.stdout
        assert "moto     already running" in second.stdout
        assert f"api      started at http://127.0.0.1:{ports['api']}" in second.stdout
        api = f"http://127.0.0.1:{ports['api']}"
        assert httpx.get(f"{api}/healthz").json() == {"status": "ok"}
        no_warehouse = httpx.get(f"{api}/v1/history/elo", headers={"X-API-Key": key})
        assert no_warehouse.status_code == 503 and "no warehouse" in no_warehouse.json()["detail"]
        assert f"0 changed of {n}" in second.stdout
        assert int(kafka_pid_file.read_text()) == kafka_pid

        status = _cli(env, "stack", "status")
        assert status.returncode == 0 and "kafka    healthy" in status.stdout, status.stdout
        assert "api      healthy" in status.stdout

        # Commit records with acks=all, then crash the broker hard.
        run = uuid.uuid4().hex[:8]
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
        for i in range(500):
            producer.produce("games.events", key=f"{run}-{i % 7}", value=str(i).encode())
        assert producer.flush(30) == 0
        os.kill(kafka_pid, signal.SIGKILL)

        crashed = _cli(env, "stack", "status")
        assert crashed.returncode == 1
        assert "kafka    unhealthy" in crashed.stdout

        recovered = _cli(env, "stack", "up")
        assert recovered.returncode == 0, recovered.stderr
        assert "kafka    started" in recovered.stdout
        assert _cli(env, "stack", "status").returncode == 0
        assert _count(bootstrap, "games.events", run) == 500

        kafka_pid = int(kafka_pid_file.read_text())
    finally:
        down = _cli(env, "stack", "down")
    assert down.returncode == 0, down.stderr
    assert "kafka    stopped" in down.stdout and "moto     stopped" in down.stdout
    assert "api      stopped" in down.stdout
    assert not _pid_alive(kafka_pid) and not _pid_alive(moto_pid)
    assert not any(port_open("127.0.0.1", p) for p in ports.values())
    assert not kafka_pid_file.exists() and not moto_pid_file.exists()
    after = _cli(env, "stack", "status")
    assert after.returncode == 1 and "kafka    stopped" in after.stdout
