"""`lakehouse teams`: sync a source's team catalogue into the registry, and accept reviewed aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lakehouse.config import get_settings


@click.group("teams")
def teams_group() -> None:
    """Team identity: the registry in lakehouse/teams/data, synced from the sources' own names."""


@teams_group.command("sync")
@click.argument("source", type=click.Choice(["football-data", "the-odds-api", "espn"]))
@click.option(
    "--source-dir",
    "folder",
    default=None,
    help="football-data: season files folder; default: the backfill's.",
)
@click.option(
    "--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the-odds-api: a captured /v4/sports/{sport}/odds (or /events) body; espn: a league's "
    "scoreboard or teams response (repeatable).",
)  # fmt: skip
@click.option(
    "--league",
    "leagues",
    multiple=True,
    help="football-data division codes, or the-odds-api sport keys (repeatable); default: every one found.",
)
@click.option("--new", "declared", multiple=True, help="A name to create although a team is close to it.")
@click.option(
    "--min-score", default=90.0, show_default=True, help="Fuzzy score (0-100) that holds a name for review."
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, hidden=True)
def teams_sync(
    source: str,
    folder: str | None,
    files: tuple[Path, ...],
    leagues: tuple[str, ...],
    declared: tuple[str, ...],
    min_score: float,
    dry_run: bool,
    data_dir: Path | None,
) -> None:
    """Create registry teams for the names a source uses that no team answers to.

    A name close to a team of the same competition or country is held for review instead, with
    its candidates: accept one with `lakehouse teams alias TEAM_ID NAME --source SOURCE`
    (football_data, the_odds_api), or rerun with `--new NAME` if it is another team. Exit
    status 1 while names wait for review.
    """
    from lakehouse.teams import TeamRegistry
    from lakehouse.teams.registry import DATA_DIR
    from lakehouse.teams.sync import plan_all

    data_dir = data_dir or DATA_DIR
    registry = TeamRegistry.load(data_dir)
    espn_ids: dict[str, str] = {}
    if source == "football-data":
        catalogues = _football_data_names(folder, leagues)
    elif source == "the-odds-api":
        catalogues = _odds_api_names(files, leagues)
    else:
        catalogues, espn_ids = _espn_names(files, leagues)
    plans = plan_all(registry, catalogues, new=declared, min_score=min_score, espn_ids=espn_ids)
    for plan in plans:
        click.echo(
            f"{plan.catalogue.label:4} {plan.names} names: {len(plan.known)} known, {len(plan.new)} new"
            + (f" -> {plan.new[0].file_name}" if plan.new else "")
            + (f", {len(plan.review)} to review" if plan.review else "")
            + (f", {len(plan.refused)} refused" if plan.refused else "")
        )
        for name, candidates in plan.review.items():
            close = ", ".join(f"{c.team_id} ({c.team_name}) {c.score:.0f}" for c in candidates)
            click.echo(f"  review {name!r}: close to {close}")
        for name, reason in plan.refused.items():
            click.echo(f"  refused {name!r}: {reason}")
    if not dry_run:
        from lakehouse.teams.sync import write_new_teams

        try:
            written = write_new_teams(plans, data_dir)
        except ValueError as exc:
            raise click.ClickException(f"nothing written: {exc}") from None
        for path in written:
            click.echo(f"wrote {path}")
    if any(plan.review or plan.refused for plan in plans):
        raise SystemExit(1)


def _football_data_names(folder: str | None, leagues: tuple[str, ...]) -> list[tuple[Any, set[str]]]:
    """(catalogue, names) per league found under the folder."""
    from lakehouse.football_data import LEAGUES
    from lakehouse.teams.sync import football_data_names

    root = Path(folder).expanduser() if folder else get_settings().football_data_dir
    wanted = [code.upper() for code in leagues] or list(LEAGUES)
    unknown = [code for code in wanted if code not in LEAGUES]
    if unknown:
        raise click.ClickException(f"unknown league(s) {unknown}; known: {', '.join(LEAGUES)}")
    try:
        found = football_data_names(root, wanted)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not found:
        raise click.ClickException(f"no season file of {', '.join(wanted)} under {root}")
    return found


def _odds_api_names(files: tuple[Path, ...], sport_keys: tuple[str, ...]) -> list[tuple[Any, set[str]]]:
    """(catalogue, names) per sport key of the captured events (home and away teams)."""
    import json

    from lakehouse.teams.sync import odds_api_catalogue
    from producers.connectors.odds_api import sport_family

    if not files:
        raise click.ClickException("the-odds-api: pass --file with a captured odds or events body")
    names: dict[str, set[str]] = {}
    for path in files:
        try:
            events = json.loads(path.read_bytes().decode("utf-8-sig"))
        except ValueError as exc:
            raise click.ClickException(f"{path}: not JSON ({exc})") from None
        if isinstance(events, dict) and isinstance(events.get("data"), list):
            events = events["data"]  # the historical endpoints wrap the events
        if not isinstance(events, list):
            raise click.ClickException(f"{path}: expected a list of events, got {type(events).__name__}")
        for event in events:
            named = isinstance(event, dict) and all(
                event.get(k) for k in ("sport_key", "home_team", "away_team")
            )
            if named and (not sport_keys or event["sport_key"] in sport_keys):
                names.setdefault(event["sport_key"], set()).update((event["home_team"], event["away_team"]))
    out = []
    for key, found in sorted(names.items()):
        sport = sport_family(key)
        if sport is None:
            click.echo(f"{key}: a sport the platform does not know; skipped", err=True)
            continue
        out.append((odds_api_catalogue(key, sport), found))
    return out


def _espn_names(
    files: tuple[Path, ...], leagues: tuple[str, ...]
) -> tuple[list[tuple[Any, set[str]]], dict[str, str]]:
    """(catalogue, names) per ESPN league of the bodies, and each name's ESPN id.

    A body is a league's scoreboard (its competitors) or its teams response (ESPN's catalogue,
    ``/apis/site/v2/sports/{sport}/{league}/teams``); its league is what it says, else --league.
    """
    import json

    from lakehouse.teams.sync import espn_catalogues

    if not files:
        raise click.ClickException("espn: pass --file with a league's scoreboard or teams response")
    bodies = []
    for path in files:
        try:
            bodies.append((path.name, json.loads(path.read_bytes().decode("utf-8-sig"))))
        except ValueError as exc:
            raise click.ClickException(f"{path}: not JSON ({exc})") from None
    try:
        return espn_catalogues(bodies, leagues[0] if leagues else None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@teams_group.command("alias")
@click.argument("team_id")
@click.argument("name")
@click.option("--source", required=True, help="football_data, the_odds_api, espn, news or any.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, hidden=True)
def teams_alias(team_id: str, name: str, source: str, data_dir: Path | None) -> None:
    """Record NAME as SOURCE's name for TEAM_ID (an accepted review) in the registry's YAML."""
    from lakehouse.teams.registry import DATA_DIR
    from lakehouse.teams.sync import add_alias

    try:
        path = add_alias(team_id, name, source, data_dir or DATA_DIR)
    except (ValueError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{source} alias {name!r} -> {team_id} ({path.name})")
