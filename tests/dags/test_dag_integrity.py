"""Every DAG imports, has no cycle, and carries owners, retries and tags (Astronomer's checklist)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {
    "historical_backfill",
    "dbt_build",
    "iceberg_maintenance",
    "teams_sync",
    "model_training",
    "lake_to_warehouse",
    "data_quality",
    "lambda_reconciliation",
}
HEAVY = {"pyarrow", "pyiceberg", "pyspark", "duckdb", "snowflake", "dbt", "numpy", "pandas", "batch.pipeline"}


def test_every_dag_file_imports_without_errors(dag_bag: Any) -> None:
    assert dag_bag.import_errors == {}
    assert set(dag_bag.dag_ids) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_has_owner_retries_tags_and_no_cycle(dag_bag: Any, dag_id: str) -> None:
    dag = dag_bag.get_dag(dag_id)
    dag.check_cycle()  # raises AirflowDagCycleException
    assert dag.tags, "tags let people (and the UI) find the DAG"
    assert dag.max_active_runs == 1, "two runs of one DAG would replace the same partitions at once"
    assert dag.catchup is False
    for t in dag.tasks:
        assert t.owner not in ("", "airflow"), f"{dag_id}.{t.task_id} has no owner"
        assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"
        assert t.doc or t.doc_md or getattr(t, "python_callable", None).__doc__, f"{t.task_id} undocumented"
    assert dag.doc_md


def test_backfill_maps_per_season_and_feeds_dbt_through_an_asset(dag_bag: Any) -> None:
    backfill, dbt = dag_bag.get_dag("historical_backfill"), dag_bag.get_dag("dbt_build")
    mapped = {t.task_id for t in backfill.tasks if t.is_mapped}
    assert mapped == {"land_raw_file", "load_iceberg_season"}
    outlets = [o.uri for t in backfill.tasks for o in t.outlets]
    assert outlets == ["lakehouse://warehouse/raw/football_data"]
    # data-aware schedule: the history's raw Asset, or the live one lake_to_warehouse updates
    live = [o.uri for t in dag_bag.get_dag("lake_to_warehouse").tasks for o in t.outlets]
    assert [a.uri for a in dbt.timetable.asset_condition.objects] == outlets + live
    # and a successful dbt build schedules the model training on the marts' Asset
    marts = [o.uri for t in dbt.tasks for o in t.outlets]
    assert marts == ["lakehouse://warehouse/marts"]
    training = dag_bag.get_dag("model_training")
    assert [a.uri for a in training.timetable.asset_condition.objects] == marts
    params = {"leagues", "seasons", "start_date", "end_date", "source", "warehouse"}
    assert set(backfill.params.keys()) == params
    upstream = {t.task_id: sorted(t.upstream_task_ids) for t in backfill.tasks}
    assert upstream == {
        "plan_seasons": [],
        "land_raw_file": ["plan_seasons"],
        "load_iceberg_season": ["land_raw_file"],
        "check_quality": ["load_iceberg_season"],  # the suites run before any row reaches the warehouse
        "load_warehouse": ["check_quality", "load_iceberg_season"],
        "check_counts": ["load_iceberg_season", "load_warehouse"],
    }


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_import_nothing_heavy_at_parse_time(path: Path) -> None:
    """Module-level imports only: the scheduler parses these files every few seconds."""
    tree = ast.parse(path.read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            top.add(node.module)
    heavy = {m for m in top if m in HEAVY or m.split(".")[0] in HEAVY}
    assert heavy == set()
