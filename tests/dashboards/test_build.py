"""The committed dashboard JSON is exactly what the code generates, and the generator keeps it so."""

from __future__ import annotations

import json

from dashboards.build import JSON_DIR, main, rendered, stale, write
from dashboards.registry import DASHBOARDS


def test_committed_json_matches_the_generator() -> None:
    assert stale(JSON_DIR) == [], "dashboards/json is stale: run python -m dashboards.build"
    assert sorted(p.name for p in JSON_DIR.glob("*.json")) == sorted(f"{uid}.json" for uid in DASHBOARDS)


def test_generation_is_deterministic() -> None:
    assert rendered() == rendered()


def test_write_then_check_round_trip(tmp_path) -> None:
    assert main(["--check", "--out", str(tmp_path)]) == 1  # nothing there yet
    assert main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{uid}.json" for uid in DASHBOARDS)
    assert main(["--check", "--out", str(tmp_path)]) == 0
    mtimes = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    write(tmp_path)  # unchanged files are not rewritten
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == mtimes


def test_check_reports_edited_and_orphaned_files(tmp_path) -> None:
    write(tmp_path)
    edited = tmp_path / "arbitrage_radar.json"
    doc = json.loads(edited.read_text())
    doc["refresh"] = "1h"
    edited.write_text(json.dumps(doc, indent=2))
    (tmp_path / "old_board.json").write_text("{}")
    assert stale(tmp_path) == ["arbitrage_radar.json", "old_board.json"]
    assert main(["--check", "--out", str(tmp_path)]) == 1
    write(tmp_path)
    assert stale(tmp_path) == [] and not (tmp_path / "old_board.json").exists()
