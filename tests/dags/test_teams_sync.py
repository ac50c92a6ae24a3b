"""teams_sync on a schedule's terms (dag.test): new names written once, held names fail the run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from lakehouse.teams import TeamRegistry
from lakehouse.teams.registry import DATA_DIR

pytestmark = pytest.mark.integration
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _conf(**given: Any) -> dict[str, Any]:
    return {
        "source": None,
        "leagues": [],
        "espn_leagues": [],
        "espn_base_url": None,
        "data_dir": None,
    } | given


def test_new_league_names_are_written_once_and_a_near_miss_fails_the_run(
    dag_bag: Any, results: Any, lakehouse_env: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "teams"
    shutil.copytree(DATA_DIR, data_dir)
    (data_dir / "soccer_austria.yaml").unlink()  # Austria's clubs are new again
    source = tmp_path / "fd"
    source.mkdir()
    shutil.copyfile(SHARED / "football-data-extra" / "AUT.csv", source / "AUT.csv")
    dag = dag_bag.get_dag("teams_sync")

    first = dag.test(run_conf=_conf(source=str(source), leagues=["AUT"], data_dir=str(data_dir)))
    assert first.state == "success", results.states(first)
    summary = results.xcom(first, "sync_catalogues")["football_data"]
    assert summary["names"] == 20 and len(summary["new"]) == 20
    registry = TeamRegistry.load(data_dir)
    assert registry.resolve("Sturm Graz", source="football_data", sport="soccer").team_id == "sturm-graz"

    again = dag.test(run_conf=_conf(source=str(source), leagues=["AUT"], data_dir=str(data_dir)))
    assert again.state == "success" and results.xcom(again, "sync_catalogues")["football_data"]["new"] == []

    # A spelling close to a club now known waits for a person: the run fails and says which.
    near = source / "AUT.csv"
    near.write_text(
        near.read_text(encoding="utf-8-sig").replace("Sturm Graz", "Sturm Grazz"), encoding="utf-8"
    )
    held = dag.test(run_conf=_conf(source=str(source), leagues=["AUT"], data_dir=str(data_dir)))
    assert held.state == "failed" and results.states(held)["sync_catalogues"] == ["failed"]
    assert not TeamRegistry.load(data_dir).try_resolve("Sturm Grazz", source="football_data", sport="soccer")[
        0
    ]


def test_espn_teams_endpoint_on_a_schedule(
    dag_bag: Any, results: Any, lakehouse_env: Path, tmp_path: Path, api: Any
) -> None:
    """The men's college basketball teams response, served at ESPN's documented path."""
    server, base = api
    body = (SHARED / "espn" / "mens_college_basketball_teams.json").read_bytes()
    server.respond(
        "/apis/site/v2/sports/basketball/mens-college-basketball/teams",
        (200, {"Content-Type": "application/json"}, body),
    )
    data_dir = tmp_path / "teams"
    shutil.copytree(DATA_DIR, data_dir)
    (data_dir / "basketball_ncaab.yaml").unlink()
    conf = _conf(
        source=str(SHARED / "football-data"),
        leagues=["E0"],
        data_dir=str(data_dir),
        espn_leagues=["basketball/mens-college-basketball"],
        espn_base_url=f"{base}/apis/site/v2/sports",
    )
    run = dag_bag.get_dag("teams_sync").test(run_conf=conf)
    assert run.state == "success", results.states(run)
    espn = results.xcom(run, "sync_catalogues")["espn"]
    assert espn["catalogues"] == ["basketball_ncaab"] and espn["names"] == len(espn["new"]) == 362
    team = TeamRegistry.load(data_dir).resolve_espn(
        "2000", sport="basketball", competition="basketball_ncaab"
    )
    assert team.name == "Abilene Christian Wildcats"
