"""data_quality and lambda_reconciliation through `dag.test()`: a clean lake passes, a bad row or a
corrupted gold row fails the run, naming what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from iceberg import ensure_tables
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, KafkaSettings, Settings
from tests.support.rows import append_rows, silver_quote

pytestmark = pytest.mark.integration


def _lake(state: Path) -> tuple[Settings, Any]:
    settings = Settings(
        state_dir=state,
        catalog=CatalogSettings(kind="local"),
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
    )
    catalog = load_catalog(settings)
    ensure_tables(catalog)
    return settings, catalog


def test_data_quality_passes_a_clean_day_and_fails_on_a_bad_price(
    dag_bag: Any, results: Any, lakehouse_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9")  # health samples dropped, logged
    _, catalog = _lake(lakehouse_env)
    now = datetime.now(UTC) - timedelta(hours=1)
    append_rows(
        catalog,
        "silver.odds_quotes",
        [silver_quote(f"q{i}", now + timedelta(minutes=i), 2.0) for i in range(5)],
    )
    dag = dag_bag.get_dag("data_quality")

    clean = dag.test()
    assert clean.state == "success", results.states(clean)
    checked = {t["table"]: t for t in results.xcom(clean, "check_lake_tables")["tables"]}
    assert checked["silver_odds_quotes"]["rows"] == 5 and checked["silver_odds_quotes"]["passed"]
    assert Path(results.xcom(clean, "check_lake_tables")["data_docs"]).is_file()

    append_rows(catalog, "silver.odds_quotes", [silver_quote("bad", now, 0.9)])
    bad = dag.test()
    assert bad.state == "failed"
    assert results.states(bad) == {"check_lake_tables": ["failed"]}  # failed at once: no retry for bad data


def test_lambda_reconciliation_passes_an_empty_lake(dag_bag: Any, results: Any, lakehouse_env: Path) -> None:
    _lake(lakehouse_env)
    run = dag_bag.get_dag("lambda_reconciliation").test()
    assert run.state == "success", results.states(run)
    assert results.xcom(run, "reconcile_final_rows")["mismatches"] == 0
