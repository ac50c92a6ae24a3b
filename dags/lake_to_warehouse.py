"""lake_to_warehouse: the live lake tables (silver feeds, gold aggregates) into the warehouse, hourly.

Each run copies what changed since the last run (``batch.live_load``): silver by the event dates
its appends touched since the last loaded Iceberg snapshot, gold whole.  A re-run, or a run with
nothing new, changes nothing.  Each table's rows go through its expectation suite first
(``batch.quality``): a critical failure stops that table's load (its mark does not move, so the
next run tries the same rows again) and fails the run naming the expectation.  Loads DuckDB by
default and Snowflake when configured, like the history; a successful run updates the live raw
Asset, on which ``dbt_build`` runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, dag, task
from airflow.sdk.exceptions import AirflowFailException

from batch.assets import WAREHOUSE_RAW_LIVE


@dag(
    dag_id="lake_to_warehouse",
    schedule="@hourly",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["batch", "warehouse", "live"],
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(minutes=50),
    },
    doc_md=__doc__,
)
def lake_to_warehouse() -> None:
    @task(outlets=[Asset(*WAREHOUSE_RAW_LIVE)])
    def load_live_tables() -> dict[str, Any]:
        """Rows written and event dates replaced per warehouse table; totals after the load."""
        from batch.connections import task_settings
        from batch.live_load import load_live
        from batch.quality import QualityError, gate
        from lakehouse.catalog import load_catalog

        settings = task_settings()
        try:
            result = load_live(settings, load_catalog(settings), check=gate(settings, "lake_to_warehouse"))
        except QualityError as exc:
            raise AirflowFailException(str(exc)) from None  # bad data: a retry cannot fix it
        return {
            "kind": result.kind,
            "tables": {
                name: {"rows": t.rows, "dates": None if t.dates is None else list(t.dates)}
                for name, t in result.tables.items()
            },
            "totals": result.totals,
            "seconds": result.seconds,
        }

    load_live_tables()


lake_to_warehouse()
