"""The README's main job, `lakehouse demo`, as a user runs it: its own Kafka and Druid on free
ports, the real captures and the simulator through the streaming jobs, Druid's ingestion, the
backfill, live load and dbt build through Airflow, then the report.

The demo compares counts between its stages; this test checks its summary and recomputes what
it can independently: the quotes of the captures (parsed here), Druid's rows against the topics
read here, and the marts' rows.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from cli.main import main
from infra.stack.process import free_port
from lakehouse.config import Settings
from lakehouse.schemas import AGGREGATE_TYPES
from producers.replay import odds_api_capture

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SIM_SECONDS = 60


def _env(tmp_path: Path, lake_settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
    }
    for name in ("KAFKA__PORT", "KAFKA__CONTROLLER_PORT"):
        env[f"LAKEHOUSE_{name}"] = str(free_port())
    for port in ("ZOOKEEPER", "COORDINATOR", "BROKER", "HISTORICAL", "INDEXER", "DERBY", "ROUTER"):
        env[f"LAKEHOUSE_DRUID__{port}_PORT"] = str(free_port())
    return env


def test_demo_runs_the_platform_and_its_stages_agree(
    lake_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    env = _env(tmp_path, lake_settings)
    # Its own process, as a user runs it: its own Spark session and lake in its state folder, so
    # nothing it writes reaches the session's shared lake.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "demo",
            "--sim-seconds",
            str(SIM_SECONDS),
            "--league",
            "SP1",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    result_output = result.stdout
    summary = json.loads(result_output.strip().splitlines()[-1])
    assert summary["ok"], summary["checks"]
    stages = [s["name"].split(":")[0] for s in summary["stages"]]
    assert stages == ["stack", "produce", "stream", "druid", "airflow", "report"]
    for stage in summary["stages"]:
        print(f"{stage['name']}: {stage['seconds']} s")

    checks = {c["name"]: c["counts"] for c in summary["checks"]}
    # Every valid quote of every capture (and the simulator's) reached Kafka, and bronze.
    captured = sum(
        len(odds_api_capture(p).events) for p in sorted((shared_data / "odds-api").rglob("*.json"))
    )
    produced = checks["quotes produced = bronze rows"]
    assert produced["kafka odds.quotes"] == produced["bronze"] >= captured > 9_000  # and the simulator's
    for agg in AGGREGATE_TYPES.values():
        counts = checks[f"{agg.name}: topic = Druid"]
        assert counts["topic"] == counts["druid"] > 0, agg.name
    history = next(c for name, c in checks.items() if name.startswith("history matches"))
    assert len(set(history.values())) == 1 and history["csv valid matches"] > 5000  # La Liga, 22 seasons
    marts = checks["marts have rows"]
    state = Path(env["LAKEHOUSE_STATE_DIR"])
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        for relation, rows in marts.items():
            assert con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0] == rows > 0, relation

    report = Path(summary["report"])
    page = report.read_text()
    assert report.parent == state / "reports" and "This section failed" not in page
    assert page.count("<svg") >= 7 and not re.search(r"<(script|link)\b", page)  # self-contained
    assert "Live odds board" in page and "Elo trajectories" in page


def test_an_unknown_league_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(main, ["demo", "--league", "XX"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: unknown league(s) ['XX']; known: E0")
    assert not (tmp_path / "state" / "stack").exists()  # no service was started
