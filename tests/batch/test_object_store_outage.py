"""The object store and catalog (S3 + Glue on moto) stop answering in the middle of an Iceberg
commit: the load waits it out and commits once, and the table holds each row once."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from batch.football_data import SeasonFile, parse_season
from batch.iceberg_load import load_seasons
from iceberg.history import ensure_history_tables
from infra.stack.moto import MotoServer
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings

pytestmark = pytest.mark.integration
OUTAGE_S = 5.0


def test_an_outage_during_the_commit_delays_it_and_loses_nothing(
    moto_server: MotoServer, glue_settings: Settings, shared_data: Path
) -> None:
    catalog = load_catalog(glue_settings)
    ensure_history_tables(catalog)
    pid = moto_server.running_pid()
    assert pid is not None
    commit = catalog.commit_table
    outages: list[float] = []

    def commit_during_an_outage(*args: Any, **kwargs: Any) -> Any:
        """Freeze moto (S3 and Glue) just before the commit goes out, for OUTAGE_S seconds."""
        os.kill(pid, signal.SIGSTOP)
        outages.append(time.monotonic())
        threading.Timer(OUTAGE_S, os.kill, (pid, signal.SIGCONT)).start()
        return commit(*args, **kwargs)

    catalog.commit_table = commit_during_an_outage  # type: ignore[method-assign]
    season = parse_season(
        (shared_data / "football-data/SP1_2122.csv").read_bytes(), SeasonFile("SP1", "2122")
    )
    try:
        for _ in range(2):  # a first load, then the same season again (a rerun)
            started = time.monotonic()
            load_seasons(catalog, [season])
            assert time.monotonic() - started >= OUTAGE_S
    finally:
        os.kill(pid, signal.SIGCONT)
    assert len(outages) == 6  # every commit (three tables, two loads) went through an outage
    matches = load_catalog(glue_settings).load_table("history.football_data_matches")
    rows = matches.scan().to_arrow()
    assert rows.num_rows == len(set(rows["match_id"].to_pylist())) == 380
    # The first load appends; the rerun's overwrite is one commit of a delete and an append
    # snapshot (pyiceberg): nothing committed twice, nothing half-committed.
    assert [s.summary.operation.value for s in matches.snapshots()] == ["append", "delete", "append"]
