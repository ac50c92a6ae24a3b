"""dbt_build: runs `dbt build` on the configured warehouse; fails at once, and clearly, without a project."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "dbt_project"


@pytest.fixture
def project_root(tmp_path: Path, lakehouse_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root whose dbt/ is the two-node fixture project, over a warehouse with raw.teams."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    monkeypatch.setenv("LAKEHOUSE_PROJECT_ROOT", str(root))
    lakehouse_env.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(lakehouse_env / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.teams AS SELECT * FROM (VALUES ('arsenal', 'soccer'), "
                    "('nfl-kansas-city-chiefs', 'americanfootball')) t(team_id, sport)")  # fmt: skip
    return root


@pytest.mark.integration
def test_dbt_build_builds_models_and_runs_their_tests(
    dag_bag: Any, results: Any, project_root: Path, lakehouse_env: Path
) -> None:
    run = dag_bag.get_dag("dbt_build").test()
    assert run.state == "success", results.states(run)
    outcome = results.xcom(run, "dbt_build_models_and_tests")
    assert outcome["target"] == "duckdb" and outcome["success"] is True
    assert outcome["statuses"] == {"success": 1, "pass": 2}  # one model, two tests
    with duckdb.connect(str(lakehouse_env / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT sum(teams) FROM analytics.teams_per_sport").fetchone()[0] == 2
    assert not (project_root / "dbt" / "target").exists()  # artifacts go under the state folder
    assert (lakehouse_env / "dbt" / "target" / "run_results.json").exists()


@pytest.mark.integration
def test_a_failing_dbt_test_fails_the_task_naming_it(
    dag_bag: Any, results: Any, project_root: Path, lakehouse_env: Path
) -> None:
    tests = project_root / "dbt" / "data-tests"
    tests.mkdir()
    (tests / "no_team_plays_american_football.sql").write_text(
        "select * from {{ ref('teams_per_sport') }} where sport = 'americanfootball'\n"
    )
    run = dag_bag.get_dag("dbt_build").test()
    assert run.state == "failed"
    assert results.states(run)["dbt_build_models_and_tests"] == ["failed"]  # no retry: it would fail again


@pytest.mark.integration
def test_a_missing_dbt_project_fails_clearly(
    dag_bag: Any, results: Any, tmp_path: Path, lakehouse_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batch.dbt_build import DbtProjectMissing, dbt_build
    from lakehouse.config import Settings

    monkeypatch.setenv("LAKEHOUSE_PROJECT_ROOT", str(tmp_path / "empty"))
    with pytest.raises(DbtProjectMissing, match=r"no dbt project at .*/empty/dbt/dbt_project\.yml"):
        dbt_build(Settings())
    run = dag_bag.get_dag("dbt_build").test()
    assert run.state == "failed"
    assert results.states(run)["dbt_build_models_and_tests"] == ["failed"]
