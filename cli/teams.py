"""`lakehouse teams`: sync a source's team catalogue into the registry, and accept reviewed aliases."""

from __future__ import annotations

from pathlib import Path

import click

from lakehouse.config import get_settings


@click.group("teams")
def teams_group() -> None:
    """Team identity: the registry in lakehouse/teams/data, synced from the sources' own names."""


@teams_group.command("sync")
@click.argument("source", type=click.Choice(["football-data"]))
@click.option("--source-dir", "folder", default=None, help="Season files folder; default: the backfill's.")
@click.option(
    "--league", "leagues", multiple=True, help="Division codes (repeatable); default: every one found."
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
    leagues: tuple[str, ...],
    declared: tuple[str, ...],
    min_score: float,
    dry_run: bool,
    data_dir: Path | None,
) -> None:
    """Create registry teams for the names a source uses that no team answers to.

    A name close to a team of the same country is held for review instead, with its candidates:
    accept one with `lakehouse teams alias TEAM_ID NAME --source football_data`, or rerun with
    `--new NAME` if it is another team. Exit status 1 while names wait for review.
    """
    from lakehouse.football_data import LEAGUES
    from lakehouse.football_data.files import find_season_files
    from lakehouse.football_data.reader import SeasonRows
    from lakehouse.teams import TeamRegistry
    from lakehouse.teams.registry import DATA_DIR
    from lakehouse.teams.sync import plan_league, write_new_teams

    root = Path(folder).expanduser() if folder else get_settings().football_data_dir
    wanted = [code.upper() for code in leagues] or list(LEAGUES)
    unknown = [code for code in wanted if code not in LEAGUES]
    if unknown:
        raise click.ClickException(f"unknown league(s) {unknown}; known: {', '.join(LEAGUES)}")
    try:
        files = find_season_files(root, wanted)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not files:
        raise click.ClickException(f"no season file of {', '.join(wanted)} under {root}")
    names: dict[str, set[str]] = {}
    for sf in files:
        assert sf.path is not None
        names.setdefault(sf.league, set()).update(SeasonRows.parse(sf.path.read_bytes(), sf).team_names())

    data_dir = data_dir or DATA_DIR
    registry = TeamRegistry.load(data_dir)
    taken: set[str] = set()
    plans = [
        plan_league(registry, LEAGUES[code], found, new=declared, min_score=min_score, taken=taken)
        for code, found in sorted(names.items())
    ]
    for plan in plans:
        click.echo(
            f"{plan.league.code:4} {plan.names} names: {len(plan.known)} known, {len(plan.new)} new"
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
        try:
            written = write_new_teams(plans, data_dir)
        except ValueError as exc:
            raise click.ClickException(f"nothing written: {exc}") from None
        for path in written:
            click.echo(f"wrote {path}")
    if any(plan.review or plan.refused for plan in plans):
        raise SystemExit(1)


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
