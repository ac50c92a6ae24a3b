"""`lakehouse teams sync`: a league's own names become teams, near-misses wait for a person."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from batch.football_data import parse_season
from cli.main import main
from lakehouse.football_data import LEAGUES
from lakehouse.football_data.files import find_season_files
from lakehouse.football_data.reader import SeasonRows
from lakehouse.teams import TeamRegistry, get_registry
from lakehouse.teams.registry import DATA_DIR
from lakehouse.teams.sync import add_alias, plan_league, write_new_teams

BELGIUM = LEAGUES["B1"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The registry's YAML without the synced countries, as before the first sync."""
    folder = tmp_path / "teams"
    shutil.copytree(DATA_DIR, folder)
    for synced in ("belgium", "netherlands", "portugal", "scotland", "turkey"):
        (folder / f"soccer_{synced}.yaml").unlink()
    return folder


def _names(shared_data: Path, league: str) -> set[str]:
    names: set[str] = set()
    for sf in find_season_files(shared_data, [league]):
        assert sf.path is not None
        names |= SeasonRows.parse(sf.path.read_bytes(), sf).team_names()
    return names


def test_a_new_league_becomes_teams_once(data_dir: Path, shared_data: Path) -> None:
    names = _names(shared_data, "B1")
    assert len(names) == 20 and "St. Gilloise" in names
    plan = plan_league(TeamRegistry.load(data_dir), BELGIUM, names)
    assert (len(plan.new), plan.known, plan.review, plan.refused) == (20, [], {}, {})
    by_name = {t.name: t for t in plan.new}
    assert by_name["St. Gilloise"].team_id == "st-gilloise"
    assert by_name["Oud-Heverlee Leuven"].team_id == "oud-heverlee-leuven"
    assert {t.file_name for t in plan.new} == {"soccer_belgium.yaml"}

    (written,) = write_new_teams([plan], data_dir)
    registry = TeamRegistry.load(data_dir)
    for name in names:
        team = registry.resolve(name, source="football_data", sport="soccer")
        assert team.name == name and team.competitions == ("soccer_belgium_first_div",)
    again = plan_league(registry, BELGIUM, names)
    assert (len(again.known), again.new) == (20, [])  # idempotent
    assert write_new_teams([again], data_dir) == []
    assert written.read_text().count("- id: ") == 20


def test_a_name_close_to_a_known_team_waits_for_review(data_dir: Path) -> None:
    registry = TeamRegistry.load(data_dir)
    championship = LEAGUES["E1"]
    plan = plan_league(registry, championship, ["Wolverhampton Wanderer", "Barrow"])
    assert [t.name for t in plan.new] == ["Barrow"]
    (candidate, *_) = plan.review["Wolverhampton Wanderer"]
    assert candidate.team_id == "wolverhampton-wanderers" and candidate.score >= 90

    declared = plan_league(registry, championship, ["Wolverhampton Wanderer"], new=["Wolverhampton Wanderer"])
    assert [t.team_id for t in declared.new] == ["wolverhampton-wanderer"]

    path = add_alias("wolverhampton-wanderers", "Wolverhampton Wanderer", "football_data", data_dir)
    assert path.name == "soccer_england.yaml"
    accepted = TeamRegistry.load(data_dir)
    assert (
        accepted.resolve("Wolverhampton Wanderer", source="football_data").team_id
        == "wolverhampton-wanderers"
    )
    text = path.read_text()
    assert "# " in text.splitlines()[0] and "football_data: [Wolves, Wolverhampton Wanderer]" in text


def test_an_alias_that_another_team_owns_is_refused_and_nothing_changes(data_dir: Path) -> None:
    before = (data_dir / "soccer_england.yaml").read_bytes()
    with pytest.raises(ValueError, match="maps to both"):
        add_alias("wigan-athletic", "Man City", "football_data", data_dir)
    assert (data_dir / "soccer_england.yaml").read_bytes() == before
    with pytest.raises(ValueError, match="unknown source"):
        add_alias("wigan-athletic", "Wigan Ath", "fd", data_dir)


def test_cli_sync_writes_then_reports_nothing_to_do(data_dir: Path, shared_data: Path) -> None:
    args = ["teams", "sync", "football-data", "--source-dir", str(shared_data), "--data-dir", str(data_dir)]
    dry = CliRunner().invoke(main, [*args, "--league", "B1", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "B1   20 names: 0 known, 20 new -> soccer_belgium.yaml" in dry.output
    assert not (data_dir / "soccer_belgium.yaml").exists()
    for expected in ("20 new -> soccer_belgium.yaml", "20 known, 0 new"):
        run = CliRunner().invoke(main, [*args, "--league", "B1"])
        assert run.exit_code == 0 and expected in run.output, run.output
    bad = CliRunner().invoke(main, [*args, "--league", "XX9"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: unknown league(s) ['XX9']")


def test_every_main_league_file_in_the_shared_data_resolves_every_team(shared_data: Path) -> None:
    """The packaged registry after the sync: no football-data row is refused for an unknown team."""
    registry = get_registry()
    files = find_season_files(shared_data, LEAGUES)
    assert len(files) == 61 and len({sf.league for sf in files}) == 8
    for sf in files:
        assert sf.path is not None
        parsed = parse_season(sf.path.read_bytes(), sf, registry=registry)
        reasons = [r for r in parsed.rejects.column("reason").to_pylist() if "unknown team" in r]
        assert not reasons, (str(sf), reasons[:3])
        assert parsed.counts.matches > 0
