-- The database and its schemas: RAW (what the loaders write: the history and the live tables),
-- STAGING, INTERMEDIATE and MARTS (dbt's folders, by their own names), ANALYTICS (dbt's default).
CREATE DATABASE IF NOT EXISTS ${database};
CREATE SCHEMA IF NOT EXISTS ${database}.${raw_schema};
CREATE SCHEMA IF NOT EXISTS ${database}.STAGING;
CREATE SCHEMA IF NOT EXISTS ${database}.INTERMEDIATE;
CREATE SCHEMA IF NOT EXISTS ${database}.MARTS;
CREATE SCHEMA IF NOT EXISTS ${database}.ANALYTICS;
COMMENT ON SCHEMA ${database}.${raw_schema} IS 'Loaded by the batch layer (backfill, lake_to_warehouse); read by dbt.';
COMMENT ON SCHEMA ${database}.MARTS IS 'Built by dbt; read by analysts and the API.';
