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
from lakehouse.teams.sync import (
    add_alias,
    football_data_catalogue,
    odds_api_catalogue,
    plan_catalogue,
    write_new_teams,
)

BELGIUM = football_data_catalogue(LEAGUES["B1"])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The registry's YAML without the synced countries, as before the first sync."""
    folder = tmp_path / "teams"
    shutil.copytree(DATA_DIR, folder)
    synced = (
        "belgium",
        "netherlands",
        "portugal",
        "scotland",
        "turkey",
        "uefa_champs_league",
        "fifa_world_cup",
    )
    for name in synced:
        (folder / f"soccer_{name}.yaml").unlink()
    for league in ("nba", "wnba", "ncaab"):
        (folder / f"basketball_{league}.yaml").unlink()
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
    plan = plan_catalogue(TeamRegistry.load(data_dir), BELGIUM, names)
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
    again = plan_catalogue(registry, BELGIUM, names)
    assert (len(again.known), again.new) == (20, [])  # idempotent
    assert write_new_teams([again], data_dir) == []
    assert written.read_text().count("- id: ") == 20


def test_a_name_close_to_a_known_team_waits_for_review(data_dir: Path) -> None:
    registry = TeamRegistry.load(data_dir)
    championship = football_data_catalogue(LEAGUES["E1"])
    plan = plan_catalogue(registry, championship, ["Wolverhampton Wanderer", "Barrow"])
    assert [t.name for t in plan.new] == ["Barrow"]
    (candidate, *_) = plan.review["Wolverhampton Wanderer"]
    assert candidate.team_id == "wolverhampton-wanderers" and candidate.score >= 90

    declared = plan_catalogue(
        registry, championship, ["Wolverhampton Wanderer"], new=["Wolverhampton Wanderer"]
    )
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


def test_every_football_data_file_in_the_shared_data_resolves_every_team(shared_data: Path) -> None:
    """The packaged registry after the sync: no football-data row is refused for an unknown team,
    in the main leagues' 61 season files and the extra leagues' 6 country files (84 seasons)."""
    registry = get_registry()
    files = find_season_files(shared_data, LEAGUES)
    assert len(files) == 61 + 84 and len({sf.league for sf in files}) == 8 + 6
    for sf in files:
        assert sf.path is not None
        parsed = parse_season(sf.path.read_bytes(), sf, registry=registry)
        reasons = [r for r in parsed.rejects.column("reason").to_pylist() if "unknown team" in r]
        assert not reasons, (str(sf), reasons[:3])
        assert parsed.counts.matches > 0


def test_a_cup_club_named_in_its_league_becomes_one_team(data_dir: Path) -> None:
    """The Odds API: a club in its league and in a cup is one team; a near-miss waits for a person."""
    registry = TeamRegistry.load(data_dir)
    planned: dict = {}
    serie_a = plan_catalogue(
        registry,
        odds_api_catalogue("soccer_italy_serie_a", "soccer"),
        ["Como", "Milan AC"],
        planned=planned,
    )
    assert serie_a.catalogue.file_name == "soccer_italy.yaml"  # a league goes to its country's file
    assert [t.team_id for t in serie_a.new] == ["como"]
    assert serie_a.review["Milan AC"][0].team_id == "ac-milan"  # close, so a person decides
    cup = plan_catalogue(
        registry,
        odds_api_catalogue("soccer_uefa_champs_league", "soccer"),
        ["Como", "Slavia Prague"],
        planned=planned,
    )
    assert cup.known == ["Como"] and [t.team_id for t in cup.new] == ["slavia-prague"]
    euroleague = odds_api_catalogue("basketball_euroleague", "basketball")
    clash = plan_catalogue(registry, euroleague, ["Liverpool", "Unicaja Malaga"])
    # News carry no sport: the football club keeps "Liverpool" as a mention, the new one has none.
    assert [(t.team_id, t.mentions) for t in clash.new] == [
        ("euroleague-liverpool", False),
        ("euroleague-unicaja-malaga", True),
    ]
    write_new_teams([clash], data_dir)
    both = TeamRegistry.load(data_dir)
    basket = both.resolve("Liverpool", source="the_odds_api", sport="basketball")
    assert basket.team_id == "euroleague-liverpool"
    assert both.resolve("Liverpool", source="the_odds_api", sport="soccer").team_id == "liverpool"
    headline = "Liverpool and Unicaja Malaga meet tonight"
    assert [t.team_id for t in both.mentioned_in(headline)] == ["liverpool", "euroleague-unicaja-malaga"]
    nba = plan_catalogue(registry, odds_api_catalogue("basketball_nba", "basketball"), ["Boston Celtics"])
    assert [(t.team_id, t.file_name) for t in nba.new] == [("nba-boston-celtics", "basketball_nba.yaml")]
    (path,) = write_new_teams([nba], data_dir)
    assert "sport: basketball" in path.read_text()
    assert TeamRegistry.load(data_dir).resolve("Boston Celtics", source="the_odds_api").sport == "basketball"


def test_every_odds_api_capture_resolves_its_teams_or_names_them_all(shared_data: Path) -> None:
    """The packaged registry after `teams sync the-odds-api` on the captures (and one accepted alias).

    Euroleague's clubs that share a football club's name (Real Madrid, AS Monaco, FC Bayern
    München) are basketball teams without news mentions, so a "Real Madrid" headline stays the
    football club's. What refuses an event is not a team: a sport the platform does not model
    (MMA's fighters) and a scores body without bookmakers.
    """
    import json

    from producers.connectors.odds_api import TheOddsApi
    from producers.dead_letters import unknown_names

    reasons: set[str] = set()
    events = 0
    for path in sorted((shared_data / "odds-api").rglob("*.json")):
        body = json.loads(path.read_bytes().decode("utf-8-sig"))
        body = body.get("data", body) if isinstance(body, dict) else body
        if not body or "home_team" not in body[0]:
            continue  # the sports list
        parsed = TheOddsApi().parse_events(body)
        events += len(body)
        for reject in parsed.rejects:
            kind = reject.reason.split(" '")[0].split(":")[0]
            reasons.add(f"{path.stem}: {kind}")
            if "unmatched team" in reject.reason:
                assert len(unknown_names(reject.reason)) == 2, reject.reason  # both teams named
    assert events > 150
    assert reasons == {
        "basketball_wnba_scores: event is missing field(s) bookmakers",
        "mma_mixed_martial_arts: unknown sport key",
    }, reasons


def test_cli_sync_espn_from_a_teams_response_and_a_scoreboard(data_dir: Path, shared_data: Path) -> None:
    """ESPN's own catalogues: the teams endpoint and a league's scoreboard, ids kept per league."""
    espn = shared_data / "espn"
    args = ["teams", "sync", "espn", "--data-dir", str(data_dir)]
    college = CliRunner().invoke(main, [*args, "--file", str(espn / "mens_college_basketball_teams.json")])
    assert college.exit_code == 0, college.output
    assert "basketball_ncaab 362 names: 0 known, 362 new -> basketball_ncaab.yaml" in college.output
    registry = TeamRegistry.load(data_dir)
    acu = registry.resolve_espn("2000", sport="basketball", competition="basketball_ncaab")
    assert (acu.team_id, acu.name) == ("ncaab-abilene-christian-wildcats", "Abilene Christian Wildcats")

    wnba = str(espn / "wnba_scoreboard_trimmed.json")
    unknown = CliRunner().invoke(main, [*args, "--file", wnba])
    assert unknown.exit_code == 1 and "which ESPN league is it? pass --league" in unknown.output
    synced = CliRunner().invoke(main, [*args, "--file", wnba, "--league", "basketball/wnba"])
    assert "basketball_wnba 4 names: 0 known, 4 new -> basketball_wnba.yaml" in synced.output
    registry = TeamRegistry.load(data_dir)
    # ESPN's 9 is a college side and the Liberty: one numbering per league.
    liberty = registry.resolve_espn("9", sport="basketball", competition="basketball_wnba")
    assert liberty.team_id == "wnba-new-york-liberty"
    assert (
        registry.resolve_espn("9", sport="basketball", competition="basketball_ncaab").team_id
        != liberty.team_id
    )


def test_national_sides_are_not_news_mentions(data_dir: Path, shared_data: Path) -> None:
    fifa = str(shared_data / "espn" / "fifa_world_scoreboard.json")
    args = ["teams", "sync", "espn", "--data-dir", str(data_dir), "--file", fifa]
    held = CliRunner().invoke(main, args)
    assert (
        held.exit_code == 1 and "review 'England': close to mls-new-england-revolution" in held.output
    )  # a person decides
    CliRunner().invoke(main, [*args, "--new", "Argentina", "--new", "England"])
    registry = TeamRegistry.load(data_dir)
    assert registry.resolve("France", source="espn", sport="soccer").competitions == (
        "soccer_fifa_world_cup",
    )
    assert registry.mentioned_in("Lyon beat Marseille as France and England head into the break") == [
        registry.by_id("lyon"),
        registry.by_id("marseille"),
    ]
