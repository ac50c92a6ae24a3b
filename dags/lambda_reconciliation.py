"""lambda_reconciliation: the speed layer's final rows against a batch recomputation, hourly.

Recomputes the aggregates (1-minute bars, steam moves, arbitrage windows, live prices) of the
games quoted in the last ``days`` from every silver quote of those games, with the shared market
engine, and compares the final ones (ended, closed or last quoted by the allowed lateness) with
gold: every row and every value, numbers to 1e-9 (``batch.reconcile``). The counts,
mismatches, worst difference and example keys go to ``pipeline.health`` (component
``reconciliation``); a mismatch fails the run with a one-line summary.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException


@dag(
    dag_id="lambda_reconciliation",
    schedule="@hourly",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["quality", "lake", "streaming"],
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=50),
    },
    params={"days": Param(2, type="number", exclusiveMinimum=0, description="days of games to reconcile")},
    doc_md=__doc__,
)
def lambda_reconciliation() -> None:
    @task
    def reconcile_final_rows(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Gold's final rows against their recomputation from silver; fails on a mismatch."""
        from batch.connections import task_settings
        from batch.reconcile import mismatch_summary, reconcile
        from lakehouse.catalog import load_catalog

        settings = task_settings()
        result = reconcile(settings, load_catalog(settings), days=float((params or {}).get("days", 2)))
        if result.mismatches:
            raise AirflowFailException(mismatch_summary(result))
        return result.as_dict()

    reconcile_final_rows()


lambda_reconciliation()
