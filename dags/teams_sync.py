"""teams_sync: weekly, the sources' own team catalogues synced into the team registry.

What ``lakehouse teams sync football-data|espn`` does, on a schedule, for football-data's season
files and for ESPN's teams endpoint of each league in ``espn_leagues``
(``{espn_base_url}/{sport}/{league}/teams``, ESPN ids kept): every name no team answers to is
written as a new team; a name close to a team
already there (rapidfuzz >= 90) is held for a person to decide, and the run then fails naming
each one with its candidates (accept with ``lakehouse teams alias``, or declare it new with
``lakehouse teams sync football-data --new NAME``), so held names are not forgotten. The teams
that are clearly new are written before it fails. A second run writes nothing.

Params: ``source`` (the season files folder; default: the backfill's), ``leagues`` (default:
every league found), ``espn_leagues`` (e.g. ``basketball/nba``; default: none),
``espn_base_url`` (default: ESPN's site API), ``data_dir`` (the registry's YAML folder; default:
the packaged one). The Odds API's names come with its odds (``lakehouse teams sync
the-odds-api`` on captured bodies): its participants endpoint needs a key and costs quota.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException


@dag(
    dag_id="teams_sync",
    schedule="@weekly",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["teams", "registry"],
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=30),
    },
    params={
        "source": Param(None, type=["null", "string"], description="season files folder; empty: settings"),
        "leagues": Param([], type="array", items={"type": "string"}, description="e.g. B1, ARG; empty: all"),
        "espn_leagues": Param([], type="array", items={"type": "string"}, description="e.g. basketball/nba"),
        "espn_base_url": Param(None, type=["null", "string"], description="empty: ESPN's site API"),
        "data_dir": Param(None, type=["null", "string"], description="registry YAML folder; empty: packaged"),
    },
    doc_md=__doc__,
)
def teams_sync() -> None:
    @task
    def sync_catalogues(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """football-data's season files, then each ESPN league's teams response, one writer at a
        time; fails at the end naming every name held for review (the clearly new are written)."""
        from pathlib import Path

        import httpx

        from batch.connections import task_settings
        from lakehouse.espn import BASE_URL, espn_path
        from lakehouse.football_data import LEAGUES
        from lakehouse.teams.sync import espn_catalogues, football_data_names

        params = params or {}
        folder = Path(params["source"]) if params.get("source") else task_settings().football_data_dir
        leagues = [code.upper() for code in params.get("leagues") or LEAGUES]
        base = (params.get("espn_base_url") or BASE_URL).rstrip("/")
        try:
            football_data = football_data_names(folder, leagues)
            bodies = []
            with httpx.Client(timeout=30.0, follow_redirects=True) as client:
                for league in params.get("espn_leagues") or []:
                    response = client.get(f"{base}/{espn_path(league)}/teams")
                    response.raise_for_status()  # a 5xx is retried by the task's retries
                    bodies.append((league, response.json()))
            espn, espn_ids = espn_catalogues(bodies)
        except (FileNotFoundError, ValueError) as exc:  # a wrong folder or league: no retry helps
            raise AirflowFailException(str(exc)) from exc
        outcome = {"football_data": _sync(football_data, params), "espn": _sync(espn, params, espn_ids)}
        waiting = {source: o.pop("waiting") for source, o in outcome.items() if o.get("waiting")}
        if waiting:
            raise AirflowFailException(
                f"names wait for a person: {waiting}; accept one with `lakehouse teams alias TEAM_ID "
                "NAME --source SOURCE`, or declare it new with `lakehouse teams sync SOURCE --new NAME`"
            )
        return outcome

    sync_catalogues()


def _sync(catalogues: Any, params: dict[str, Any], espn_ids: dict[str, str] | None = None) -> dict[str, Any]:
    """Plan and write one source's catalogues; what waits for review comes back under "waiting"."""
    from pathlib import Path

    from lakehouse.teams import TeamRegistry
    from lakehouse.teams.registry import DATA_DIR
    from lakehouse.teams.sync import plan_all, write_new_teams

    data_dir = Path(params["data_dir"]) if params.get("data_dir") else DATA_DIR
    plans = plan_all(TeamRegistry.load(data_dir), catalogues, espn_ids=espn_ids)
    written = write_new_teams(plans, data_dir)
    waiting = {
        **{
            name: [c.team_id for c in candidates]
            for plan in plans
            for name, candidates in plan.review.items()
        },
        **{name: reason for plan in plans for name, reason in plan.refused.items()},
    }
    return {
        "catalogues": [plan.catalogue.label for plan in plans],
        "names": sum(plan.names for plan in plans),
        "new": sorted(team.team_id for plan in plans for team in plan.new),
        "written": [str(path) for path in written],
        "waiting": waiting,
    }


teams_sync()
