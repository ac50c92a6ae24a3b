"""Grafana alert rules as code: the live pipeline's three pages (stale live data, a dead-letter
rate, stalled Druid supervisors), provisioned from ``provisioning/alerting/rules.yaml``.

Each rule is one Druid SQL query that returns one number; Grafana's server-side expressions
reduce it to its last value and compare it with the threshold. The queries read Druid's clock
(``CURRENT_TIMESTAMP``), not Grafana's time range, so a rule means the same whenever it runs.
``python -m dashboards.build`` writes the file with the dashboards, and ``--check`` catches drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import yaml

from dashboards.druid import DATASOURCE_UID, builder_json
from dashboards.layout import FOLDER

GROUP = "live-pipeline"
INTERVAL = "1m"  # how often Grafana evaluates the group
EXPRESSIONS = "__expr__"  # Grafana's server-side expressions datasource


@dataclass(frozen=True)
class AlertRule:
    """Fires when the query's number stays above ``above`` for ``for_``."""

    uid: str
    title: str
    sql: str
    table: str  # the Druid table the query reads (the plugin's builder names it)
    above: float
    for_: str
    severity: Literal["warning", "critical"]
    summary: str
    if_empty: float | None  # the number when the query returns none; None: Grafana's "no data" -> alerting
    runbook: str

    def number(self, value: float | None) -> float | None:
        """The value Grafana compares, as its reduce expression makes it from the query's result."""
        return self.if_empty if value is None else value

    def fires(self, value: float | None) -> bool:
        """Whether the condition holds for this query result (no data counts as firing unless
        ``if_empty`` says what an empty result means)."""
        number = self.number(value)
        return number is None or number > self.above


STALE_LIVE_DATA = AlertRule(
    uid="live_data_stale",
    title="Live data stale",
    sql="""
SELECT MAX(freshness_s) AS stalest_stream_s
FROM (
  SELECT component, LATEST_BY("value", __time) AS freshness_s
  FROM pipeline_health
  WHERE metric = 'freshness_s' AND component LIKE 'stream:%'
    AND __time >= CURRENT_TIMESTAMP - INTERVAL '15' MINUTE
  GROUP BY component
)""",
    table="pipeline_health",
    above=300,
    for_="5m",
    severity="critical",
    summary="A streaming job's newest record is over 5 minutes old, or no job reported in 15 minutes.",
    if_empty=None,  # no stream sample at all: the jobs are down
    runbook="lakehouse stream status; .local/streaming/logs/streaming.out; lag in Pipeline health.",
)

DEAD_LETTER_RATE = AlertRule(
    uid="dead_letter_rate",
    title="Dead-letter rate",
    sql="""
SELECT SUM("value") / 600.0 AS dead_letters_per_s
FROM pipeline_health
WHERE metric = 'dead_letters' AND __time >= CURRENT_TIMESTAMP - INTERVAL '10' MINUTE""",
    table="pipeline_health",
    above=1.0,
    for_="5m",
    severity="warning",
    summary="More than one record a second dead-lettered over the last 10 minutes.",
    if_empty=0.0,  # no dead-letter samples: none dead-lettered
    runbook="lakehouse dlq list (the reasons), then lakehouse dlq replay once the cause is fixed.",
)

STALLED_SUPERVISORS = AlertRule(
    uid="druid_supervisors_stalled",
    title="Druid supervisors stalled",
    sql="""
SELECT COUNT(*) AS stalled_supervisors
FROM sys.supervisors
WHERE suspended = 0 AND (healthy = 0 OR detailed_state <> 'RUNNING')""",
    table="sys.supervisors",
    above=0,
    for_="5m",  # a supervisor starting up passes through PENDING and CREATING_TASKS
    severity="critical",
    summary="A Druid supervisor that is not suspended has not been RUNNING and healthy for 5 minutes.",
    if_empty=0.0,
    runbook="lakehouse druid status; the Overlord's supervisor page; lakehouse druid apply --wait.",
)

RULES = (STALE_LIVE_DATA, DEAD_LETTER_RATE, STALLED_SUPERVISORS)


def _rule(rule: AlertRule) -> dict[str, Any]:
    reduce_settings: dict[str, Any] = {"mode": "dropNN"}
    if rule.if_empty is not None:
        reduce_settings = {"mode": "replaceNN", "replaceWithValue": rule.if_empty}
    return {
        "uid": rule.uid,
        "title": rule.title,
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 900, "to": 0},
                "datasourceUid": DATASOURCE_UID,
                "model": {
                    "refId": "A",
                    "builder": builder_json(rule.sql, rule.table),
                    "settings": {"format": "long"},
                },
            },
            {
                "refId": "B",
                "datasourceUid": EXPRESSIONS,
                "model": {
                    "refId": "B",
                    "type": "reduce",
                    "expression": "A",
                    "reducer": "last",
                    "settings": reduce_settings,
                },
            },
            {
                "refId": "C",
                "datasourceUid": EXPRESSIONS,
                "model": {
                    "refId": "C",
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": "gt", "params": [rule.above]}}],
                },
            },
        ],
        "noDataState": "Alerting" if rule.if_empty is None else "OK",
        "execErrState": "Alerting",
        "for": rule.for_,
        "annotations": {"summary": rule.summary, "runbook": rule.runbook},
        "labels": {"severity": rule.severity, "team": "betting-lakehouse"},
        "isPaused": False,
    }


def render() -> str:
    """The provisioning file's text (stable: a test compares it with the committed file)."""
    document = {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": GROUP,
                "folder": FOLDER,
                "interval": INTERVAL,
                "rules": [_rule(rule) for rule in RULES],
            }
        ],
    }
    header = "# Generated by `python -m dashboards.build` from dashboards/alerts.py: edit that, not this.\n"
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=110)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the SQL) as literal blocks, readable in the file."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _str)
