"""`lakehouse batch fetch` against a local server at the paths football-data.co.uk serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from lakehouse.football_data import LEAGUES
from lakehouse.football_data.files import find_season_files
from tests.conftest import Api


def test_fetch_lands_the_sites_layout_that_the_backfill_reads(
    api: tuple[Api, str], shared_data: Path, tmp_path: Path
) -> None:
    server, base = api
    e0 = (shared_data / "football-data" / "E0_2324.csv").read_bytes()
    b1 = (shared_data / "football-data-more" / "2023-24" / "B1.csv").read_bytes()
    server.respond("/mmz4281/2324/E0.csv", (503, {}, b"busy"), (200, {"Content-Type": "text/csv"}, e0))
    server.respond("/mmz4281/2324/B1.csv", (200, {"Content-Type": "text/csv"}, b1))
    args = [
        "batch",
        "fetch",
        "--league",
        "E0",
        "--league",
        "b1",
        "--season",
        "2023-24",
        "--to",
        str(tmp_path / "fd"),
    ]
    first = CliRunner().invoke(main, [*args, "--base-url", base])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "fd" / "2324" / "E0.csv").read_bytes() == e0
    assert (tmp_path / "fd" / "2324" / "B1.csv").read_bytes() == b1
    assert re.search(r"E0 2023-24 +new", first.output) and f"--source {tmp_path / 'fd'}" in first.output
    assert [path for path, _ in server.log].count("/mmz4281/2324/E0.csv") == 2  # the 503 was retried
    found = find_season_files(tmp_path / "fd", LEAGUES)
    assert [str(sf) for sf in found] == ["B1 2023-24", "E0 2023-24"]

    again = CliRunner().invoke(main, [*args, "--base-url", base])
    assert again.exit_code == 0 and again.output.count("unchanged") == 2, again.output

    missing = CliRunner().invoke(
        main, ["batch", "fetch", "--league", "E0", "--season", "1999-00", "--season", "2023-24",
               "--to", str(tmp_path / "fd"), "--base-url", base],
    )  # fmt: skip
    assert missing.exit_code == 1
    assert re.search(r"E0 1999-00 +missing", missing.output)
    assert re.search(r"E0 2023-24 +unchanged", missing.output)
    bad = CliRunner().invoke(main, ["batch", "fetch", "--league", "XX9", "--season", "2023-24"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: unknown league(s) ['XX9']")


def test_a_site_as_the_backfill_source(
    api: tuple[Api, str],
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    """`batch backfill --source <site>` downloads the seasons asked for, then loads them."""
    server, base = api
    e0 = (shared_data / "football-data" / "E0_2324.csv").read_bytes()
    aut = (shared_data / "football-data-extra" / "AUT.csv").read_bytes()
    server.respond("/mmz4281/2324/E0.csv", (200, {"Content-Type": "text/csv"}, e0))
    server.respond("/new/AUT.csv", (200, {"Content-Type": "text/csv"}, aut))
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LAKEHOUSE_CATALOG__KIND", "local")
    args = ["batch", "backfill", "--source", base, "--no-warehouse"]
    loaded = CliRunner().invoke(main, [*args, "--league", "E0", "--league", "AUT", "--season", "2023-24"])
    assert loaded.exit_code == 0, loaded.output
    assert "2 seasons: 575 rows -> 575 matches" in loaded.output, loaded.output  # 380 + AUT's 195
    assert sorted(path for path, _ in server.log) == ["/mmz4281/2324/E0.csv", "/new/AUT.csv"]
    unnamed = CliRunner().invoke(main, [*args, "--league", "E0"])
    assert unnamed.exit_code == 1
    assert unnamed.output.strip().splitlines()[-1] == (
        "Error: a site source needs --season for E0 (e.g. --season 2023-24)"
    )
