"""Two backfills at once, as two operators (or a cron and an Airflow run) would start them, on a
fresh lake: both succeed, and Iceberg and the warehouse hold every season once.  Before, one of
two same-season runs failed in 4 of 4 trials (an Iceberg validation conflict not retried, the
DuckDB file lock not awaited) and two different seasons left the warehouse one season short."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from lakehouse.catalog import load_catalog
from lakehouse.config import Settings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _backfills(state: Path, seasons: list[str]) -> list[subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_STATE_DIR": str(state), "LAKEHOUSE_CATALOG__KIND": "local"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cli.main", "batch", "backfill", "--league", "SP1", "--season", season],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for season in seasons
    ]
    out = []
    for proc, season in zip(procs, seasons, strict=True):
        stdout, stderr = proc.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
        assert proc.returncode == 0, f"backfill of {season} failed:\n{stderr[-3000:]}"
    return out


def _counts(state: Path) -> tuple[int, int]:
    catalog = load_catalog(Settings(state_dir=state))
    iceberg = catalog.load_table("history.football_data_matches").scan().to_arrow().num_rows
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        warehouse = con.execute("SELECT count(*) FROM raw.football_data_matches").fetchone()[0]
    return iceberg, warehouse


@pytest.mark.parametrize(
    ("seasons", "matches"),
    [(["2021-22", "2021-22"], 380), (["2020-21", "2021-22"], 760)],
    ids=["same", "two"],
)
def test_two_backfills_at_once(tmp_path: Path, seasons: list[str], matches: int) -> None:
    _backfills(tmp_path / "state", seasons)
    assert _counts(tmp_path / "state") == (matches, matches)
