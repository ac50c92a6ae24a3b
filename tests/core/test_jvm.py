"""JVM artifacts: resolved once, then reused without Maven."""

from __future__ import annotations

import pytest

from lakehouse import jvm
from lakehouse.config import Settings


def test_second_resolution_does_not_call_maven(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    jvm.ensure_jars(settings)  # resolves if needed

    def no_maven(*_a, **_k):
        raise AssertionError("Maven must not run when the stamp matches the poms")

    monkeypatch.setattr(jvm.subprocess, "run", no_maven)
    assert jvm.ensure_jars(settings) == settings.jars_dir
    kafka = [p.name for p in jvm.module_jars("kafka", settings)]
    assert any(n.startswith("kafka_2.13-4.") for n in kafka)
    assert any(n.startswith("kafka-tools-4.") for n in kafka)


def test_unknown_module_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown JVM module 'flink'"):
        jvm.module_jars("flink")
