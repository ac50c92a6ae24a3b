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


HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(600)"


def test_a_warehouse_held_by_another_process_fails_the_load_cleanly_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    """The warehouse unavailable for longer than the wait: one line naming the cause, Iceberg loaded,
    the warehouse untouched; once it is free, the same command completes the load exactly."""
    state = tmp_path / "state"
    state.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD,
            str(state / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
        env |= {
            "LAKEHOUSE_STATE_DIR": str(state),
            "LAKEHOUSE_CATALOG__KIND": "local",
            "LAKEHOUSE_WAREHOUSE__DUCKDB_LOCK_TIMEOUT_S": "3",
        }
        command = [
            sys.executable,
            "-m",
            "cli.main",
            "batch",
            "backfill",
            "--league",
            "SP1",
            "--season",
            "2021-22",
        ]
        failed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert failed.returncode == 1
        assert (
            "stayed locked by another process for 3 s" in failed.stderr and "Traceback" not in failed.stderr
        )
    finally:
        holder.kill()
        holder.wait()
    catalog = load_catalog(Settings(state_dir=state))
    assert catalog.load_table("history.football_data_matches").scan().to_arrow().num_rows == 380
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        assert (
            con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw'"
            ).fetchone()[0]
            == 0
        )
    rerun = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _counts(state) == (380, 380)
