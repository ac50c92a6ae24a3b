"""iceberg_maintenance: the DAG compacts a history table through Spark and keeps every row."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import Settings


@pytest.mark.spark
@pytest.mark.integration
def test_maintenance_dag_compacts_a_history_table(
    dag_bag: Any,
    results: Any,
    spark: Any,
    lake_settings: Settings,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from batch.football_data import SeasonFile, parse_season
    from iceberg.history import FOOTBALL_DATA_MATCHES, ensure_history_tables
    from lakehouse.catalog import load_catalog

    catalog = load_catalog(lake_settings)
    ensure_history_tables(catalog)
    matches = parse_season(
        (shared_data / "football-data/E0_1011.csv").read_bytes(), SeasonFile("E0", "1011")
    ).matches
    table = catalog.load_table(FOOTBALL_DATA_MATCHES.identifier)
    table.delete("league = 'E0' AND season = '2010-11'")
    for start in range(0, 380, 64):  # six small files in one partition, as six appends leave them
        table.append(matches.slice(start, 64))
    before = sorted(table.refresh().scan().to_arrow()["match_id"].to_pylist())

    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(lake_settings.state_dir))  # the Spark session's catalog
    run = dag_bag.get_dag("iceberg_maintenance").test(run_conf={"tables": [FOOTBALL_DATA_MATCHES.identifier]})
    assert run.state == "success", results.states(run)
    report = results.xcom(run, "maintain_tables")[FOOTBALL_DATA_MATCHES.identifier]
    assert report["data_files"][0] >= 6 and report["data_files"][1] < report["data_files"][0]
    assert report["records"][0] == report["records"][1] == len(before)
    after = sorted(
        catalog.load_table(FOOTBALL_DATA_MATCHES.identifier).scan().to_arrow()["match_id"].to_pylist()
    )
    assert after == before and len(after) == 380


@pytest.mark.integration
def test_maintenance_refuses_an_unknown_table(dag_bag: Any, results: Any, lakehouse_env: Path) -> None:
    run = dag_bag.get_dag("iceberg_maintenance").test(run_conf={"tables": ["history.no_such_table"]})
    assert run.state == "failed"
