"""Settings: typed, overridable from the environment, and never leaking secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from lakehouse.config import Settings


def test_env_overrides_nested_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_KAFKA__PORT", "19092")
    monkeypatch.setenv("LAKEHOUSE_CATALOG__KIND", "glue")
    monkeypatch.setenv("LAKEHOUSE_SPARK__MASTER", "local[1]")
    settings = Settings()
    assert settings.kafka.port == 19092
    assert settings.kafka.bootstrap == "127.0.0.1:19092"
    assert settings.catalog.kind == "glue"
    assert settings.spark.master == "local[1]"


def test_bad_values_are_rejected_with_the_field_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_CATALOG__KIND", "hive")
    with pytest.raises(ValueError, match=r"catalog\.kind"):
        Settings()


def test_defaults_suit_the_embedded_stack() -> None:
    settings = Settings(_env_file=None)
    assert settings.spark.master == "local[2]"
    assert settings.catalog.kind == "local"
    assert settings.warehouse_path == settings.state_dir / "warehouse"
    assert settings.jars_dir == settings.cache_dir / "jars"


def test_secrets_come_from_the_environment_and_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("LAKEHOUSE_ODDS_API_KEY", secret)
    settings = Settings()
    assert settings.odds_api_key is not None
    assert settings.odds_api_key.get_secret_value() == secret
    assert secret not in repr(settings)
    assert secret not in str(settings.model_dump())
    assert secret not in settings.model_dump_json()

    out = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer(default=str)],
        logger_factory=structlog.PrintLoggerFactory(file=out),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=False,
    )
    try:
        structlog.get_logger().info("settings loaded", settings=settings, key=settings.odds_api_key)
    finally:
        structlog.reset_defaults()
    line = json.loads(out.getvalue())
    assert line["event"] == "settings loaded"
    assert secret not in out.getvalue()


def test_env_example_documents_every_secret() -> None:
    example = (Settings().project_root / ".env.example").read_text()
    secret_fields = [name for name, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)]
    assert secret_fields, "expected secret fields"
    for name in secret_fields:
        assert f"LAKEHOUSE_{name.upper()}=" in example, name
