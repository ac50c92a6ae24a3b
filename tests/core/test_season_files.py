"""Season files are found as users keep them: canonical names anywhere, or as football-data serves them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from lakehouse.football_data import LEAGUES
from lakehouse.football_data.files import SeasonFile, find_season_files


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def test_every_layout_is_found_with_its_season(tmp_path: Path, shared_data: Path) -> None:
    fd = shared_data / "football-data"
    _copy(fd / "E0_2324.csv", tmp_path / "mine" / "E0_2324.csv")
    _copy(fd / "E0_2223.csv", tmp_path / "mmz4281" / "2223" / "E0.csv")  # the site's own layout
    _copy(fd / "SP1_2122.csv", tmp_path / "2021-22" / "SP1.csv")
    _copy(fd / "SP1_2021.csv", tmp_path / "2020-2021_partial" / "sp1.csv")
    _copy(fd / "E0_2324.csv", tmp_path / "copy" / "2324" / "E0.csv")  # the same bytes twice: one file
    _copy(fd / "E0_2425.csv", tmp_path / "notes" / "E0.csv")  # no season folder: not a season file
    _copy(shared_data / "football-data-extra" / "ARG.csv", tmp_path / "new" / "ARG.csv")  # every season
    found = find_season_files(tmp_path, LEAGUES)
    assert sum(sf.league == "ARG" and sf.path == tmp_path / "new" / "ARG.csv" for sf in found) == 15
    found = [sf for sf in found if sf.league != "ARG"]
    assert [(str(sf), sf.path.relative_to(tmp_path).as_posix()) for sf in found if sf.path] == [
        ("E0 2022-23", "mmz4281/2223/E0.csv"),
        ("E0 2023-24", "copy/2324/E0.csv"),
        ("SP1 2020-21", "2020-2021_partial/sp1.csv"),
        ("SP1 2021-22", "2021-22/SP1.csv"),
    ]
    assert SeasonFile("E0", "2324") in found  # the path is not part of a season file's identity

    _copy(fd / "E0_2425.csv", tmp_path / "2324" / "E0.csv")  # other bytes claiming the same season
    with pytest.raises(ValueError, match=r"E0 2023-24 found twice with different contents"):
        find_season_files(tmp_path, LEAGUES)


def test_the_shared_folders_as_the_sources_keep_them(shared_data: Path) -> None:
    more = find_season_files(shared_data / "football-data-more", LEAGUES)
    assert len(more) == 14
    assert {sf.league for sf in more} == {"B1", "P1", "T1", "E1", "N1", "SC0"}
    assert [str(sf) for sf in more if sf.league == "N1"] == ["N1 2024-25", "N1 2025-26"]
    assert len(find_season_files(shared_data / "football-data", LEAGUES)) == 47


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "/nonexistent/football"], "football-data folder /nonexistent/football does not exist"),
        (["--league", "XX9"], "unknown league(s) ['XX9']"),
        (["--league", "B1", "--season", "2023-24"], "no season file for B1 2023-24 in"),
    ],
)
def test_backfill_input_errors_are_one_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LAKEHOUSE_BATCH__FOOTBALL_DATA_DIR", str(shared_data / "football-data"))
    result = CliRunner().invoke(main, ["batch", "backfill", *args])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error: ") and message in lines[-1], result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, ValueError)
