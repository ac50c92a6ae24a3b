"""Serving layer: Druid ingestion specs and queries over the real-time aggregates."""
