"""Names of the data the batch layer produces, shared by the DAGs (cheap to import at parse time)."""

WAREHOUSE_RAW_FOOTBALL_DATA = ("warehouse_raw_football_data", "lakehouse://warehouse/raw/football_data")
"""(name, uri) of the Airflow Asset of the warehouse's raw football-data tables
(``Asset(name, uri)``): the ``historical_backfill`` DAG updates it, and ``dbt_build`` is
scheduled on it."""

WAREHOUSE_MARTS = ("warehouse_marts", "lakehouse://warehouse/marts")
"""(name, uri) of the Asset of the marts ``dbt_build`` builds: ``model_training`` is scheduled on it."""

WAREHOUSE_RAW_LIVE = ("warehouse_raw_live", "lakehouse://warehouse/raw/live")
"""(name, uri) of the Asset of the warehouse's copies of the live lake tables (silver feeds and
gold aggregates): ``lake_to_warehouse`` updates it, and ``dbt_build`` is scheduled on it too."""
