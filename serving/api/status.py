"""``/status``: pipeline health in plain language, with the one thing to look at first.

Rules over the newest ``pipeline_health`` sample of each (component, metric) (see
``lakehouse.health`` for the metric names) and over Druid's ingestion: each Kafka supervisor's
state and lag (records its tasks have yet to read), as the Overlord reports them.  Each rule
that fires gives a finding with a severity; the report's headline is the worst finding, or
"all clear".  Thresholds are the constants below, chosen for the local stack's cadence
(producers poll every few minutes, the stream triggers every second).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from serving.overlord import SupervisorState

SILENT_AFTER_S = 900.0  # a component with no sample for this long is silent
LAG_RECORDS = 10_000  # a stream this far behind its topics
FRESHNESS_S = 60.0  # produce -> aggregate on Kafka
BATCH_MS = 30_000.0  # one micro-batch
QUOTA_LEFT = 50  # API requests left at a source
DRUID_LAG_RECORDS = 10_000  # Druid this far behind an aggregate topic
SEVERITY = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    severity: str
    component: str
    message: str


def _age_s(observed_at: Any, now: datetime) -> float:
    at = (
        observed_at
        if isinstance(observed_at, datetime)
        else datetime.fromisoformat(str(observed_at).replace("Z", "+00:00"))
    )
    return (now - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds()


def findings(samples: Iterable[Mapping[str, Any]], now: datetime) -> list[Finding]:
    """Every rule that fires on the newest samples, worst first."""
    by_component: dict[str, dict[str, Mapping[str, Any]]] = {}
    for s in samples:
        by_component.setdefault(s["component"], {})[s["metric"]] = s
    out: list[Finding] = []
    for component, metrics in sorted(by_component.items()):
        newest = min(_age_s(m["observed_at"], now) for m in metrics.values())
        if newest > SILENT_AFTER_S:
            out.append(
                Finding("warning", component, f"{component} has sent no health for {newest / 60:.0f} min")
            )
            continue

        def value(metric: str, metrics: dict[str, Mapping[str, Any]] = metrics) -> float | None:
            m = metrics.get(metric)
            return None if m is None else float(m["value"])

        if value("source_up") == 0:
            out.append(Finding("critical", component, f"{component}: the source is down"))
        if (left := value("rate_limit_remaining")) is not None and left < QUOTA_LEFT:
            out.append(
                Finding("warning", component, f"{component}: {left:.0f} API requests left in its quota")
            )
        if (failures := value("request_failures")) and failures > 0:
            out.append(Finding("warning", component, f"{component}: {failures:.0f} failed requests"))
        if (dead := value("dead_letters")) and dead > 0:
            out.append(Finding("warning", component, f"{component}: {dead:.0f} records dead-lettered"))
        if (lag := value("lag_records")) is not None and lag > LAG_RECORDS:
            out.append(Finding("critical", component, f"{component} is {lag:,.0f} records behind its topics"))
        if (fresh := value("freshness_s")) is not None and fresh > FRESHNESS_S:
            out.append(
                Finding(
                    "warning", component, f"{component}: quotes take {fresh:.0f} s to reach the aggregates"
                )
            )
        if (batch := value("processing_ms")) is not None and batch > BATCH_MS:
            out.append(Finding("warning", component, f"{component}: a micro-batch took {batch / 1000:.0f} s"))
        if (failed := value("expectations_failed")) and failed > 0:
            out.append(
                Finding("critical", component, f"{component}: {failed:.0f} data-quality expectations failed")
            )
    return sorted(out, key=lambda f: (SEVERITY[f.severity], f.component, f.message))


def ingestion_findings(supervisors: Iterable[SupervisorState]) -> list[Finding]:
    """Druid's side of the live path: a supervisor suspended, unhealthy or far behind its topic."""
    out = []
    for s in supervisors:
        component = f"druid:{s.id}"
        if s.suspended:
            out.append(
                Finding("warning", component, f"Druid ingestion of {s.id} is suspended: no new rows reach it")
            )
        elif s.state == "PENDING":
            out.append(Finding("info", component, f"Druid ingestion of {s.id} is starting"))
        elif not s.healthy or s.state != "RUNNING":
            error = f" ({s.recent_errors[-1]})" if s.recent_errors else ""
            out.append(
                Finding("critical", component, f"Druid ingestion of {s.id} is {s.detailed_state}{error}")
            )
        if s.aggregate_lag is not None and s.aggregate_lag > DRUID_LAG_RECORDS:
            out.append(
                Finding(
                    "warning", component, f"Druid is {s.aggregate_lag:,} records behind the topic of {s.id}"
                )
            )
    return out


def report(
    samples: Iterable[Mapping[str, Any]],
    now: datetime | None = None,
    supervisors: list[SupervisorState] | None = None,
    overlord_error: str | None = None,
) -> dict[str, Any]:
    """The report: ``supervisors`` None when Druid's ingestion was not asked (``overlord_error``
    says why if it was asked and did not answer)."""
    now = now or datetime.now(UTC)
    samples = list(samples)
    found = findings(samples, now) + ingestion_findings(supervisors or [])
    if overlord_error is not None:
        found.append(Finding("critical", "druid", f"Druid's Overlord did not answer: {overlord_error}"))
    found.sort(key=lambda f: (SEVERITY[f.severity], f.component, f.message))
    components = sorted({s["component"] for s in samples} | {f"druid:{s.id}" for s in supervisors or []})
    if found:
        headline = f"Look first at: {found[0].message}"
        status = found[0].severity
    elif not samples:
        headline = "No pipeline health received: are the producers and the stream running?"
        status = "unknown"
    else:
        headline = f"All clear: {len(components)} components reporting, no rule fired"
        status = "ok"
    return {
        "status": status,
        "headline": headline,
        "findings": [asdict(f) for f in found],
        "components": components,
        "ingestion": [
            {"datasource": s.id, "state": s.detailed_state, "lag_records": s.aggregate_lag}
            for s in supervisors or []
        ],
        "as_of": now.isoformat(),
    }
