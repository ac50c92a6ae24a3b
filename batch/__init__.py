"""Batch layer: football-data history to the raw zone, Iceberg and the warehouse."""
