"""A health reporter that keeps its samples, for tests of what a batch job reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse.health import HealthReporter


class RecordingHealth(HealthReporter):
    """Keeps each sample as (metric, value, labels) instead of sending it to Kafka."""

    def __init__(self, component: str) -> None:  # no producer: nothing is sent
        self.component = component
        self.samples: list[tuple[str, float, dict[str, Any]]] = []

    def emit(self, metrics: Mapping[str, float | None], labels: Mapping[str, Any] | None = None) -> int:
        kept = [(m, v, dict(labels or {})) for m, v in metrics.items() if v is not None]
        self.samples += kept
        return len(kept)

    def flush(self, timeout: float = 5.0) -> int:
        return 0
