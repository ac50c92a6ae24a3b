"""`--json` on the commands scripts call: one JSON document on stdout that says what the text says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> Path:
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LAKEHOUSE_CATALOG__KIND", "local")
    return tmp_path


def test_iceberg_ensure_creates_then_leaves_every_table(state: Path) -> None:
    from iceberg.tables import TABLES

    runner = CliRunner()
    first = runner.invoke(main, ["iceberg", "ensure", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"tables": dict.fromkeys(sorted(TABLES), "created")}
    again = runner.invoke(main, ["iceberg", "ensure"])
    assert again.stdout.splitlines() == [f"{'unchanged':9} {table}" for table in sorted(TABLES)]


def test_stack_status_of_a_stack_never_started(state: Path) -> None:
    text = CliRunner().invoke(main, ["stack", "status"])
    as_json = CliRunner().invoke(main, ["stack", "status", "--json"])
    assert text.exit_code == as_json.exit_code
    status = json.loads(as_json.stdout)
    assert status["ok"] is (as_json.exit_code == 0)
    assert [s["name"] for s in status["services"]] == [line.split()[0] for line in text.stdout.splitlines()]
    assert {s["state"] for s in status["services"]} == {"stopped"}


def test_stream_status_names_a_failed_query(state: Path) -> None:
    metrics = state / "streaming" / "metrics.json"
    metrics.parent.mkdir(parents=True)
    bronze = {
        "batch_id": 7,
        "input_rows": 300,
        "processed_rows_per_s": 1500.0,
        "trigger_ms": 200,
        "kafka_lag": 0,
        "timestamp": "2026-12-07T00:00:00Z",
    }
    silver = {"error": "streaming query silver failed: boom", "failed_at": "2026-12-07T00:00:01Z"}
    metrics.write_text(json.dumps({"bronze": bronze, "silver": silver}))
    result = CliRunner().invoke(main, ["stream", "status", "--json"])
    assert result.exit_code == 1  # not running, and a query failed
    assert json.loads(result.stdout) == {
        "running": False,
        "pid": None,
        "queries": {"bronze": bronze, "silver": silver},
        "failed": ["silver"],
    }
    text = CliRunner().invoke(main, ["stream", "status"])
    assert "  silver      FAILED at 2026-12-07T00:00:01Z: streaming query silver failed: boom" in text.stdout
    assert "  bronze      batch 7: 300 rows, 1500.0/s, 200 ms, lag 0" in text.stdout
