"""The path users take: Airflow's real scheduler, DAG processor, triggerer and API server.

``dag.test()`` runs tasks in the test process and never goes through the scheduler, the task
runner's logging or data-aware scheduling, which is where the ``dbt_build`` DAG once failed
(``_log_to_target() got multiple values for argument 'target'``, with an empty task log).  Here
``historical_backfill`` is triggered through the REST API as a user's tooling would, and the
Asset event it emits must make the scheduler run ``dbt_build`` to success, with its task logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from infra.stack.process import free_port, port_open

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


class Airflow:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.http = httpx.Client(base_url=f"{url}/api/v2", timeout=30)

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def wait(self, what: str, check: Any, timeout_s: float) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (value := check()) is not None:
                return value
            time.sleep(2)
        raise AssertionError(
            f"timed out waiting for {what}; Airflow log tail:\n{self.log.read_text()[-4000:]}"
        )


def _stack(env: dict[str, str], *args: str) -> Any:
    """`lakehouse stack <args> --json` as a user runs it; its JSON answer."""
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "stack", *args, "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-4000:]
    return json.loads(result.stdout)


@pytest.fixture
def airflow_standalone(tmp_path: Path) -> Iterator[tuple[Airflow, Path]]:
    """`lakehouse stack up --with airflow` (`airflow standalone` with the project's DAGs, and the
    stack's Kafka) on free loopback ports with its own state folder; `stack down` after."""
    state = tmp_path / "state"
    port = free_port()
    env = {
        "LAKEHOUSE_STATE_DIR": str(state),
        "LAKEHOUSE_AIRFLOW__PORT": str(port),
        "LAKEHOUSE_KAFKA__PORT": str(free_port()),
        "LAKEHOUSE_KAFKA__CONTROLLER_PORT": str(free_port()),
        "LAKEHOUSE_CATALOG__KIND": "local",
        "LAKEHOUSE_WAREHOUSE__KIND": "duckdb",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    }
    airflow = Airflow(f"http://127.0.0.1:{port}", state / "stack" / "airflow" / "logs" / "airflow.out")
    try:
        up = _stack(env, "up", "--with", "airflow")["services"]
        assert up["airflow"] == f"started at {airflow.url} (UI and REST API /api/v2)", up
        status = {s["name"]: s for s in _stack(env, "status")["services"]}
        assert status["airflow"]["state"] == "healthy", status

        def parsed() -> Any:
            try:
                dags = {d["dag_id"] for d in airflow.get("/dags")["dags"]}
            except httpx.HTTPError:
                return None
            return dags if {"historical_backfill", "dbt_build"} <= dags else None

        airflow.wait("the DAGs", parsed, 300)
        for dag_id in ("historical_backfill", "dbt_build"):  # the two this path needs
            response = airflow.http.patch(f"/dags/{dag_id}", json={"is_paused": False}, timeout=150)
            assert response.status_code == 200, response.text
        yield airflow, state
    finally:
        down = _stack(env, "down")["services"]
    assert down["airflow"] == down["kafka"] == "stopped", down
    assert not port_open("127.0.0.1", port)


def test_rest_triggered_backfill_makes_the_scheduler_build_dbt(
    airflow_standalone: tuple[Airflow, Path],
) -> None:
    airflow, state = airflow_standalone
    conf = {"leagues": ["SP1"], "seasons": ["2021-22"]}
    backfill = f"rest-{os.getpid()}-{time.monotonic_ns()}"

    def triggered() -> Any:
        """As a user's tooling triggers: its own run id, retried while the API server is busy.

        SQLite serialises writers; right after start-up the scheduler and DAG processor can hold
        the lock long enough for a request to time out. A retry that finds the run (409) is done.
        """
        body = {"dag_run_id": backfill, "logical_date": None, "conf": conf}
        try:
            response = airflow.http.post("/dags/historical_backfill/dagRuns", json=body, timeout=150)
        except httpx.TimeoutException:
            return None
        if response.status_code >= 500:
            return None
        assert response.status_code in (200, 409), f"{response.text}\n{airflow.log.read_text()[-4000:]}"
        return response.status_code

    airflow.wait("the REST trigger", triggered, 600)

    def finished(dag_id: str, run_id: str) -> Any:
        run = airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    run = airflow.wait("historical_backfill", lambda: finished("historical_backfill", backfill), 600)
    assert run["state"] == "success", airflow.get(
        f"/dags/historical_backfill/dagRuns/{backfill}/taskInstances"
    )

    # The backfill's Asset event schedules dbt_build (no trigger of ours).
    def dbt_run() -> Any:
        runs = airflow.get("/dags/dbt_build/dagRuns")["dag_runs"]
        done = [r for r in runs if r["state"] in ("success", "failed")]
        return done[0] if done else None

    run = airflow.wait("dbt_build, scheduled on the Asset", dbt_run, 900)
    assert run["run_type"] == "asset_triggered"
    tasks = airflow.get(f"/dags/dbt_build/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]
    (task,) = tasks
    logs = airflow.get(
        f"/dags/dbt_build/dagRuns/{run['dag_run_id']}/taskInstances/{task['task_id']}/logs/{task['try_number']}"
    )
    text = str(logs["content"])
    assert run["state"] == "success", text[-4000:]
    assert task["try_number"] == 1  # no retry needed
    assert "dbt build" in text and "dbt build finished" in text
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.football_data_matches").fetchone()[0] == 380
