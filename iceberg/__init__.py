"""Iceberg table definitions as code and table maintenance (compaction, snapshot expiry, orphans)."""
