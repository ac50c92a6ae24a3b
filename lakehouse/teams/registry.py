"""Team and game identity: one canonical id per team and per game across every source.

ESPN, The Odds API, football-data, weather and news feeds each spell teams their own way
("Man City", "Manchester City", "MNC").  Joining them needs one id per team, so every record
carries ``team_id`` and a ``game_id`` built from the kick-off date and both team ids.

Teams and their aliases live in ``data/*.yaml`` (one file per competition family), so adding
an alias is a data change.  Resolution is deliberately conservative: exact aliases, then a
fixed normalisation (case, accents, "&", punctuation, FC-style suffixes), and nothing fuzzier.
A name that still does not match, or matches several teams, raises with the reason: a silent
wrong guess would join the wrong games and corrupt every downstream model.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = [
    "SOURCES",
    "AmbiguousTeamError",
    "Team",
    "TeamRegistry",
    "UnknownTeamError",
    "football_data_date",
    "game_id",
    "get_registry",
    "normalise_name",
    "slug",
]

DATA_DIR = Path(__file__).parent / "data"
_DATA_HINT = "lakehouse/teams/data"

#: Sources an alias can belong to; "any" applies to every source.
SOURCES = ("football_data", "the_odds_api", "espn", "news", "any")

# Club-form tokens that carry no identity ("AFC Bournemouth" is "Bournemouth").
_DROP_TOKENS = frozenset({"fc", "afc", "cf", "sc", "cd", "ud", "sd", "rcd", "ca"})
_ELIDED = re.compile(r"['’`.]")  # removed outright: "Nott'm" -> "nottm", "D.C." -> "dc"
_NON_WORD = re.compile(r"[\W_]+")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MIN_MENTION_LEN = 4  # shorter aliases ("QPR") count as mentions only when listed under "news"

_TEAM_KEYS = frozenset({"id", "name", "sport", "competitions", "aliases", "espn_ids", "venue", "mentions"})
_FILE_KEYS = frozenset({"sport", "competitions", "mention_stopwords", "teams"})
_VENUE_KEYS = frozenset({"name", "city", "country", "lat", "lon"})

try:  # libyaml keeps the registry load well under the 50 ms budget
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML build
    _YamlLoader = yaml.SafeLoader


@dataclass(frozen=True)
class Team:
    """One team, with the names each source uses for it."""

    team_id: str
    name: str
    sport: str
    competitions: tuple[str, ...]
    aliases: Mapping[str, tuple[str, ...]] = field(hash=False)
    espn_ids: tuple[str, ...] = ()
    venue: Mapping[str, Any] | None = field(default=None, hash=False)
    mentions: bool = True  # False: its names are not news mentions (another sport's team has them)

    def __repr__(self) -> str:  # the full alias map drowns log lines
        return f"Team({self.team_id!r}, {self.name!r}, sport={self.sport!r})"

    def all_names(self) -> tuple[str, ...]:
        """Canonical name first, then every alias of every source, without duplicates."""
        names = [self.name, *(alias for names in self.aliases.values() for alias in names)]
        return tuple(dict.fromkeys(names))


class UnknownTeamError(LookupError):
    """No team matches: the fix is an alias in the YAML data, never a guess."""

    def __init__(self, message: str, *, name: str = "", source: str = "", sport: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.source = source
        self.sport = sport


class AmbiguousTeamError(LookupError):
    """Several teams match; the caller must narrow by sport or the data needs a precise alias."""

    def __init__(self, message: str, *, name: str = "", candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.name = name
        self.candidates = candidates


def normalise_name(name: str) -> str:
    """The one normalisation allowed after exact matching: fold case, accents, '&', punctuation, FC."""
    tokens = _text_key(name).split()
    return " ".join(token for token in tokens if token not in _DROP_TOKENS)


def slug(text: str) -> str:
    """A registry id from a name: ``St. Gilloise`` -> ``st-gilloise`` (ASCII, accents folded)."""
    return "-".join(_text_key(text).encode("ascii", "ignore").decode().split())


def _text_key(text: str) -> str:
    """Case-, accent- and punctuation-folded text, words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = _ELIDED.sub("", stripped.replace("&", " and "))
    return " ".join(_NON_WORD.sub(" ", stripped).split())


# --------------------------------------------------------------------------------------------
# Loading and validating the YAML data


@dataclass
class _Indexes:
    """Lookup tables built once at load; values are team ids, several only across sports."""

    teams: dict[str, Team] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # team id -> YAML file name
    exact: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    normalised: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    espn: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    stopwords: set[str] = field(default_factory=set)
    files_by_sport: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def _string_tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list, got {value!r}")
    items = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise ValueError(f"{where}: expected strings, got {item!r} (quote it in the YAML)")
        text = str(item).strip()
        if not text:
            raise ValueError(f"{where}: empty name")
        items.append(text)
    return tuple(items)


def _parse_aliases(raw: Any, where: str) -> Mapping[str, tuple[str, ...]]:
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: aliases must be a mapping of source -> names")
    unknown = set(raw) - set(SOURCES)
    if unknown:
        raise ValueError(f"{where}: unknown alias source(s) {sorted(unknown)}; use one of {SOURCES}")
    return MappingProxyType(
        {source: _string_tuple(names, f"{where}.{source}") for source, names in raw.items()}
    )


def _parse_venue(raw: Any, where: str) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != _VENUE_KEYS:
        raise ValueError(f"{where}: venue needs exactly {sorted(_VENUE_KEYS)}")
    for key in ("lat", "lon"):
        if isinstance(raw[key], bool) or not isinstance(raw[key], int | float):
            raise ValueError(f"{where}: venue {key} must be a number")
    return MappingProxyType(dict(raw))


def _parse_team(raw: Any, defaults: Mapping[str, Any], where: str) -> Team:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: each team must be a mapping")
    unknown = set(raw) - _TEAM_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
    team_id, name = raw.get("id"), raw.get("name")
    if not isinstance(team_id, str) or not _SLUG.match(team_id):
        raise ValueError(f"{where}: id {team_id!r} must be a lowercase slug like 'manchester-city'")
    where = f"{where} ({team_id})"
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: missing name")
    sport = raw.get("sport", defaults.get("sport"))
    if not isinstance(sport, str) or not sport:
        raise ValueError(f"{where}: missing sport (set it per team or at the top of the file)")
    mentions = raw.get("mentions", True)
    if not isinstance(mentions, bool):
        raise ValueError(f"{where}: mentions must be true or false")
    return Team(
        team_id=team_id,
        name=name.strip(),
        sport=sport,
        competitions=_string_tuple(
            raw.get("competitions", defaults.get("competitions")), f"{where}.competitions"
        ),
        aliases=_parse_aliases(raw.get("aliases"), where),
        espn_ids=_string_tuple(raw.get("espn_ids"), f"{where}.espn_ids"),
        venue=_parse_venue(raw.get("venue"), where),
        mentions=mentions,
    )


def _read_file(path: Path) -> tuple[list[Team], tuple[str, ...], str | None]:
    """Teams, mention stop-words and default sport of one YAML file."""
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("teams"), list):
        raise ValueError(f"{path.name}: expected a mapping with a 'teams' list")
    unknown = set(raw) - _FILE_KEYS
    if unknown:
        raise ValueError(f"{path.name}: unknown top-level key(s) {sorted(unknown)}")
    teams = [_parse_team(item, raw, f"{path.name}: teams[{i}]") for i, item in enumerate(raw["teams"])]
    stopwords = _string_tuple(raw.get("mention_stopwords"), f"{path.name}: mention_stopwords")
    return teams, stopwords, raw.get("sport")


def _exact_entries(team: Team) -> Iterable[tuple[str, str]]:
    """(source, name) pairs a team answers to exactly; the canonical name counts as "any"."""
    yield "any", team.name
    for source, names in team.aliases.items():
        for alias in names:
            yield source, alias


def _check_alias_conflicts(teams: Iterable[Team], origin: Mapping[str, str]) -> None:
    """An alias may name one team per sport and source ("any" overlaps every source)."""
    seen: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (sport, alias) -> source -> id
    for team in teams:
        for source, alias in _exact_entries(team):
            claims = seen[team.sport, alias]
            for other_source, other_id in claims.items():
                overlapping = other_source == source or "any" in (source, other_source)
                if overlapping and other_id != team.team_id:
                    raise ValueError(
                        f"alias {alias!r} ({source}, sport {team.sport}) maps to both "
                        f"{other_id!r} ({origin[other_id]}, {other_source}) and "
                        f"{team.team_id!r} ({origin[team.team_id]})"
                    )
            claims.setdefault(source, team.team_id)


def _add_team(index: _Indexes, team: Team, file_name: str) -> None:
    if team.team_id in index.teams:
        raise ValueError(
            f"duplicate team id {team.team_id!r} in {index.origin[team.team_id]} and {file_name}"
        )
    index.teams[team.team_id] = team
    index.origin[team.team_id] = file_name
    for source, alias in _exact_entries(team):
        _append_unique(index.exact[source, alias], team.team_id)
    for text in (*team.all_names(), team.team_id.replace("-", " ")):
        key = normalise_name(text)
        if key:
            _append_unique(index.normalised[key], team.team_id)
    for espn_id in team.espn_ids:  # ESPN numbers soccer teams per sport, the others per league
        for other in index.espn[espn_id]:
            rival = index.teams[other]
            if rival.sport == team.sport and _same_espn_scope(rival, team):
                raise ValueError(
                    f"ESPN id {espn_id!r} ({team.sport}) is listed for both {other!r} "
                    f"({index.origin[other]}) and {team.team_id!r} ({file_name})"
                )
        index.espn[espn_id].append(team.team_id)


def _same_espn_scope(a: Team, b: Team) -> bool:
    """Whether ESPN ids of two teams of one sport are in one numbering (soccer: one for all leagues)."""
    if a.sport == "soccer" or not a.competitions or not b.competitions:
        return True
    return bool(set(a.competitions) & set(b.competitions))


def _append_unique(bucket: list[str], team_id: str) -> None:
    if team_id not in bucket:
        bucket.append(team_id)


# --------------------------------------------------------------------------------------------
# The registry


class TeamRegistry:
    """Immutable set of teams with precomputed lookup indexes (build it once, share it)."""

    def __init__(self, index: _Indexes) -> None:
        self._index = index

    @classmethod
    def load(cls, data_dir: Path | None = None) -> TeamRegistry:
        """Read every ``*.yaml`` in ``data_dir``; raise ValueError on any inconsistency."""
        directory = Path(data_dir) if data_dir is not None else DATA_DIR
        paths = sorted(directory.glob("*.yaml"))
        if not paths:
            raise ValueError(f"no *.yaml team files in {directory}")
        index = _Indexes()
        for path in paths:
            teams, stopwords, sport = _read_file(path)
            for team in teams:
                _add_team(index, team, path.name)
            index.stopwords.update(_text_key(word) for word in stopwords)
            for file_sport in {team.sport for team in teams} | ({sport} if sport else set()):
                index.files_by_sport[file_sport].append(path.name)
        _check_alias_conflicts(index.teams.values(), index.origin)
        return cls(index)

    # -- lookups -------------------------------------------------------------------------

    def by_id(self, team_id: str) -> Team:
        try:
            return self._index.teams[team_id]
        except KeyError:
            raise UnknownTeamError(f"unknown team id {team_id!r}", name=team_id) from None

    def has_id(self, team_id: str) -> bool:
        return team_id in self._index.teams

    def origin(self, team_id: str) -> str:
        """The YAML file (name) a team is defined in."""
        self.by_id(team_id)
        return self._index.origin[team_id]

    def teams(self, *, sport: str | None = None, competition: str | None = None) -> list[Team]:
        """Teams sorted by id, optionally of one sport and/or competition."""
        return [
            team
            for team_id, team in sorted(self._index.teams.items())
            if (sport is None or team.sport == sport)
            and (competition is None or competition in team.competitions)
        ]

    def resolve(self, name: str, *, source: str, sport: str | None = None) -> Team:
        """Exact alias of ``source``, then exact "any"/canonical name, then the normalised name."""
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; use one of {SOURCES}")
        wanted = name.strip()
        lookups = [("any", wanted)] if source == "any" else [(source, wanted), ("any", wanted)]
        for key in lookups:
            found = self._pick(self._index.exact.get(key, ()), name, sport)
            if found is not None:
                return found
        normalised = normalise_name(wanted)
        found = self._pick(self._index.normalised.get(normalised, ()) if normalised else (), name, sport)
        if found is not None:
            return found
        raise UnknownTeamError(
            self._unknown_message(name, source, sport), name=name, source=source, sport=sport
        )

    def try_resolve(
        self, name: str, *, source: str, sport: str | None = None
    ) -> tuple[Team | None, str | None]:
        """Like :meth:`resolve` but returns ``(None, reason)`` instead of raising a lookup error."""
        try:
            return self.resolve(name, source=source, sport=sport), None
        except LookupError as error:
            return None, str(error)

    def resolve_espn(
        self,
        espn_id: str,
        *,
        sport: str | None = None,
        name: str | None = None,
        competition: str | None = None,
    ) -> Team:
        """By ESPN id; an unknown id falls back to ``name`` as an ESPN alias.

        The fallback refuses a team that ESPN already knows under other ids: ESPN gives women's
        and youth sides the same display name ("Manchester City"), so a new id with a known name
        is a different team, not the one the name suggests.
        """
        key = str(espn_id).strip()
        candidates = list(self._index.espn.get(key, ()))
        if competition is not None and sport != "soccer":  # ESPN ids are per league outside soccer
            candidates = [
                t for t in candidates if competition in self._index.teams[t].competitions
                or not self._index.teams[t].competitions
            ]  # fmt: skip
        if len(candidates) > 1 and sport is None and name:  # ESPN ids repeat across sports
            named, _ = self.try_resolve(name, source="espn")
            if named is not None and named.team_id in candidates:
                return named
        found = self._pick(candidates, f"ESPN id {key}", sport)
        if found is not None:
            return found
        if not name:
            raise UnknownTeamError(
                f"unknown ESPN id {key!r} (sport {sport or 'any'}); "
                f"add it to espn_ids in {self._files_hint(sport)}",
                name=key,
                source="espn",
                sport=sport,
            )
        team = self.resolve(name, source="espn", sport=sport)
        if team.espn_ids and key not in team.espn_ids:
            raise UnknownTeamError(
                f"unknown ESPN id {key!r} named {name!r}: the name matches {team.team_id!r}, which ESPN "
                f"lists as {', '.join(team.espn_ids)}, so this is another team (a women's or youth side?); "
                f"add it to {self._files_hint(sport)}",
                name=name,
                source="espn",
                sport=sport,
            )
        return team

    def mentioned_in(self, text: str, *, sport: str | None = None) -> list[Team]:
        """Teams named as a whole word or phrase in free text, ordered by first mention.

        Phrases are canonical names, aliases of 4+ characters and every "news" alias, minus the
        files' ``mention_stopwords`` and the teams marked ``mentions: false``; at each position the
        longest phrase wins ("Arsenal Women" is not also "Arsenal"), and a phrase naming several
        teams is skipped, not guessed.
        """
        pattern, owners = self._mention_index
        found: dict[str, Team] = {}
        for match in pattern.finditer(_text_key(text)):
            teams = [self._index.teams[t] for t in owners[match.group(0)]]
            teams = [t for t in teams if sport is None or t.sport == sport]
            if len(teams) == 1:
                found.setdefault(teams[0].team_id, teams[0])
        return list(found.values())

    # -- internals -----------------------------------------------------------------------

    def _pick(self, team_ids: Iterable[str], name: str, sport: str | None) -> Team | None:
        teams = [self._index.teams[t] for t in sorted(team_ids)]
        matches = [team for team in teams if sport is None or team.sport == sport]
        if len(matches) > 1:
            ids = tuple(team.team_id for team in matches)
            raise AmbiguousTeamError(
                f"ambiguous team {name!r} (sport {sport or 'any'}): candidates {', '.join(ids)}; "
                "pass sport= or use a more specific name",
                name=name,
                candidates=ids,
            )
        return matches[0] if matches else None

    def _files_hint(self, sport: str | None) -> str:
        files = self._index.files_by_sport.get(sport, []) if sport else []
        hint = f"{_DATA_HINT}/<file>.yaml"
        return f"{hint} ({', '.join(files)})" if files else hint

    def _unknown_message(self, name: str, source: str, sport: str | None) -> str:
        return (
            f"unknown team {name!r} from {source} (sport {sport or 'any'}); "
            f"add an alias in {self._files_hint(sport)}"
        )

    @cached_property
    def _mention_index(self) -> tuple[re.Pattern[str], dict[str, list[str]]]:
        """One alternation over every mention phrase, longest first; built on first use."""
        owners: dict[str, list[str]] = defaultdict(list)
        for team in self._index.teams.values():
            if not team.mentions:
                continue
            for phrase in self._mention_phrases(team):
                key = _text_key(phrase)
                if key and key not in self._index.stopwords:
                    _append_unique(owners[key], team.team_id)
        alternation = "|".join(re.escape(key) for key in sorted(owners, key=lambda k: (-len(k), k)))
        return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)"), dict(owners)

    @staticmethod
    def _mention_phrases(team: Team) -> Iterable[str]:
        yield team.name
        for source, names in team.aliases.items():
            yield from (n for n in names if source == "news" or len(n) >= _MIN_MENTION_LEN)

    def __len__(self) -> int:
        return len(self._index.teams)

    def __repr__(self) -> str:
        return f"TeamRegistry({len(self)} teams)"


@cache
def get_registry() -> TeamRegistry:
    """The packaged registry, loaded once per process."""
    return TeamRegistry.load()


# --------------------------------------------------------------------------------------------
# Game identity


REPEATING_SPORTS = frozenset({"baseball"})
"""Sport families whose two teams can meet twice on one date (baseball's doubleheaders)."""


def game_id(
    kickoff: datetime | date | str, home_team_id: str, away_team_id: str, *, sport: str | None = None
) -> str:
    """``YYYY-MM-DD:home:away`` from the kick-off's UTC date, so every source yields the same id.

    A sport in ``REPEATING_SPORTS`` (``sport`` is a sport key such as ``baseball_mlb``, or its
    family) adds the scheduled start's UTC time, ``YYYY-MM-DDTHHMM:home:away``: a doubleheader's
    two games differ only by it, and it is what every source publishes (the official schedule),
    so they still match. Numbering the games of a day instead would depend on which games a
    source still lists: The Odds API drops a game once played, and its game 2 would become game 1.

    Strings are ISO 8601 (``Z``/offsets accepted, naive means UTC) or a plain ``YYYY-MM-DD``;
    a ``date`` is taken as already being the calendar date.
    """
    for team_id in (home_team_id, away_team_id):
        if not isinstance(team_id, str) or not _SLUG.match(team_id):
            raise ValueError(f"game_id needs registry team ids (slugs), got {team_id!r}")
    if home_team_id == away_team_id:
        raise ValueError(f"a team cannot play itself: {home_team_id!r}")
    if sport is not None and sport.split("_", 1)[0] in REPEATING_SPORTS:
        start = _utc_start(kickoff)
        if start is None:
            raise ValueError(f"a {sport} game id needs the scheduled start's time, got {kickoff!r}")
        return f"{start:%Y-%m-%dT%H%M}:{home_team_id}:{away_team_id}"
    return f"{_utc_date(kickoff).isoformat()}:{home_team_id}:{away_team_id}"


def _utc_start(kickoff: datetime | date | str) -> datetime | None:
    """The kick-off as a UTC datetime, or None when only a date is given."""
    if isinstance(kickoff, str) and "T" not in kickoff.strip() and " " not in kickoff.strip():
        return None
    if isinstance(kickoff, str):
        try:
            kickoff = datetime.fromisoformat(kickoff.strip())
        except ValueError:
            raise ValueError(f"kick-off {kickoff!r} is not ISO 8601") from None
    if not isinstance(kickoff, datetime):
        return None
    return kickoff.astimezone(UTC) if kickoff.tzinfo is not None else kickoff.replace(tzinfo=UTC)


def _utc_date(kickoff: datetime | date | str) -> date:
    if isinstance(kickoff, str):
        try:
            kickoff = datetime.fromisoformat(kickoff.strip())
        except ValueError:
            raise ValueError(f"kick-off {kickoff!r} is not ISO 8601") from None
    if isinstance(kickoff, datetime):
        if kickoff.tzinfo is not None:
            kickoff = kickoff.astimezone(UTC)
        return kickoff.date()
    if isinstance(kickoff, date):
        return kickoff
    raise TypeError(f"kick-off must be a datetime, date or ISO string, got {type(kickoff).__name__}")


def football_data_date(date_str: str, time_str: str | None = None, *, season: str | None = None) -> date:
    """The match date of a football-data row (``dd/mm/yy`` or ``dd/mm/yyyy``).

    The UK-local date is returned as is: no EPL or La Liga kick-off crosses UTC midnight, so it
    equals the UTC date :func:`game_id` uses.  ``time_str`` (``HH:MM``, from 2019/20) is only
    validated, so callers can pass the row's columns unchanged.

    ``season`` (the file's code, e.g. ``"0405"``) is needed only for rows written as
    ``yyyy/m/d``: E0_0405.csv holds ``14/08/04`` as ``2014/8/4`` (and ``30/08/04`` as
    ``1930/8/4``).  Read alone that is ambiguous, so the season picks the reading that falls in
    it, and without one the row is refused rather than guessed.
    """
    text = date_str.strip()
    parts = text.split("/")
    if len(parts) == 3 and len(parts[0]) == 4 and all(p.isdigit() for p in parts):
        day = _scrambled_date(parts, date_str, season)
    elif len(parts) == 3 and len(parts[2]) in (2, 4):
        day = datetime.strptime(text, "%d/%m/%y" if len(parts[2]) == 2 else "%d/%m/%Y").date()
    else:
        raise ValueError(f"football-data date {date_str!r} is not dd/mm/yy or dd/mm/yyyy")
    if time_str is not None and time_str.strip():
        datetime.strptime(time_str.strip(), "%H:%M")
    return day


_SEASON = re.compile(r"^(\d{2}|\d{4})[/-]?(\d{2})$")  # "0405", "2004/05"


def _scrambled_date(parts: list[str], date_str: str, season: str | None) -> date:
    """The one reading of a ``yyyy/m/d`` football-data date that lies inside ``season``."""
    if season is None:
        raise ValueError(f"football-data date {date_str!r} is yyyy/m/d: pass season= to read it")
    start_year = _season_start(season)
    first, month, last = (int(p) for p in parts)
    readings = {_valid_date(first, month, last), _valid_date(_full_year(last), month, first % 100)}
    inside = [d for d in readings if d and date(start_year, 7, 1) <= d <= date(start_year + 1, 8, 31)]
    if len(inside) != 1:
        raise ValueError(f"football-data date {date_str!r} has no single reading in season {season!r}")
    return inside[0]


def _season_start(season: str) -> int:
    match = _SEASON.match(season.strip())
    if not match or int(match.group(2)) != (int(match.group(1)) + 1) % 100:
        raise ValueError(f"season {season!r} must look like '0405' or '2004/05'")
    start = int(match.group(1))
    return start if start >= 100 else _full_year(start)


def _full_year(yy: int) -> int:
    return (1900 if yy >= 90 else 2000) + yy  # football-data starts in the 1990s


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
