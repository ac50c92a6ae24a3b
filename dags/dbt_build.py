"""dbt_build: `dbt build` (models, then their tests) whenever new raw data lands in the warehouse.

Scheduled on the warehouse's raw Assets (data-aware scheduling, either of them), so it runs after
every successful ``historical_backfill`` and ``lake_to_warehouse``, and never on a clock. The
target follows the configured warehouse unless the ``target`` param names one (``duckdb``,
``snowflake``, ``fakesnow``);
``select`` narrows the build (dbt selectors, e.g. ``tag:nightly``). A successful build updates
the marts' Asset, on which ``model_training`` runs. Logic: ``batch.dbt_build``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from batch.assets import WAREHOUSE_MARTS, WAREHOUSE_RAW_FOOTBALL_DATA, WAREHOUSE_RAW_LIVE


@dag(
    dag_id="dbt_build",
    # either load: a backfill's history or an hourly copy of the live tables
    schedule=Asset(*WAREHOUSE_RAW_FOOTBALL_DATA) | Asset(*WAREHOUSE_RAW_LIVE),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["batch", "dbt", "warehouse"],
    default_args={
        "owner": "analytics-engineering",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(hours=1),
    },
    params={
        "target": Param(None, type=["null", "string"], description="dbt target; default: the warehouse kind"),
        "select": Param([], type="array", items={"type": "string"}, description="dbt selectors; empty: all"),
    },
    doc_md=__doc__,
)
def dbt_build() -> None:
    @task(outlets=[Asset(*WAREHOUSE_MARTS)])
    def dbt_build_models_and_tests(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run `dbt build`; fails naming the failed models/tests, or when dbt/ has no project.

        A missing project or a failing model/test fails at once (a retry would fail the same
        way); dbt crashing (e.g. the warehouse unreachable) is retried.
        """
        from batch.connections import task_settings
        from batch.dbt_build import DbtBuildFailed, DbtProjectMissing, is_final
        from batch.dbt_build import dbt_build as build

        params = params or {}
        try:
            result = build(task_settings(), target=params.get("target"), select=params.get("select") or ())
        except (DbtProjectMissing, DbtBuildFailed) as exc:
            if is_final(exc):
                raise AirflowFailException(str(exc)) from exc
            raise
        return result.as_dict()

    dbt_build_models_and_tests()


dbt_build()
