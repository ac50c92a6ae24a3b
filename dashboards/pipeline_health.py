"""Pipeline health: consumer lag, freshness, throughput, dead letters and producer source health.

Reads ``pipeline_health``: (component, metric, value, labels, observed_at) samples, ``__time`` =
``observed_at``.  Components are ``producer:<source>`` and ``stream:<job>``; the metric names
this dashboard reads are ``METRICS`` below (README lists them for the emitters).
"""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import variables
from dashboards.layout import Board, stat, table, timeseries
from dashboards.sql import in_filter, where

UID = "pipeline_health"
TITLE = "Pipeline health"
TABLE = "pipeline_health"

METRICS = {
    "records_per_s": "gauge: records per second produced (producer) or processed (stream)",
    "input_rows": "rows in the stream's last micro-batch",
    "processing_ms": "duration of the stream's last micro-batch, in milliseconds",
    "lag_records": "consumer lag: records between the stream's committed offsets and the topic end",
    "freshness_s": "seconds from the newest record's event time to the time of the sample",
    "dead_letters": "records dead-lettered since the previous sample (a delta: sums over time)",
    "source_up": "1 when the producer's last poll of its source succeeded, else 0",
    "rate_limit_remaining": "requests left in the source's API quota",
}
"""The metric names the panels read, with the meaning the emitters must give them."""

COMPONENTS = "Components reporting"
SOURCES_DOWN = "Sources down"
MAX_LAG = "Max consumer lag"
DEAD_LETTERS = "Dead letters"
LAG = "Consumer lag (records)"
FRESHNESS = "Freshness (s)"
THROUGHPUT = "Throughput (records/s)"
PROCESSING = "Micro-batch processing time"
DEAD_LETTER_RATE = "Dead-letter rate (records/s)"
STREAMING_JOBS = "Streaming jobs"
SOURCE_HEALTH = "Producer source health"
RATE_LIMIT = "Rate-limit remaining"

COMPONENT = in_filter("component", "component")
PRODUCERS = "component LIKE 'producer:%'"
STREAMS = "component LIKE 'stream:%'"
VALUE = '"value"'  # VALUE is a reserved word in Druid SQL: the column must be quoted


def _metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown pipeline_health metric {name!r} (add it to METRICS and the README)")
    return f"metric = '{name}'"


def _latest_per_component(metric: str, alias: str) -> str:
    return (
        f"  SELECT component, LATEST_BY({VALUE}, __time) AS {alias}\n  FROM {TABLE}\n"
        f"  {where(COMPONENT, _metric(metric))}\n  GROUP BY component"
    )


def _series(metric: str, aggregate: str, alias: str, *conditions: str, bucket: str = "PT10S") -> str:
    return f"""
SELECT TIME_FLOOR(__time, '{bucket}') AS "time", component, {aggregate} AS {alias}
FROM {TABLE}
{where(COMPONENT, _metric(metric), *conditions)}
GROUP BY 1, 2
ORDER BY 1"""


def _latest(metric: str) -> str:
    return f"LATEST_BY({VALUE}, __time) FILTER (WHERE {_metric(metric)}) AS {metric}"


SOURCE_HEALTH_SQL = f"""
SELECT component,
  {_latest("source_up")},
  {_latest("rate_limit_remaining")},
  {_latest("records_per_s")},
  {_latest("freshness_s")},
  SUM({VALUE}) FILTER (WHERE {_metric("dead_letters")}) AS dead_letters
FROM {TABLE}
{where(COMPONENT, PRODUCERS)}
GROUP BY component
ORDER BY component"""

STREAMING_JOBS_SQL = f"""
SELECT component,
  {_latest("records_per_s")},
  {_latest("input_rows")},
  {_latest("processing_ms")},
  {_latest("lag_records")},
  {_latest("freshness_s")},
  SUM({VALUE}) FILTER (WHERE {_metric("dead_letters")}) AS dead_letters
FROM {TABLE}
{where(COMPONENT, STREAMS)}
GROUP BY component
ORDER BY component"""


def dashboard() -> Dashboard:
    return (
        Board(
            UID,
            TITLE,
            "Health of the producers and streaming jobs from Druid's pipeline_health samples: consumer lag, "
            "freshness, throughput, dead letters and each source's availability and quota.",
            tags=["ops", "live"],
            refresh="10s",
            time_from="now-30m",
        )
        .variables(variables.component(TABLE))
        .row("Overview")
        .add(
            stat(
                COMPONENTS,
                "Producers and streaming jobs that sent a sample in the range.",
                f"SELECT COUNT(*) AS components\nFROM (\n  SELECT component\n  FROM {TABLE}\n  "
                f"{where(COMPONENT)}\n  GROUP BY component\n)",
                TABLE,
            ),
            stat(
                SOURCES_DOWN,
                "Producers whose latest source_up sample is 0.",
                f"SELECT COUNT(*) AS sources_down\nFROM (\n{_latest_per_component('source_up', 'up')}\n)"
                "\nWHERE up < 0.5",
                TABLE,
                thresholds=[(1, "red")],
            ),
            stat(
                MAX_LAG,
                "Largest latest consumer lag across streaming jobs, in records.",
                f"SELECT MAX(lag_records) AS max_lag_records\nFROM (\n"
                f"{_latest_per_component('lag_records', 'lag_records')}\n)",
                TABLE,
                thresholds=[(10_000, "orange"), (100_000, "red")],
            ),
            stat(
                DEAD_LETTERS,
                "Records dead-lettered in the range, all components.",
                f"SELECT SUM({VALUE}) AS dead_letters\nFROM {TABLE}\n"
                f"{where(COMPONENT, _metric('dead_letters'))}",
                TABLE,
                thresholds=[(1, "orange")],
            ),
        )
        .row("Streaming jobs")
        .add(
            timeseries(
                LAG,
                "Consumer lag per job (max per 10 s).",
                _series("lag_records", f"MAX({VALUE})", "lag_records"),
                TABLE,
            ),
            timeseries(
                FRESHNESS,
                "Seconds from the newest record's event time to the sample (max per 10 s).",
                _series("freshness_s", f"MAX({VALUE})", "freshness_s"),
                TABLE,
                unit="s",
            ),
            timeseries(
                THROUGHPUT,
                "Records per second, producers and jobs (mean per 10 s).",
                _series("records_per_s", f"AVG({VALUE})", "records_per_s"),
                TABLE,
            ),
            timeseries(
                PROCESSING,
                "Duration of each job's micro-batches (max per 10 s).",
                _series("processing_ms", f"MAX({VALUE})", "processing_ms", STREAMS),
                TABLE,
                unit="ms",
            ),
            timeseries(
                DEAD_LETTER_RATE,
                "Dead-lettered records per second, per component (per minute).",
                _series("dead_letters", f"SUM({VALUE}) / 60.0", "dead_letters_per_s", bucket="PT1M"),
                TABLE,
                bars=True,
            ),
            table(
                STREAMING_JOBS,
                "Each job's latest figures and its dead letters in the range.",
                STREAMING_JOBS_SQL,
                TABLE,
                units={"processing_ms": "ms", "freshness_s": "s"},
                width=12,
                height=8,
            ),
        )
        .row("Producers")
        .add(
            table(
                SOURCE_HEALTH,
                "Each producer's latest source_up, API quota left, throughput and freshness, and its dead "
                "letters in the range.",
                SOURCE_HEALTH_SQL,
                TABLE,
                units={"freshness_s": "s"},
                width=12,
                height=8,
            ),
            timeseries(
                RATE_LIMIT,
                "Requests left in each source's quota (min per minute).",
                _series(
                    "rate_limit_remaining", f"MIN({VALUE})", "rate_limit_remaining", PRODUCERS, bucket="PT1M"
                ),
                TABLE,
                width=12,
            ),
        )
        .build()
    )
