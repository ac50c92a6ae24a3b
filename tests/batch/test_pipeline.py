"""The backfill as a whole: which seasons it picks, and the CLI's counts (rejects included)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from batch.pipeline import backfill, discover
from lakehouse.config import Settings


def test_discover_by_league_season_and_date_range(batch_settings: Settings) -> None:
    every = discover(batch_settings)
    assert len(every) == 47
    assert sum(sf.league == "E0" for sf in every) == 25 and sum(sf.league == "SP1" for sf in every) == 22
    picked = discover(batch_settings, leagues=["SP1"], seasons=["2021-22", "2019/20"])
    assert [str(sf) for sf in picked] == ["SP1 2019-20", "SP1 2021-22"]
    ranged = discover(batch_settings, start=date(2022, 6, 1), end="2023-01-31")
    assert [str(sf) for sf in ranged] == ["E0 2021-22", "E0 2022-23", "SP1 2021-22"]
    with pytest.raises(ValueError, match="unknown league"):
        discover(batch_settings, leagues=["XX9"])
    with pytest.raises(ValueError, match=r"no season file for SP1 2024-25 in"):
        discover(batch_settings, leagues=["SP1"], seasons=["2024-25"])


def test_backfill_counts_add_up(bad_input_settings: Settings) -> None:
    result = backfill(bad_input_settings)
    assert result.partitions == [("E0", "2023-24")]
    p = result.parsed
    assert (p.rows, p.matches, p.prices, p.rejects) == (10, 5, 73, 9)
    expected = {"football_data_matches": 5, "football_data_odds": 73, "football_data_rejects": 9}
    assert result.iceberg == result.warehouse == expected
    with duckdb.connect(str(bad_input_settings.duckdb_path), read_only=True) as con:
        rows = con.execute(
            "SELECT source_row, source_column, reason FROM raw.football_data_rejects"
        ).fetchall()
    assert len(rows) == 9 and (7, None, "duplicate match of row 1") in rows


@pytest.mark.integration
def test_cli_backfill_reports_rejects(tmp_path: Path, bad_input_file: Path) -> None:
    env = {
        **os.environ,
        "LAKEHOUSE_STATE_DIR": str(tmp_path),
        "LAKEHOUSE_BATCH__FOOTBALL_DATA_DIR": str(bad_input_file.parent),
        "LAKEHOUSE_CATALOG__KIND": "local",
        "LAKEHOUSE_WAREHOUSE__KIND": "duckdb",
    }
    cmd = [sys.executable, "-m", "cli.main", "batch", "backfill", "--league", "E0", "--season", "2023-24"]
    root = Path(__file__).resolve().parents[2]
    for run in (1, 2):
        out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=300, check=False)
        assert out.returncode == 0, out.stderr[-3000:]
        assert "10 rows -> 5 matches, 73 prices, 9 rejects (5 rows, 2 prices, 1 cells, 1 file)" in out.stdout
        assert "duckdb: football_data_matches 5, football_data_odds 73, football_data_rejects 9" in out.stdout
        assert ("1 landed" if run == 1 else "1 unchanged") in out.stdout
    # The same run for a script: one JSON document on stdout, the progress bars on stderr.
    out = subprocess.run(
        [*cmd, "--json"], env=env, cwd=root, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    parsed = summary["parsed"]
    assert (parsed["rows"], parsed["matches"], parsed["prices"], parsed["rejects"]) == (10, 5, 73, 9)
    assert summary["warehouse"] == {
        "football_data_matches": 5,
        "football_data_odds": 73,
        "football_data_rejects": 9,
    }
    assert summary["landed"] == {"unchanged": 1} and summary["partitions"] == [["E0", "2023-24"]]
