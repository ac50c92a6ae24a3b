"""iceberg_maintenance: daily compaction, manifest rewrite, snapshot expiry and orphan removal.

Runs ``iceberg.maintenance.maintain_all`` (Spark procedures) over every streaming table of
``iceberg.tables`` and every history table of ``iceberg.history``, each with its own retention:
streaming tables keep a day of snapshots, the backfill's tables a week. Tables that do not
exist yet are skipped; one failing table does not stop the others, but fails the run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException


@dag(
    dag_id="iceberg_maintenance",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["iceberg", "maintenance"],
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=3),
    },
    params={
        "tables": Param([], type="array", items={"type": "string"}, description="e.g. silver.odds_quotes"),
        "dry_run": Param(False, type="boolean", description="Plan only; list orphan candidates"),
    },
    doc_md=__doc__,
)
def iceberg_maintenance() -> None:
    @task
    def maintain_tables(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Compact, rewrite manifests, expire snapshots, remove orphans; before/after per table."""
        from batch.connections import task_settings
        from iceberg import TABLES, MaintenanceReport, maintain_all
        from iceberg.history import HISTORY_TABLES, retention
        from lakehouse.spark import build_spark_session

        params = params or {}
        wanted = list(params.get("tables") or [*TABLES, *HISTORY_TABLES])
        unknown = [t for t in wanted if t not in TABLES and t not in HISTORY_TABLES]
        if unknown:
            raise AirflowFailException(
                f"no table definition for {unknown}; known: iceberg.tables, iceberg.history"
            )
        settings = task_settings()
        spark = build_spark_session(settings, app_name="iceberg-maintenance")
        dry_run = bool(params.get("dry_run"))
        reports: dict[str, MaintenanceReport] = {}
        streaming = [t for t in wanted if t in TABLES]
        history = [t for t in wanted if t in HISTORY_TABLES]
        if streaming:
            reports |= maintain_all(spark, settings, streaming, dry_run=dry_run)
        if history:
            reports |= maintain_all(spark, settings, history, dry_run=dry_run, **retention())
        return {
            name: {
                "data_files": [r.before.data_files, r.after.data_files],
                "snapshots": [r.before.snapshots, r.after.snapshots],
                "records": [r.before.records, r.after.records],
                "orphans": r.results.get("remove_orphan_files", {}).get("orphan_files_count", 0),
                "seconds": r.seconds,
            }
            for name, r in reports.items()
        }

    maintain_tables()


iceberg_maintenance()
