"""Pipeline health samples to the `pipeline.health` topic, for the Druid health dashboard.

Producers and streaming jobs report what they know (records/s, lag, freshness, dead letters,
source up or down) as `pipeline_health` records.  Health must never hurt the data path: a
sample that cannot be sent is counted and logged, never raised.

Metric names the dashboards rely on (see dashboards/README.md): `records_per_s`,
`input_rows`, `processing_ms`, `lag_records`, `freshness_s`, `dead_letters`, `late_events`,
`records_sent`, `source_up`, `rate_limit_remaining`, `request_failures`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from lakehouse.config import Settings
from lakehouse.kafka import producer_config
from lakehouse.log import get_logger
from lakehouse.schemas import format_timestamp, validate
from lakehouse.schemas.aggregates import PIPELINE_HEALTH

log = get_logger(__name__)


class HealthReporter:
    """Publishes `pipeline_health` samples for one component (`producer:<source>`, `stream:<job>`)."""

    def __init__(self, settings: Settings, component: str, producer: Producer | None = None) -> None:
        self.component = component
        self.topic = PIPELINE_HEALTH.topic
        self._producer = producer or Producer(
            producer_config(
                settings.kafka,
                client_id=f"health-{component}",
                # A sample is a snapshot: losing one to a broker failover is fine, waiting is not.
                **{
                    "enable.idempotence": False,
                    "acks": "1",
                    "linger.ms": 50,
                    "log_level": 2,
                    "error_cb": self._on_error,
                    "on_delivery": self._on_delivery,
                },
            )
        )
        self._unreachable = False  # librdkafka reported every broker down
        self._reached = False  # a sample was delivered: the broker exists, an outage may pass
        self._lock = threading.Lock()
        self.sent = 0
        self.failed = 0

    def record(
        self, metric: str, value: float, labels: Mapping[str, Any] | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """One validated sample (not sent)."""
        return validate(
            PIPELINE_HEALTH,
            {
                "component": self.component,
                "metric": metric,
                "value": float(value),
                "labels": json.dumps(dict(labels), sort_keys=True) if labels else None,
                "observed_at": format_timestamp(at or datetime.now(UTC)),
            },
        )

    def emit(self, metrics: Mapping[str, float | None], labels: Mapping[str, Any] | None = None) -> int:
        """Send one sample per metric (None values are skipped); returns how many were queued."""
        at = datetime.now(UTC)
        queued = 0
        with self._lock:
            for metric, value in metrics.items():
                if value is None:
                    continue
                try:
                    record = self.record(metric, value, labels, at)
                    key = f"{self.component}|{metric}"
                    self._producer.produce(self.topic, key=key.encode(), value=json.dumps(record).encode())
                    queued += 1
                except (BufferError, KafkaException, ValueError) as exc:
                    self.failed += 1
                    log.warning(
                        "health sample dropped", component=self.component, metric=metric, error=str(exc)
                    )
            self._producer.poll(0)
            self.sent += queued
        return queued

    def _on_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self._unreachable = True

    def _on_delivery(self, error: KafkaError | None, _message: Any) -> None:
        if error is None:
            self._reached = True

    def flush(self, timeout: float = 5.0) -> int:
        """Wait for queued samples; returns how many are still undelivered.

        Gives up at once when no broker was ever reached (a backfill run without Kafka): waiting
        the whole timeout then only delayed the command's exit by it.  Once a sample has been
        delivered, a broker outage is waited out, up to the timeout.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                left = int(self._producer.flush(max(0.0, min(0.1, deadline - time.monotonic()))))
                if not left or (self._unreachable and not self._reached) or time.monotonic() >= deadline:
                    if left:
                        log.warning(
                            "health samples undelivered",
                            component=self.component,
                            samples=left,
                            broker_unreachable=self._unreachable,
                        )
                    return left


class RecordingHealth(HealthReporter):
    """Keeps each sample as (metric, value, labels) instead of sending it: for tests and benches
    of a batch job's reporting, where no broker runs."""

    def __init__(self, component: str) -> None:  # no producer: nothing is sent
        self.component = component
        self.samples: list[tuple[str, float, dict[str, Any]]] = []

    def emit(self, metrics: Mapping[str, float | None], labels: Mapping[str, Any] | None = None) -> int:
        kept = [(m, v, dict(labels or {})) for m, v in metrics.items() if v is not None]
        self.samples += kept
        return len(kept)

    def flush(self, timeout: float = 5.0) -> int:
        return 0
