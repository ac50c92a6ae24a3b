"""Airflow for the DAG tests: its own home and SQLite metadata DB, migrated once per session.

Airflow reads its configuration when first imported, so the environment is set here, at
collection, before any test imports it; the DAG tests import Airflow inside their fixtures.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
FIXTURES = Path(__file__).parent / "fixtures"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-tests-"))
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(AIRFLOW_HOME / "logs"),
}
os.environ.update(AIRFLOW_ENV)
atexit.register(shutil.rmtree, AIRFLOW_HOME, True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """`airflow db migrate` once (a subprocess: the cheapest way that leaves nothing imported)."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**os.environ, **AIRFLOW_ENV},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def dag_bag(airflow_db: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def xcom(dag_run: Any, task_id: str) -> Any:
    """The return value a task of a finished ``dag.test()`` run pushed."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key="return_value")
            .one()
        )
        return XComModel.deserialize_value(row)


def task_states(dag_run: Any) -> dict[str, list[str]]:
    """task id -> the states of its instances (one per mapped index)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
        out: dict[str, list[str]] = {}
        for ti in rows:
            out.setdefault(ti.task_id, []).append(str(ti.state))
        return out


class RunResults:
    """Read a finished ``dag.test()`` run back from the metadata DB."""

    xcom = staticmethod(xcom)
    states = staticmethod(task_states)


@pytest.fixture
def results(airflow_db: Path) -> type[RunResults]:
    return RunResults


@pytest.fixture
def lakehouse_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for tasks run by ``dag.test()`` in this process: a private state folder."""
    state = tmp_path / "state"
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(state))
    monkeypatch.setenv("LAKEHOUSE_CATALOG__KIND", "local")
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE__KIND", "duckdb")
    return state
