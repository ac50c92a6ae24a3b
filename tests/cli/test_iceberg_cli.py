"""`lakehouse iceberg ensure|maintain` as a user runs them, on a lake of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iceberg import TABLES

pytestmark = [pytest.mark.spark]


def _cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKEHOUSE_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ensure_then_maintain(tmp_path: Path) -> None:
    first = _cli(tmp_path, "iceberg", "ensure")
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.count("created") == len(TABLES)
    again = _cli(tmp_path, "iceberg", "ensure")
    assert again.stdout.count("unchanged") == len(TABLES)

    maintained = _cli(tmp_path, "iceberg", "maintain", "--table", "silver.odds_quotes")
    assert maintained.returncode == 0, maintained.stderr[-2000:]
    assert maintained.stdout.startswith("silver.odds_quotes: data files 0 -> 0, snapshots")
