"""data_quality: the silver and gold lake tables through their expectation suites, every 6 hours.

Each table's last day of rows (by its time partition) is checked against its suite: the columns
its definition names, required columns non-null, the shared schema's constraints, and the domain
rules (``batch.quality``). Every result goes to ``pipeline.health`` (component ``quality``) and
to Data Docs under ``<state_dir>/quality``; a failed critical expectation fails the run, naming
it. Param ``days``: how many days back to check (default 1).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException


@dag(
    dag_id="data_quality",
    schedule=timedelta(hours=6),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["quality", "lake"],
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=50),
    },
    params={"days": Param(1, type="integer", minimum=1, description="days of rows to check per table")},
    doc_md=__doc__,
)
def data_quality() -> None:
    @task
    def check_lake_tables(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Each silver and gold table's suite over its recent rows; fails on a critical failure."""
        from batch.connections import task_settings
        from batch.quality import QualityError, check_lake, data_docs_index, enforce
        from lakehouse.catalog import load_catalog

        settings = task_settings()
        results = check_lake(settings, load_catalog(settings), days=int((params or {}).get("days", 1)))
        try:
            enforce(results)
        except QualityError as exc:
            raise AirflowFailException(str(exc)) from None
        return {"tables": [r.as_dict() for r in results], "data_docs": str(data_docs_index(settings))}

    check_lake_tables()


data_quality()
