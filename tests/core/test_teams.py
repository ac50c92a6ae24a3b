"""Tests for lakehouse.teams: load validation, resolution rules, mentions and game ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from lakehouse.teams import (
    AmbiguousTeamError,
    Team,
    TeamRegistry,
    UnknownTeamError,
    football_data_date,
    game_id,
    get_registry,
    normalise_name,
)

TOY = """
sport: soccer
competitions: [soccer_epl]
mention_stopwords: [Reading]
teams:
  - id: manchester-city
    name: Manchester City
    espn_ids: ["382"]
    aliases:
      football_data: [Man City]
      news: [Man City]
  - id: manchester-city-women
    name: Manchester City Women
    competitions: [soccer_england_wsl]
    espn_ids: ["19257"]
  - id: brighton-and-hove-albion
    name: Brighton & Hove Albion
    aliases:
      football_data: [Brighton]
  - id: nottingham-forest
    name: Nottingham Forest
    aliases:
      football_data: ["Nott'm Forest"]
  - id: atletico-madrid
    name: Atlético Madrid
    competitions: [soccer_spain_la_liga]
    aliases:
      football_data: [Ath Madrid]
      news: [Atleti]
  - id: reading
    name: Reading
    aliases:
      any: [Reading FC]
  - id: sheffield-united
    name: Sheffield United
  - id: sheffield-wednesday
    name: Sheffield Wednesday
    aliases:
      football_data: [Sheffield Weds]
  - id: city-a
    name: City A
    aliases:
      espn: [Twin City]
  - id: city-b
    name: City B FC
    aliases:
      news: [Twin City]
      the_odds_api: [Twin City AFC]
"""

TOY_NFL = """
sport: americanfootball
competitions: [americanfootball_nfl]
teams:
  - id: nfl-atlanta-falcons
    name: Atlanta Falcons
    espn_ids: ["1"]
    aliases:
      espn: [Falcons]
  - id: nfl-dallas-cowboys
    name: Dallas Cowboys
    espn_ids: ["6"]
  - id: nfl-city-a
    name: City A
"""


def _write(directory: Path, **files: str) -> Path:
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def registry(tmp_path: Path) -> TeamRegistry:
    return TeamRegistry.load(_write(tmp_path, soccer=TOY, nfl=TOY_NFL))


# --- loading and validation ---------------------------------------------------------------


def test_load_reads_every_yaml_file(registry: TeamRegistry) -> None:
    assert len(registry.teams()) == 13
    assert [t.team_id for t in registry.teams(sport="americanfootball")] == [
        "nfl-atlanta-falcons",
        "nfl-city-a",
        "nfl-dallas-cowboys",
    ]
    assert [t.team_id for t in registry.teams(competition="soccer_spain_la_liga")] == ["atletico-madrid"]


def test_file_defaults_fill_sport_and_competitions(registry: TeamRegistry) -> None:
    city = registry.by_id("manchester-city")
    assert (city.sport, city.competitions, city.espn_ids) == ("soccer", ("soccer_epl",), ("382",))
    assert registry.by_id("manchester-city-women").competitions == ("soccer_england_wsl",)


def test_team_is_frozen_and_hashable(registry: TeamRegistry) -> None:
    city = registry.by_id("manchester-city")
    assert {city, registry.by_id("manchester-city")} == {city}
    with pytest.raises(AttributeError):
        city.name = "City"  # type: ignore[misc]


def test_duplicate_team_id_is_rejected(tmp_path: Path) -> None:
    other = "sport: soccer\nteams:\n  - {id: manchester-city, name: Man City Again}\n"
    with pytest.raises(ValueError, match=r"duplicate team id 'manchester-city' in a\.yaml and b\.yaml"):
        TeamRegistry.load(_write(tmp_path, a=TOY, b=other))


def test_alias_for_two_teams_in_same_sport_and_source_is_rejected(tmp_path: Path) -> None:
    clash = "sport: soccer\nteams:\n  - {id: city-c, name: City C, aliases: {football_data: [Man City]}}\n"
    with pytest.raises(ValueError, match=r"'Man City'.*'manchester-city'.*'city-c'"):
        TeamRegistry.load(_write(tmp_path, a=TOY, b=clash))


def test_any_alias_clashes_with_every_source(tmp_path: Path) -> None:
    clash = "sport: soccer\nteams:\n  - {id: city-c, name: City C, aliases: {any: [Brighton]}}\n"
    with pytest.raises(ValueError, match="maps to both"):
        TeamRegistry.load(_write(tmp_path, a=TOY, b=clash))


def test_same_alias_is_allowed_across_sports_and_sources(registry: TeamRegistry) -> None:
    # "City A" names a soccer and an NFL team; "Twin City" is espn for one team, news for another.
    assert registry.resolve("City A", source="espn", sport="soccer").team_id == "city-a"
    assert registry.resolve("Twin City", source="news").team_id == "city-b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sport: soccer\nteams:\n  - {id: Man-City, name: X}\n", "lowercase slug"),
        ("sport: soccer\nteams:\n  - {id: x, name: X, aliases: {espnn: [Y]}}\n", "unknown alias source"),
        ("sport: soccer\nteams:\n  - {id: x, name: X, colour: blue}\n", "unknown key"),
        ("teams:\n  - {id: x, name: X}\n", "missing sport"),
        ("sport: soccer\nteams:\n  - {id: x, name: X, aliases: {news: [NO]}}\n", "quote it"),
        ("sport: soccer\nteams:\n  - {id: x, name: X, venue: {name: Y}}\n", "venue needs"),
        ("sport: soccer\nteams: {}\n", "'teams' list"),
    ],
)
def test_malformed_data_is_rejected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TeamRegistry.load(_write(tmp_path, bad=text))


def test_duplicate_espn_id_within_a_sport_is_rejected(tmp_path: Path) -> None:
    clash = "sport: soccer\nteams:\n  - {id: city-c, name: City C, espn_ids: ['382']}\n"
    with pytest.raises(ValueError, match="ESPN id '382'"):
        TeamRegistry.load(_write(tmp_path, a=TOY, b=clash))


def _league_file(competition: str, team_id: str, name: str, espn_id: str) -> str:
    return (
        f"sport: basketball\ncompetitions: [{competition}]\n"
        f"teams:\n  - {{id: {team_id}, name: {name}, espn_ids: ['{espn_id}']}}\n"
    )


def test_espn_ids_are_unique_per_league_not_per_sport(tmp_path: Path) -> None:
    """ESPN numbers each league's teams: 9 is the Warriors in the NBA and the Liberty in the WNBA."""
    nba = _league_file("basketball_nba", "nba-gsw", "Golden State Warriors", "9")
    wnba = _league_file("basketball_wnba", "wnba-nyl", "New York Liberty", "9")
    registry = TeamRegistry.load(_write(tmp_path, nba=nba, wnba=wnba))
    assert registry.resolve_espn("9", sport="basketball", competition="basketball_nba").team_id == "nba-gsw"
    assert registry.resolve_espn("9", sport="basketball", competition="basketball_wnba").team_id == "wnba-nyl"
    with pytest.raises(AmbiguousTeamError):  # without the league, 9 is not one team
        registry.resolve_espn("9", sport="basketball")
    again = _league_file("basketball_nba", "nba-other", "Other", "9")
    with pytest.raises(ValueError, match="ESPN id '9'"):  # within one league it still is
        TeamRegistry.load(_write(tmp_path, again=again))


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no \*\.yaml"):
        TeamRegistry.load(tmp_path)


# --- resolution ---------------------------------------------------------------------------


def test_source_alias_then_canonical_name(registry: TeamRegistry) -> None:
    assert registry.resolve("Man City", source="football_data").team_id == "manchester-city"
    assert registry.resolve("Manchester City", source="the_odds_api").team_id == "manchester-city"
    assert registry.resolve("  Reading FC ", source="espn").team_id == "reading"


def test_source_specific_alias_wins_over_normalised_match(registry: TeamRegistry) -> None:
    # Normalised, "Twin City" would match both city-a (espn) and city-b (news): exact wins first.
    assert registry.resolve("Twin City", source="espn").team_id == "city-a"
    assert registry.resolve("Twin City", source="news").team_id == "city-b"
    with pytest.raises(AmbiguousTeamError) as info:
        registry.resolve("twin city", source="espn")
    assert info.value.candidates == ("city-a", "city-b")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Atletico Madrid", "atletico-madrid"),  # accents
        ("ATLÉTICO  MADRID", "atletico-madrid"),  # case and spacing
        ("Brighton and Hove Albion", "brighton-and-hove-albion"),  # '&' vs 'and'
        ("Brighton & Hove Albion FC", "brighton-and-hove-albion"),  # FC suffix
        ("City B", "city-b"),  # canonical "City B FC" without its suffix
        ("Nottm Forest", "nottingham-forest"),  # punctuation
        ("man city", "manchester-city"),  # another source's alias, normalised
        ("sheffield-wednesday", "sheffield-wednesday"),  # the team id itself
    ],
)
def test_normalised_match(registry: TeamRegistry, name: str, expected: str) -> None:
    assert registry.resolve(name, source="the_odds_api", sport="soccer").team_id == expected


def test_normalisation_rules() -> None:
    assert normalise_name("Brighton & Hove Albion") == "brighton and hove albion"
    assert normalise_name("AFC Bournemouth") == "bournemouth"
    assert normalise_name("CF Montréal") == "montreal"
    assert normalise_name("Nott'm Forest") == "nottm forest"
    assert normalise_name("D.C. United") == "dc united"


def test_no_fuzzy_guessing(registry: TeamRegistry) -> None:
    for near_miss in ("Manchester", "Man Citi", "Sheffield", "Brighton Hove Albion", "Madrid"):
        with pytest.raises(UnknownTeamError):
            registry.resolve(near_miss, source="news", sport="soccer")


def test_sheffield_clubs_stay_apart(registry: TeamRegistry) -> None:
    assert registry.resolve("Sheffield United", source="football_data").team_id == "sheffield-united"
    assert registry.resolve("Sheffield Weds", source="football_data").team_id == "sheffield-wednesday"


def test_ambiguous_across_sports_unless_sport_given(registry: TeamRegistry) -> None:
    with pytest.raises(AmbiguousTeamError, match="city-a, nfl-city-a") as info:
        registry.resolve("City A", source="espn")
    assert info.value.candidates == ("city-a", "nfl-city-a")
    assert registry.resolve("City A", source="espn", sport="americanfootball").team_id == "nfl-city-a"


def test_unknown_team_message_says_where_to_add_the_alias(registry: TeamRegistry) -> None:
    with pytest.raises(UnknownTeamError) as info:
        registry.resolve("Foo FC", source="espn", sport="soccer")
    message = str(info.value)
    assert message.startswith("unknown team 'Foo FC' from espn (sport soccer); add an alias in")
    assert "lakehouse/teams/data/<file>.yaml (soccer.yaml)" in message
    assert (info.value.name, info.value.source, info.value.sport) == ("Foo FC", "espn", "soccer")


def test_unknown_source_is_a_programming_error(registry: TeamRegistry) -> None:
    with pytest.raises(ValueError, match="unknown source 'odds_api'"):
        registry.resolve("Man City", source="odds_api")


def test_try_resolve_returns_reasons(registry: TeamRegistry) -> None:
    team, reason = registry.try_resolve("Man City", source="football_data")
    assert team is not None and team.team_id == "manchester-city" and reason is None
    team, reason = registry.try_resolve("Foo", source="news")
    assert team is None and reason is not None and reason.startswith("unknown team 'Foo' from news")
    team, reason = registry.try_resolve("City A", source="espn")
    assert team is None and reason is not None and "ambiguous" in reason and "nfl-city-a" in reason


def test_by_id(registry: TeamRegistry) -> None:
    assert registry.by_id("reading").name == "Reading"
    with pytest.raises(UnknownTeamError, match="unknown team id 'nope'"):
        registry.by_id("nope")


# --- ESPN ---------------------------------------------------------------------------------


def test_resolve_espn_by_id_then_name(registry: TeamRegistry) -> None:
    assert registry.resolve_espn("382").team_id == "manchester-city"
    assert registry.resolve_espn("19257", name="Manchester City").team_id == "manchester-city-women"
    assert registry.resolve_espn("6", sport="americanfootball").team_id == "nfl-dallas-cowboys"
    # An id we have not recorded falls back to the name if the team has no ESPN ids yet.
    assert registry.resolve_espn("999", name="Reading").team_id == "reading"


def test_resolve_espn_refuses_a_known_name_under_a_new_id(registry: TeamRegistry) -> None:
    # ESPN reuses "Manchester City" for another side: an unseen id must not become the men's team.
    with pytest.raises(UnknownTeamError, match=r"'777'.*'manchester-city'.*382"):
        registry.resolve_espn("777", name="Manchester City")


def test_resolve_espn_unknown_id_without_name(registry: TeamRegistry) -> None:
    with pytest.raises(UnknownTeamError, match="unknown ESPN id '12345'"):
        registry.resolve_espn("12345", sport="soccer")


# --- mentions -----------------------------------------------------------------------------


def _mentioned(registry: TeamRegistry, text: str, sport: str | None = None) -> list[str]:
    return [team.team_id for team in registry.mentioned_in(text, sport=sport)]


def test_mentions_in_headlines(registry: TeamRegistry) -> None:
    headline = "Atleti hold Man City as Brighton and Hove Albion beat Nottingham Forest"
    assert _mentioned(registry, headline) == [
        "atletico-madrid",
        "manchester-city",
        "brighton-and-hove-albion",
        "nottingham-forest",
    ]


def test_mentions_are_whole_words_and_deduplicated(registry: TeamRegistry) -> None:
    assert _mentioned(registry, "Brightonians cheer; Brighton win, Brighton top") == [
        "brighton-and-hove-albion"
    ]


def test_longest_phrase_wins(registry: TeamRegistry) -> None:
    assert _mentioned(registry, "Manchester City Women sign a striker") == ["manchester-city-women"]


def test_stopwords_and_sport_filter(registry: TeamRegistry) -> None:
    assert _mentioned(registry, "Reading the game: Falcons beat Dallas Cowboys") == [
        "nfl-atlanta-falcons",
        "nfl-dallas-cowboys",
    ]
    assert _mentioned(registry, "Reading FC edge Falcons?", sport="soccer") == ["reading"]


def test_ambiguous_mention_is_skipped(registry: TeamRegistry) -> None:
    assert _mentioned(registry, "City A travel") == []
    assert _mentioned(registry, "City A travel", sport="americanfootball") == ["nfl-city-a"]


# --- game ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kickoff",
    [
        "2024-03-30T12:30Z",  # ESPN
        "2024-03-30T12:30:00Z",  # The Odds API
        "2024-03-30T13:30:00+01:00",
        "2024-03-30",
        "2024-03-30T12:30:00",  # naive = UTC
        datetime(2024, 3, 30, 12, 30, tzinfo=UTC),
        datetime(2024, 3, 30, 23, 59),
        date(2024, 3, 30),
    ],
)
def test_game_id_formats(kickoff: datetime | date | str) -> None:
    assert game_id(kickoff, "newcastle-united", "west-ham-united") == (
        "2024-03-30:newcastle-united:west-ham-united"
    )


@pytest.mark.parametrize(
    ("kickoff", "day"),
    [
        ("2024-03-30T23:30:00-02:00", "2024-03-31"),  # 01:30 UTC next day
        ("2024-03-31T00:30:00+02:00", "2024-03-30"),  # 22:30 UTC the day before
        (datetime(2024, 3, 31, 1, 0, tzinfo=timezone(timedelta(hours=5))), "2024-03-30"),
        ("2022-09-12T00:20Z", "2022-09-12"),  # Sunday-night NFL in US time is Monday in UTC
    ],
)
def test_game_id_uses_the_utc_date(kickoff: datetime | str, day: str) -> None:
    assert game_id(kickoff, "a", "b") == f"{day}:a:b"


@pytest.mark.parametrize(
    ("kickoff", "home", "away", "error"),
    [
        ("30/03/2024", "a", "b", ValueError),
        ("2024-03-30", "Man City", "b", ValueError),
        ("2024-03-30", "a", "a", ValueError),
        (20240330, "a", "b", TypeError),
    ],
)
def test_game_id_rejects_bad_input(kickoff: object, home: str, away: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        game_id(kickoff, home, away)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("date_str", "time_str", "expected"),
    [
        ("19/08/00", None, date(2000, 8, 19)),
        ("30/03/2024", "12:30", date(2024, 3, 30)),
        ("04/04/2024", "20:15", date(2024, 4, 4)),
        (" 13/08/2021 ", "", date(2021, 8, 13)),
    ],
)
def test_football_data_date(date_str: str, time_str: str | None, expected: date) -> None:
    assert football_data_date(date_str, time_str) == expected


@pytest.mark.parametrize(
    ("date_str", "time_str"), [("2024-03-30", None), ("30/3/202", None), ("30/03/2024", "8pm")]
)
def test_football_data_date_rejects_other_formats(date_str: str, time_str: str | None) -> None:
    with pytest.raises(ValueError):
        football_data_date(date_str, time_str)


@pytest.mark.parametrize(
    ("date_str", "season", "expected"),
    [
        ("2014/8/4", "0405", date(2004, 8, 14)),  # E0_0405.csv: 14/08/04 stored as 2014/8/4
        ("1930/8/4", "0405", date(2004, 8, 30)),  # ... and 30/08/04 as 1930/8/4
        ("2001/1/5", "2004/05", date(2005, 1, 1)),
        ("2014/8/4", "1415", date(2014, 8, 4)),  # a genuine yyyy/m/d date in its own season
    ],
)
def test_football_data_date_reads_scrambled_dates_with_the_season(
    date_str: str, season: str, expected: date
) -> None:
    assert football_data_date(date_str, season=season) == expected


@pytest.mark.parametrize(
    ("season", "message"),
    [(None, "pass season="), ("2004", "must look like"), ("1011", "no single reading")],
)
def test_football_data_date_never_guesses_a_scrambled_date(season: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        football_data_date("2014/8/4", season=season)


# --- the packaged data --------------------------------------------------------------------


def test_packaged_registry_is_loaded_once_per_process() -> None:
    """Its load time is a benchmark figure (`python -m bench.batch` prints it), not a timed test."""
    assert get_registry() is get_registry()
    assert len(get_registry().teams()) == len(TeamRegistry.load().teams())


def test_packaged_epl_2023_24_clubs_have_venues() -> None:
    registry = get_registry()
    clubs = [
        "arsenal", "aston-villa", "bournemouth", "brentford", "brighton-and-hove-albion", "burnley",
        "chelsea", "crystal-palace", "everton", "fulham", "liverpool", "luton-town", "manchester-city",
        "manchester-united", "newcastle-united", "nottingham-forest", "sheffield-united",
        "tottenham-hotspur", "west-ham-united", "wolverhampton-wanderers",
    ]  # fmt: skip
    for team_id in clubs:
        venue = registry.by_id(team_id).venue
        assert venue is not None, team_id
        assert venue["country"] == "England"
        assert 50.0 < venue["lat"] < 55.5 and -3.5 < venue["lon"] < 0.5, team_id


def test_packaged_news_aliases() -> None:
    registry = get_registry()
    found = registry.mentioned_in(
        "Spurs and Wolves draw; Man Utd lose at Sheffield Wednesday", sport="soccer"
    )
    assert [team.team_id for team in found] == [
        "tottenham-hotspur",
        "wolverhampton-wanderers",
        "manchester-united",
        "sheffield-wednesday",
    ]


def test_team_dataclass_matches_the_public_contract() -> None:
    team = Team("x", "X", "soccer", ("soccer_epl",), {"news": ("Ex",)})
    assert (team.espn_ids, team.venue) == ((), None)
