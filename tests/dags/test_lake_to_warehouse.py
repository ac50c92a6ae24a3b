"""lake_to_warehouse through `dag.test()`: the live tables into DuckDB, then a run with nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from iceberg import ensure_tables
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, Settings
from tests.support.rows import append_rows, silver_quote

AT = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)


@pytest.mark.integration
def test_live_tables_load_once_and_a_second_run_changes_nothing(
    dag_bag: Any, results: Any, lakehouse_env: Path
) -> None:
    settings = Settings(state_dir=lakehouse_env, catalog=CatalogSettings(kind="local"))
    catalog = load_catalog(settings)
    ensure_tables(catalog)
    quotes = [silver_quote(f"q{i}", AT + timedelta(hours=7 * i), 2.0 + i / 100) for i in range(12)]
    append_rows(catalog, "silver.odds_quotes", quotes)
    dag = dag_bag.get_dag("lake_to_warehouse")

    first = dag.test()
    assert first.state == "success", results.states(first)
    summary = results.xcom(first, "load_live_tables")
    assert summary["kind"] == "duckdb"
    assert summary["tables"]["silver_odds_quotes"] == {"rows": 12, "dates": None}
    assert summary["totals"]["silver_odds_quotes"] == 12
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        held = con.execute("SELECT event_id, price FROM raw.silver_odds_quotes ORDER BY event_id").fetchall()
    assert sorted(held) == sorted((q["event_id"], q["price"]) for q in quotes)

    second = dag.test()
    assert second.state == "success", results.states(second)
    assert results.xcom(second, "load_live_tables")["tables"] == {}
