"""The API's history endpoints on the warehouse dbt built from the real seasons (DuckDB).

Each page is compared with the same mart read directly with SQL, and walking every page must give
each row once, in the documented order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lakehouse.config import ApiSettings, Settings
from serving.api.app import Parts, create_app
from serving.api.history import DuckDBHistory, SnowflakeHistory
from serving.api.keys import KeyRing, new_key
from serving.api.live import LiveStore
from serving.query import DruidQuery
from tests.dbt.conftest import EMULATOR_DATABASE

pytestmark = pytest.mark.integration


class NoSink:
    """Ingestion is not exercised here (see tests/serving/test_api.py)."""

    def publish(self, feed: str, records: list[dict[str, Any]]) -> None:
        raise AssertionError("not used")

    def dead_letter(self, feed: str, reason: str, raw: Any, source: str) -> None:
        raise AssertionError("not used")

    def confirm(self, timeout_s: float) -> int:
        return 0


def _app(store: Any) -> Any:
    key, entry = new_key("analyst", ("read",))
    settings = ApiSettings(keys=entry, page_size=10)
    parts = Parts(
        settings,
        KeyRing.from_settings(settings),
        LiveStore(DruidQuery("http://127.0.0.1:9")),
        store,
        NoSink(),
    )
    return create_app(parts), key


@pytest.fixture(scope="module", params=["duckdb", "fakesnow"])
def marts(request: pytest.FixtureRequest) -> Any:
    """The same marts on the embedded DuckDB and on the Snowflake emulator."""
    return request.getfixturevalue("duckdb_marts" if request.param == "duckdb" else "emulator_marts")


@pytest.fixture(scope="module")
def client(marts: Any, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    if marts.target == "duckdb":
        store: Any = DuckDBHistory(marts.warehouse)
    else:
        server = request.getfixturevalue("fakesnow_server")
        store = SnowflakeHistory({**server, "database": EMULATOR_DATABASE})
    app, key = _app(store)
    with TestClient(app) as c:
        c.headers["X-API-Key"] = key
        yield c


def _walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get(f"{url}{'&' if '?' in url else '?'}offset={offset}").json()
        rows += page["items"]
        offset = page["next_offset"]
    return rows


def test_bookmaker_margins_pages_equal_the_mart(client: TestClient, marts) -> None:  # type: ignore[no-untyped-def]
    direct = marts.query(
        "select bookmaker, market, phase, price_source, markets_priced, mean_margin "
        "from marts.mart_bookmaker_margin where league = 'E0' and season = '2023-24' "
        "order by league, season, bookmaker, market, phase, price_source"
    )
    assert len(direct) > 10  # more than one page
    rows = _walk(client, "/v1/history/bookmaker-margins?league=E0&season=2023-24")
    got = [
        (r["bookmaker"], r["market"], r["phase"], r["price_source"], r["markets_priced"], r["mean_margin"])
        for r in rows
    ]
    assert got == [tuple(r) for r in direct]
    first = client.get("/v1/history/bookmaker-margins?league=E0&season=2023-24&limit=5").json()
    assert first["total"] == len(direct) and first["next_offset"] == 5 and len(first["items"]) == 5


def test_elo_of_a_team_in_match_order(client: TestClient, marts) -> None:  # type: ignore[no-untyped-def]
    ((team,),) = marts.query("select team_id from marts.mart_team_elo order by team_match_id limit 1")
    rows = _walk(client, f"/v1/history/elo?team_id={team}&limit=200")
    direct = marts.query(
        f"select match_id, elo_pre, elo_post from marts.mart_team_elo where team_id = '{team}' "
        "order by match_date, match_id"
    )
    assert [(r["match_id"], r["elo_pre"], r["elo_post"]) for r in rows] == [tuple(r) for r in direct]
    assert len(rows) > 30


def test_unknown_filters_and_marts_are_clear_errors(client: TestClient) -> None:
    bad = client.get("/v1/history/elo?colour=red")
    assert bad.status_code == 422 and "cannot filter" in bad.json()["detail"]
    assert client.get("/v1/history/everything").status_code == 404
    assert client.get("/v1/history/calibration?limit=0").status_code == 422
    calibration = client.get("/v1/history/calibration?limit=1000").json()
    assert calibration["total"] == len(calibration["items"]) > 0


def test_games_from_the_warehouse(client: TestClient, marts) -> None:  # type: ignore[no-untyped-def]
    ((n,),) = marts.query("select count(*) from marts.fct_game")
    assert client.get("/v1/games").json()["total"] == n
    assert Settings().api.max_page_size >= 1000


def test_the_board_draws_the_history_charts(duckdb_marts) -> None:  # type: ignore[no-untyped-def]
    """In Chromium: the board's history charts from these marts (no Druid here: its panels say so)."""
    from lakehouse.config import PROJECT_ROOT
    from tests.support.browser import chromium, open_board, wait_for
    from tests.support.http import served

    app, key = _app(DuckDBHistory(duckdb_marts.warehouse))
    with TestClient(app) as local:  # Druid unreachable here: one line, no trace
        assert local.get("/v1/live/games", headers={"X-API-Key": key}).status_code == 503
    with served(app) as base, chromium() as browser:
        open_board(browser, base, key)
        browser.execute_script("document.getElementById('load-history').click()")
        wait_for(browser, "document.body.dataset.history === 'loaded'", 60)
        series = browser.execute_script(
            "return ['margins', 'elo', 'calibration'].map("
            "(c) => document.querySelectorAll(`#chart-${c} path[data-series]`).length)"
        )
        assert all(n > 0 for n in series), series
        shots = PROJECT_ROOT / ".local" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(shots / "board-history.png"))
