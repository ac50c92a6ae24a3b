"""The sources' own team catalogues, read from their bodies for ``lakehouse.teams.sync``.

ESPN publishes each league's teams (``/apis/site/v2/sports/{sport}/{league}/teams``) and names
them in its scoreboards; both give (ESPN id, display name) pairs. Used by ``lakehouse teams sync
espn`` and the ``teams_sync`` DAG, which fetches the teams endpoint on a schedule.
"""

from __future__ import annotations

from typing import Any

from lakehouse.teams.sync import Catalogue, source_catalogue
from producers.connectors.espn import REGISTRY_SPORTS, SPORT_KEYS, espn_path, league_of_body

__all__ = ["espn_catalogues", "espn_teams"]


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
