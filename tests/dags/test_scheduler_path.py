"""The path users take: Airflow's real scheduler, DAG processor, triggerer and API server.

``dag.test()`` runs tasks in the test process and never goes through the scheduler, the task
runner's logging or data-aware scheduling, which is where the ``dbt_build`` DAG once failed
(``_log_to_target() got multiple values for argument 'target'``, with an empty task log).  Here
``historical_backfill`` is triggered through the REST API as a user's tooling would, and the
Asset event it emits must make the scheduler run ``dbt_build`` to success, with its task logs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from infra.stack.process import free_port

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


@pytest.fixture
def airflow_standalone(tmp_path: Path) -> Iterator[tuple[Airflow, Path]]:
    """`airflow standalone` on a free loopback port, its own home and SQLite DB, our DAGs only."""
    home = tmp_path / "airflow"
    state = tmp_path / "state"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEHOUSE_", "AIRFLOW"))}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        # As a user runs it: every DAG paused until asked for. Unpaused, the hourly ones
        # (lake_to_warehouse, lambda_reconciliation) would run at once and take the DuckDB file.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # SQLite lets one writer in at a time; pysqlite's default 5 s lock wait is too short when
        # the scheduler, DAG processor and API server share two busy cores (a fresh clone's REST
        # trigger once got "Database error": the API server gave up on the lock).
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}?timeout=120",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "LAKEHOUSE_STATE_DIR": str(state),
        "LAKEHOUSE_CATALOG__KIND": "local",
        "LAKEHOUSE_WAREHOUSE__KIND": "duckdb",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    home.mkdir()
    log = tmp_path / "airflow.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "airflow", "standalone"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    airflow = Airflow(f"http://127.0.0.1:{port}", log)
    try:

        def parsed() -> Any:
            if proc.poll() is not None:
                raise AssertionError(
                    f"airflow standalone exited {proc.returncode}:\n{log.read_text()[-4000:]}"
                )
            try:
                dags = {d["dag_id"] for d in airflow.get("/dags")["dags"]}
            except httpx.HTTPError:
                return None
            return dags if {"historical_backfill", "dbt_build"} <= dags else None

        airflow.wait("the API server and the DAGs", parsed, 300)
        for dag_id in ("historical_backfill", "dbt_build"):  # the two this path needs
            response = airflow.http.patch(f"/dags/{dag_id}", json={"is_paused": False}, timeout=150)
            assert response.status_code == 200, response.text
        yield airflow, state
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(60)
        # `standalone` can exit while its scheduler still winds down its executor's workers (a
        # fresh clone left one running for good): whatever of the group is left goes now.
        time.sleep(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


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
