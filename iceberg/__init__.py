"""Iceberg table definitions as code and table maintenance (compaction, snapshot expiry, orphans)."""

from iceberg.maintenance import MaintenanceError, MaintenanceReport, TableState, maintain, maintain_all
from iceberg.tables import TABLES, SchemaEvolutionError, TableDef, ensure_tables

__all__ = [
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
