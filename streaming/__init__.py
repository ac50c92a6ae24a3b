"""Spark Structured Streaming jobs: Kafka -> Iceberg bronze/silver, real-time aggregates -> Kafka/Druid."""
