"""historical_backfill: football-data seasons -> raw zone -> Iceberg -> warehouse.

One mapped task per (league, season) lands the file and then replaces that season's Iceberg
partitions; the warehouse is loaded once for every season of the run and updates the Asset
``dbt_build`` is scheduled on; the last task checks that no row went missing between the
steps and returns the counts, rejects included. Before the warehouse load, the history's
expectation suites run over the loaded seasons (``batch.quality``): a critical failure stops
the run with the warehouse untouched. Logic lives in ``batch.pipeline``; this file
only wires it (and imports nothing heavy at parse time).

Params: ``leagues`` (default: the settings' leagues), ``seasons`` (``2023-24``...) or a
``start_date``/``end_date`` range (every season overlapping it), ``source`` (the folder of
season files, in any layout ``batch backfill`` reads, or a site in football-data's layout whose
asked-for seasons are downloaded first; default: the settings'
``LAKEHOUSE_BATCH__FOOTBALL_DATA_DIR``), ``warehouse`` (``duckdb``|``snowflake``; default: the
settings').
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from batch.assets import WAREHOUSE_RAW_FOOTBALL_DATA

WAREHOUSE_RAW = Asset(*WAREHOUSE_RAW_FOOTBALL_DATA)
SEASON_LABEL = "{{ task.op_kwargs['partition']['league'] }} {{ task.op_kwargs['partition']['season'] }}"


def _settings(params: dict[str, Any]) -> Any:  # a Settings, imported lazily
    from batch.connections import task_settings
    from batch.pipeline import with_source, with_warehouse

    return with_source(with_warehouse(task_settings(), params.get("warehouse")), params.get("source"))


@dag(
    dag_id="historical_backfill",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=4,
    tags=["batch", "football-data", "iceberg", "warehouse"],
    default_args={
        "owner": "batch-layer",
        "retries": 2,
        "retry_delay": timedelta(seconds=20),
        "retry_exponential_backoff": 2.0,
        "execution_timeout": timedelta(minutes=30),
    },
    params={
        "leagues": Param([], type="array", items={"type": "string"}, description="E0, SP1; empty: settings"),
        "seasons": Param([], type="array", items={"type": "string"}, description="e.g. 2023-24; empty: all"),
        "start_date": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD"),
        "end_date": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD"),
        "source": Param(
            None,
            type=["null", "string"],
            description="season files folder, or a site in football-data's layout to fetch from",
        ),
        "warehouse": Param(None, type=["null", "string"], enum=[None, "duckdb", "snowflake"]),
    },
    doc_md=__doc__,
)
def historical_backfill() -> None:
    @task
    def plan_seasons(params: dict[str, Any] | None = None) -> list[dict[str, str]]:
        """The (league, season) partitions this run loads; an unknown league or season fails here."""
        from batch.pipeline import discover

        params = params or {}
        try:
            season_files = discover(
                _settings(params),
                leagues=params.get("leagues") or None,
                seasons=params.get("seasons") or None,
                start=params.get("start_date"),
                end=params.get("end_date"),
            )
        except ValueError as exc:  # bad params do not get better with retries
            raise AirflowFailException(str(exc)) from exc
        return [{"league": sf.league, "season": sf.season, "file": str(sf.path)} for sf in season_files]

    @task(map_index_template=SEASON_LABEL)
    def land_raw_file(partition: dict[str, str], params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Copy the season file into the raw zone (skipped when the same bytes are there)."""
        from dataclasses import replace
        from pathlib import Path

        from batch.football_data import SeasonFile
        from batch.pipeline import land

        sf = SeasonFile.of(partition["league"], partition["season"])
        landed = land(_settings(params or {}), replace(sf, path=Path(partition["file"])))
        return {**partition, **landed.as_dict()}

    @task(map_index_template=SEASON_LABEL, retries=4)
    def load_iceberg_season(
        partition: dict[str, Any], params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Parse the landed file and replace the season's partitions of the three history tables."""
        from batch.football_data import SeasonFile
        from batch.pipeline import iceberg_counts, load_iceberg

        settings = _settings(params or {})
        sf = SeasonFile.of(partition["league"], partition["season"])
        _, counts = load_iceberg(settings, [sf])
        return {
            "league": sf.league,
            "season": sf.season,
            "parsed": counts[str(sf)].as_dict(),
            "iceberg": iceberg_counts(settings, [(sf.league, sf.season)]),
        }

    @task(retries=1)
    def check_quality(loads: list[dict[str, Any]], params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The history's expectation suites over the loaded seasons, before the warehouse load: a
        critical failure stops the run here (the warehouse keeps its last good load), naming the
        expectation; warnings are recorded (batch.quality)."""
        from batch.quality import QualityError, check_history, enforce
        from lakehouse.catalog import load_catalog

        settings = _settings(params or {})
        partitions = [(load["league"], load["season"]) for load in loads]
        results = check_history(settings, load_catalog(settings), partitions, stage="backfill")
        try:
            enforce(results)
        except QualityError as exc:
            raise AirflowFailException(str(exc)) from None  # bad data: a retry cannot fix it
        return {"tables": [r.as_dict() for r in results]}

    @task(outlets=[WAREHOUSE_RAW])
    def load_warehouse(loads: list[dict[str, Any]], params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Copy the loaded seasons from Iceberg into the warehouse's raw schema."""
        from batch.pipeline import load_to_warehouse

        partitions = [(load["league"], load["season"]) for load in loads]
        result = load_to_warehouse(_settings(params or {}), partitions)
        return {"kind": result.kind, "counted": result.counted, "totals": result.totals}

    @task
    def check_counts(loads: list[dict[str, Any]], warehouse: dict[str, Any]) -> dict[str, Any]:
        """Valid rows = Iceberg rows = warehouse rows, and every reject is counted; the run's result."""
        from batch.football_data import ParseCounts

        parsed = ParseCounts()
        iceberg: dict[str, int] = {}
        for load in loads:
            parsed.add(ParseCounts(**{k: v for k, v in load["parsed"].items() if k != "rejects"}))
            for table, rows in load["iceberg"].items():
                iceberg[table] = iceberg.get(table, 0) + rows
        expected = {
            "football_data_matches": parsed.matches,
            "football_data_odds": parsed.prices,
            "football_data_rejects": parsed.rejects,
        }
        counted = warehouse["counted"]
        mismatches = [
            f"{table}: parsed {rows}, iceberg {iceberg.get(table)}, warehouse {counted.get(table)}"
            for table, rows in expected.items()
            if not rows == iceberg.get(table) == counted.get(table)
        ]
        if parsed.rows != parsed.matches + parsed.rejected_rows:
            mismatches.append(f"rows {parsed.rows} != matches {parsed.matches} + rejected rows")
        if mismatches:
            raise AirflowFailException("row counts disagree between steps: " + "; ".join(mismatches))
        return {
            "seasons": len(loads),
            "parsed": parsed.as_dict(),
            "iceberg": iceberg,
            "warehouse": warehouse["counted"],
            "warehouse_kind": warehouse["kind"],
            "rejects": parsed.rejects,
        }

    loads = load_iceberg_season.expand(partition=land_raw_file.expand(partition=plan_seasons()))
    warehouse = load_warehouse(loads)  # type: ignore[arg-type]  # XComArgs resolve at run time
    check_quality(loads) >> warehouse  # type: ignore[arg-type]
    check_counts(loads, warehouse)  # type: ignore[arg-type]  # XComArgs resolve at run time


historical_backfill()
