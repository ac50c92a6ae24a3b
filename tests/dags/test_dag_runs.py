"""The demo's one-process DAG runs (`python -m infra.stack.dag_runs`): each step's start and end
in the events file, and a DAG that is not there ends the runs non-zero, named, after the
metadata database was migrated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dags.conftest import AIRFLOW_ENV, ROOT

pytestmark = pytest.mark.integration


def test_a_missing_dag_stops_the_runs_and_is_named(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    runs = [["no_such_dag", {}], ["dbt_build", {}]]
    result = subprocess.run(
        [sys.executable, "-m", "infra.stack.dag_runs", str(events), json.dumps(runs)],
        env={**os.environ, **AIRFLOW_ENV},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    steps = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(s["step"], s["event"]) for s in steps] == [
        ("metadata database", "started"),
        ("metadata database", "finished"),
        ("no_such_dag", "started"),
        ("no_such_dag", "finished"),
    ]
    assert steps[1]["state"] == "success"
    assert steps[3]["state"].startswith("not found")
