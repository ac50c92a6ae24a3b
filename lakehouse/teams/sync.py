"""A source's own team catalogue into the registry: new teams written, near-misses kept for review.

Each source names a competition's teams its own way: football-data per league (and it is the
only catalogue of many leagues), The Odds API per sport key. A name no team answers to becomes
a new team of its competition's file (``soccer_<country>.yaml``, ``basketball_nba.yaml``). A
name close to a team the registry already has there (a fuzzy score from rapidfuzz,
``min_score`` and up) is *not* created: it could be that team under another spelling, and a
wrong merge or a duplicate would both corrupt every join. It is listed with its candidates
until a person accepts an alias (`add_alias`) or declares it new.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from lakehouse.espn import REGISTRY_SPORTS, SPORT_KEYS, espn_path, league_of_body
from lakehouse.football_data.leagues import LEAGUES, League
from lakehouse.teams.registry import DATA_DIR, SOURCES, Team, TeamRegistry, normalise_name, slug

__all__ = [
    "Catalogue",
    "CatalogueSync",
    "NewTeam",
    "Suggestion",
    "add_alias",
    "football_data_catalogue",
    "odds_api_catalogue",
    "plan_catalogue",
    "write_new_teams",
]

MIN_SCORE = 90.0  # WRatio of normalised names; "Sheffield Weds" ~ "Sheffield Wednesday" is 90


@dataclass(frozen=True)
class Suggestion:
    """A registry team a new name may be, with rapidfuzz's score (0-100)."""

    team_id: str
    team_name: str
    score: float


@dataclass(frozen=True)
class NewTeam:
    team_id: str
    name: str
    competitions: tuple[str, ...]
    file_name: str  # soccer_<country>.yaml
    sport: str = "soccer"
    espn_ids: tuple[str, ...] = ()
    nation: bool = False
    mentions: bool = True  # False: another sport's team keeps the name in news mentions


@dataclass(frozen=True)
class Catalogue:
    """One source's list of one competition's teams, and where its new teams go in the registry."""

    label: str  # what the user named: "B1", "basketball_nba"
    sport: str  # the registry's sport: soccer, basketball
    competition: str  # sport key, e.g. soccer_belgium_first_div
    file_name: str  # soccer_belgium.yaml, basketball_nba.yaml
    source: str  # the registry source the names are aliases of: football_data, the_odds_api
    id_prefix: str = ""  # "nba-": team names repeat across leagues of one sport (Liberty, Storm)
    country: str = ""  # the slug's fallback prefix when an id is taken ("portugal-nacional")
    international: bool = False  # clubs of every country (Champions League): compared with all
    nations: bool = False  # national sides: their names are countries, ordinary words in news


def football_data_catalogue(league: League) -> Catalogue:
    return Catalogue(
        league.code,
        "soccer",
        league.sport,
        f"soccer_{slug(league.country).replace('-', '_')}.yaml",
        "football_data",
        country=league.country,
    )


def odds_api_catalogue(sport_key: str, sport: str) -> Catalogue:
    return source_catalogue("the_odds_api", sport_key, sport)


def source_catalogue(source: str, sport_key: str, sport: str) -> Catalogue:
    """Soccer leagues go to their country's file (as football-data's do); other sports to one per key."""
    league = next((lg for lg in LEAGUES.values() if lg.sport == sport_key), None)
    if sport == "soccer" and league is not None:
        return replace(football_data_catalogue(league), label=sport_key, source=source)
    if sport == "soccer":  # a cup of clubs or nations from many countries (UEFA, FIFA)
        nations = "fifa" in sport_key
        return Catalogue(
            sport_key, sport, sport_key, f"{sport_key}.yaml", source, international=True, nations=nations
        )
    prefix = sport_key.split("_", 1)[-1].replace("_", "-") + "-"
    return Catalogue(sport_key, sport, sport_key, f"{sport_key}.yaml", source, id_prefix=prefix)


@dataclass
class CatalogueSync:
    """What syncing one catalogue's names would do."""

    catalogue: Catalogue
    names: int = 0
    known: list[str] = field(default_factory=list)
    new: list[NewTeam] = field(default_factory=list)
    review: dict[str, list[Suggestion]] = field(default_factory=dict)  # name -> candidates
    refused: dict[str, str] = field(default_factory=dict)  # name -> reason (ambiguous, no slug)


def plan_catalogue(
    registry: TeamRegistry,
    catalogue: Catalogue,
    names: Iterable[str],
    *,
    new: Iterable[str] = (),
    min_score: float = MIN_SCORE,
    planned: dict[str, NewTeam] | None = None,
    espn_ids: Mapping[str, str] | None = None,
) -> CatalogueSync:
    """Sort a catalogue's names into known, new (to create) and to review; nothing is written.

    `new` are names a person declared new teams despite a close candidate. `planned` holds the
    teams earlier catalogues of the same run will create (by normalised name), so a club named
    in its league and in a cup becomes one team, and its near-misses are caught too.
    """
    plan = CatalogueSync(catalogue)
    declared = set(new)
    planned = planned if planned is not None else {}
    neighbours = _neighbours(registry, catalogue)
    for name in sorted(set(names)):
        plan.names += 1
        espn_id = (espn_ids or {}).get(name)
        team, reason = _known(registry, catalogue, name, espn_id)
        key = f"{catalogue.sport}:{normalise_name(name)}"
        if team is not None or key in planned:
            plan.known.append(name)
            continue
        if reason and reason.startswith("ambiguous"):
            plan.refused[name] = reason
            continue
        # Another sport's team answers to the name (Euroleague's Real Madrid): news carry no sport,
        # so the new team is created without news mentions and the one already known keeps them.
        other, _ = registry.try_resolve(name, source=catalogue.source)
        mentions = other is None or other.sport == catalogue.sport
        same_sport = {
            planned_key.split(":", 1)[1]: (t.team_id, t.name)
            for planned_key, t in planned.items()
            if t.sport == catalogue.sport and (catalogue.international or t.file_name == catalogue.file_name)
        }
        candidates = _candidates(name, {**neighbours, **same_sport}, min_score)
        if candidates and name not in declared:
            plan.review[name] = candidates
            continue
        base = catalogue.id_prefix + slug(name)
        taken = {t.team_id for t in planned.values()}
        team_id = _free_id(registry, base if slug(name) else "", catalogue, taken)
        if team_id is None:
            plan.refused[name] = f"no free id for {name!r} (slug {base!r})"
            continue
        ids = (espn_id,) if espn_id else ()
        created = NewTeam(
            team_id,
            name,
            (catalogue.competition,),
            catalogue.file_name,
            catalogue.sport,
            ids,
            catalogue.nations,
            mentions,
        )
        planned[key] = created
        plan.new.append(created)
    return plan


def _known(
    registry: TeamRegistry, catalogue: Catalogue, name: str, espn_id: str | None
) -> tuple[Team | None, str | None]:
    """The team a name (or ESPN id in this league) already is, else the reason it is not."""
    if espn_id is None:
        return registry.try_resolve(name, source=catalogue.source, sport=catalogue.sport)
    try:
        team = registry.resolve_espn(
            espn_id, sport=catalogue.sport, name=name, competition=catalogue.competition
        )
    except LookupError as exc:
        return None, str(exc)
    ok = espn_id in team.espn_ids or catalogue.competition in team.competitions
    return (
        (team, None)
        if ok
        else (None, f"{name!r} matches {team.team_id}, not known in {catalogue.competition}")
    )


def _neighbours(registry: TeamRegistry, catalogue: Catalogue) -> dict[str, tuple[str, str]]:
    """Normalised name -> (team id, name) of the teams a new name of `catalogue` could be."""
    out: dict[str, tuple[str, str]] = {}
    for team in registry.teams(sport=catalogue.sport):
        mine = (
            registry.origin(team.team_id) == catalogue.file_name or catalogue.competition in team.competitions
        )
        if mine or catalogue.international:
            for name in team.all_names():
                out.setdefault(normalise_name(name), (team.team_id, team.name))
    return out


def _candidates(name: str, neighbours: Mapping[str, tuple[str, str]], min_score: float) -> list[Suggestion]:
    found = process.extract(
        normalise_name(name), list(neighbours), scorer=fuzz.WRatio, score_cutoff=min_score, limit=10
    )
    best: dict[str, Suggestion] = {}
    for choice, score, _ in found:
        team_id, team_name = neighbours[choice]
        if team_id not in best or best[team_id].score < score:
            best[team_id] = Suggestion(team_id, team_name, round(float(score), 1))
    return sorted(best.values(), key=lambda s: (-s.score, s.team_id))[:3]


def _free_id(registry: TeamRegistry, base: str, catalogue: Catalogue, taken: set[str]) -> str | None:
    if not base:
        return None
    fallback = f"{slug(catalogue.country or catalogue.competition)}-{base}"
    for team_id in (base, fallback):
        if team_id not in taken and not registry.has_id(team_id):
            return team_id
    return None


def football_data_names(folder: Path, leagues: Iterable[str]) -> list[tuple[Catalogue, set[str]]]:
    """(catalogue, every team name its files use) per league with season files under `folder`."""
    from lakehouse.football_data.files import find_season_files
    from lakehouse.football_data.reader import SeasonRows

    names: dict[str, set[str]] = {}
    for sf in find_season_files(folder, leagues):
        assert sf.path is not None
        names.setdefault(sf.league, set()).update(SeasonRows.parse(sf.path.read_bytes(), sf).team_names())
    return [(football_data_catalogue(LEAGUES[code]), found) for code, found in sorted(names.items())]


def plan_all(
    registry: TeamRegistry,
    catalogues: Iterable[tuple[Catalogue, set[str]]],
    *,
    new: Iterable[str] = (),
    min_score: float = MIN_SCORE,
    espn_ids: Mapping[str, str] | None = None,
) -> list[CatalogueSync]:
    """Plan every catalogue of one run, so a club named in several becomes one team."""
    planned: dict[str, NewTeam] = {}
    declared = tuple(new)
    return [
        plan_catalogue(
            registry, catalogue, found, new=declared, min_score=min_score, planned=planned, espn_ids=espn_ids
        )
        for catalogue, found in catalogues
    ]


# ESPN publishes each league's teams (``/apis/site/v2/sports/{sport}/{league}/teams``) and names
# them in its scoreboards; both give (ESPN id, display name) pairs.


def espn_teams(body: Any) -> tuple[str | None, list[tuple[str, str]]]:
    """(league path or None, [(ESPN id, display name)]) of a scoreboard or a teams response."""
    if isinstance(body, dict) and isinstance(body.get("sports"), list) and body["sports"]:
        sport = body["sports"][0]
        league = (sport.get("leagues") or [{}])[0]
        teams = [t.get("team") or {} for t in league.get("teams") or []]
        path = (
            f"{sport.get('slug')}/{league.get('slug')}" if sport.get("slug") and league.get("slug") else None
        )
        return path, [
            (str(t["id"]), str(t["displayName"])) for t in teams if t.get("id") and t.get("displayName")
        ]
    out = []
    for event in (body.get("events") or []) if isinstance(body, dict) else []:
        for competition in event.get("competitions") or []:
            for competitor in competition.get("competitors") or []:
                team = competitor.get("team") or {}
                if team.get("id") and team.get("displayName"):
                    out.append((str(team["id"]), str(team["displayName"])))
    return league_of_body(body), out


def espn_catalogues(
    bodies: list[tuple[str, Any]], league: str | None = None
) -> tuple[list[tuple[Catalogue, set[str]]], dict[str, str]]:
    """(catalogue, names) per ESPN league of the (label, body) pairs, and each name's ESPN id.

    A body's league is what it says, else ``league``; a ValueError names the body otherwise.
    """
    names: dict[str, set[str]] = {}
    ids: dict[str, str] = {}
    for label, body in bodies:
        found, teams = espn_teams(body)
        path = espn_path(league) if league else found
        if path is None or path.endswith("/all"):
            raise ValueError(f"{label}: which ESPN league is it? pass --league <sport>/<league>")
        if path not in SPORT_KEYS:
            raise ValueError(f"{label}: ESPN league {path} has no sport key; add it to SPORT_KEYS")
        for espn_id, name in teams:
            names.setdefault(path, set()).add(name)
            ids[name] = espn_id
    catalogues = [
        (source_catalogue("espn", SPORT_KEYS[path], REGISTRY_SPORTS[path.split("/")[0]]), found)
        for path, found in sorted(names.items())
    ]
    return catalogues, ids


# --- writing ---------------------------------------------------------------------------------


def write_new_teams(plans: Iterable[CatalogueSync], data_dir: Path = DATA_DIR) -> list[Path]:
    """Append the planned teams to their country files; the registry must load after, or nothing changes.

    Files are written in a scratch copy of `data_dir` first and the registry is loaded from it,
    so a conflict (an alias two teams claim) fails the sync with the loader's message.
    """
    by_file: dict[str, list[NewTeam]] = {}
    for plan in plans:
        for team in plan.new:
            by_file.setdefault(team.file_name, []).append(team)
    if not by_file:
        return []
    with tempfile.TemporaryDirectory(prefix="teams-sync-") as tmp:
        scratch = Path(tmp)
        for path in data_dir.glob("*.yaml"):
            shutil.copyfile(path, scratch / path.name)
        for file_name, teams in by_file.items():
            _append_teams(scratch / file_name, teams, teams[0].sport)
        TeamRegistry.load(scratch)  # raises with the reason; data_dir untouched
        for file_name in by_file:
            shutil.copyfile(scratch / file_name, data_dir / file_name)
    return [data_dir / name for name in sorted(by_file)]


def _append_teams(path: Path, teams: list[NewTeam], sport: str) -> None:
    existed = path.exists()
    if existed:
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
        if not _teams_is_last_key(text):
            raise ValueError(f"{path.name}: 'teams' must be the last top-level key to append to it")
    else:
        competitions = sorted({c for t in teams for c in t.competitions})
        text = (
            f"# {path.stem}: teams as their source names them, written by `lakehouse teams sync`.\n"
            "# Add other sources' names under aliases (see ../README.md).\n"
            f"sport: {sport}\n"
            f"competitions: [{', '.join(competitions)}]\n"
        )
        nations = [t.name for t in teams if t.nation]
        if nations:  # "France" in a headline is the country far more often than the side
            text += f"mention_stopwords: [{', '.join(_scalar(n) for n in nations)}]\n"
        text += "\nteams:\n"
    entries = [
        f"\n  - id: {team.team_id}\n    name: {_scalar(team.name)}\n"
        f"    competitions: [{', '.join(team.competitions)}]\n"
        + (f"    espn_ids: [{', '.join(json.dumps(i) for i in team.espn_ids)}]\n" if team.espn_ids else "")
        + (
            ""
            if team.mentions
            else "    mentions: false  # another sport's team of this name keeps news mentions\n"
        )
        for team in teams
    ]
    path.write_text(text + "".join(entries), encoding="utf-8")
    if existed and (nations := [t.name for t in teams if t.nation]):
        _add_stopwords(path, nations)


def _add_stopwords(path: Path, words: list[str]) -> None:
    """Extend a file's `mention_stopwords` (comments and layout kept)."""
    rt = _round_trip()
    document = rt.load(path.read_text(encoding="utf-8"))
    listed = document.get("mention_stopwords")
    if listed is None:
        listed = CommentedSeq()
        listed.fa.set_flow_style()
        document.insert(len(document) - 1, "mention_stopwords", listed)  # before `teams`
    listed.extend(w for w in words if w not in listed)
    with path.open("w", encoding="utf-8") as out:
        rt.dump(document, out)


def _round_trip() -> YAML:
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 10_000
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _teams_is_last_key(text: str) -> bool:
    top = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    return bool(top) and top[-1] == "teams"


def _scalar(text: str) -> str:
    """`text` as a YAML scalar: plain when that reads back the same, else quoted."""
    dumped: str = yaml.safe_dump(text, width=10_000, allow_unicode=True)
    return dumped.removesuffix("\n...\n").strip()


def add_alias(team_id: str, name: str, source: str, data_dir: Path = DATA_DIR) -> Path:
    """Record `name` as `source`'s alias of `team_id` in its YAML (comments kept): an accepted review."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    registry = TeamRegistry.load(data_dir)
    if not registry.has_id(team_id):
        raise ValueError(f"no team {team_id!r} in {data_dir}")
    path = data_dir / registry.origin(team_id)
    rt = _round_trip()
    document = rt.load(path.read_text(encoding="utf-8"))
    entry = next(t for t in document["teams"] if t["id"] == team_id)
    aliases = entry.setdefault("aliases", CommentedMap())
    names = aliases.get(source)
    if names is None:
        names = aliases[source] = CommentedSeq()
        names.fa.set_flow_style()
    if name not in names:
        names.append(name)
    with tempfile.TemporaryDirectory(prefix="teams-alias-") as tmp:
        scratch = Path(tmp)
        for other in data_dir.glob("*.yaml"):
            shutil.copyfile(other, scratch / other.name)
        with (scratch / path.name).open("w", encoding="utf-8") as out:
            rt.dump(document, out)
        TeamRegistry.load(scratch)  # the alias must not claim another team's name
        shutil.copyfile(scratch / path.name, path)
    return path
