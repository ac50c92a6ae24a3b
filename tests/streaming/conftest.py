"""The stream tests' shared broker (see ``tests/streaming/harness.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.stack.kafka import KafkaBroker
from tests.streaming.harness import start_runs_broker


@pytest.fixture(scope="session")
def runs_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One broker for every isolated run; each run empties it first."""
    broker = start_runs_broker(tmp_path_factory.mktemp("runs-kafka"))
    yield broker
    broker.stop()
