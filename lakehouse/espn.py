"""ESPN's league identity, shared by the connector, the team sync and the DAGs.

ESPN's site API names a league by a ``{sport}/{league}`` path (``football/nfl``,
``soccer/eng.1``); the platform names competitions by sport keys in The Odds API style
(``americanfootball_nfl``) and sports as the team registry does (``americanfootball``). This
module maps one to the other, and tells which league a scoreboard body is.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["BASE_URL", "REGISTRY_SPORTS", "SPORT_KEYS", "espn_path", "league_of_body"]

BASE_URL = "https://site.api.espn.com/apis/site/v2/sports"

REGISTRY_SPORTS: dict[str, str] = {
    "soccer": "soccer",
    "football": "americanfootball",
    "basketball": "basketball",
    "hockey": "icehockey",
    "baseball": "baseball",
}
"""ESPN's sport in its API paths (``football/nfl``, ``hockey/nhl``) -> the sport the team
registry and The Odds API keys use (``americanfootball``, ``icehockey``)."""
_ESPN_SPORTS = {registry: espn for espn, registry in REGISTRY_SPORTS.items()}

SPORT_KEYS: dict[str, str] = {
    "soccer/eng.1": "soccer_epl",
    "soccer/eng.2": "soccer_efl_champ",
    "soccer/eng.w.1": "soccer_england_wsl",
    "soccer/esp.1": "soccer_spain_la_liga",
    "soccer/ger.1": "soccer_germany_bundesliga",
    "soccer/ita.1": "soccer_italy_serie_a",
    "soccer/fra.1": "soccer_france_ligue_one",
    "soccer/mex.1": "soccer_mexico_ligamx",
    "soccer/usa.1": "soccer_usa_mls",
    "soccer/usa.nwsl": "soccer_usa_nwsl",
    "soccer/fifa.world": "soccer_fifa_world_cup",
    "football/nfl": "americanfootball_nfl",
    "football/college-football": "americanfootball_ncaaf",
    "basketball/nba": "basketball_nba",
    "basketball/wnba": "basketball_wnba",
    "basketball/mens-college-basketball": "basketball_ncaab",
    "hockey/nhl": "icehockey_nhl",
    "baseball/mlb": "baseball_mlb",
}
"""ESPN `{sport}/{league}` API path -> sport key in The Odds API style, the same keys the team
registry uses for competitions (WSL and NWSL have no Odds API market; theirs follow the pattern)."""


def espn_path(path: str) -> str:
    """A league as ESPN's site API spells it: ``americanfootball/nfl`` -> ``football/nfl``.

    The registry's sport names are accepted too, since they are what users see everywhere else.
    """
    sport, _, league = path.strip().strip("/").partition("/")
    return f"{_ESPN_SPORTS.get(sport, sport)}/{league}" if league else path.strip()


_UID_SPORT = re.compile(r"^s:(\d+)")
_SPORT_IDS = {"600": "soccer", "20": "football", "40": "basketball", "70": "hockey", "1": "baseball"}
"""ESPN's numeric sport id (the `s:` part of a league or event uid) -> its API path sport."""


def league_of_body(body: Any) -> str | None:
    """The `{sport}/{league}` a scoreboard body says it is (its `leagues` block), or None.

    A multi-league soccer scoreboard names no single league and reads as ``soccer/all``.
    """
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return None
    leagues = body.get("leagues")
    if isinstance(leagues, list) and len(leagues) == 1 and isinstance(leagues[0], dict):
        sport = _SPORT_IDS.get(next(iter(_UID_SPORT.findall(str(leagues[0].get("uid", "")))), ""))
        slug = leagues[0].get("slug")
        if sport and slug:
            return f"{sport}/{slug}"
    uids = {str(e.get("uid", "")).split("~")[0] for e in body["events"] if isinstance(e, dict)}
    return "soccer/all" if uids == {"s:600"} else None
