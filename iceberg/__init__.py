"""Iceberg table definitions as code and table maintenance (compaction, snapshot expiry, orphans)."""

from iceberg.maintenance import MaintenanceError, MaintenanceReport, TableState, maintain, maintain_all
from iceberg.tables import (
    BRONZE_KAFKA_RECORDS,
    GOLD_TABLES,
    SILVER_DEAD_LETTERS,
    SILVER_FEEDS,
    SILVER_LATE_EVENTS,
    TABLES,
    SchemaEvolutionError,
    TableDef,
    ensure_tables,
)

__all__ = [
    "BRONZE_KAFKA_RECORDS",
    "GOLD_TABLES",
    "SILVER_DEAD_LETTERS",
    "SILVER_FEEDS",
    "SILVER_LATE_EVENTS",
    "TABLES",
    "MaintenanceError",
    "MaintenanceReport",
    "SchemaEvolutionError",
    "TableDef",
    "TableState",
    "ensure_tables",
    "maintain",
    "maintain_all",
]
