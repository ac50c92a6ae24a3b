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
from serving.api.history import DuckDBHistory
from serving.api.keys import KeyRing, new_key
from serving.api.live import LiveStore
from serving.query import DruidQuery

pytestmark = pytest.mark.integration


class NoSink:
    """Ingestion is not exercised here (see tests/serving/test_api.py)."""

    def publish(self, feed: str, records: list[dict[str, Any]]) -> None:
        raise AssertionError("not used")

    def dead_letter(self, feed: str, reason: str, raw: Any, source: str) -> None:
        raise AssertionError("not used")

    def confirm(self, timeout_s: float) -> int:
        return 0


@pytest.fixture(scope="module")
def client(duckdb_marts) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    key, entry = new_key("analyst", ("read",))
    settings = ApiSettings(keys=entry, page_size=10)
    parts = Parts(
        settings,
        KeyRing.from_settings(settings),
        LiveStore(DruidQuery("http://127.0.0.1:9")),
        DuckDBHistory(duckdb_marts.warehouse),
        NoSink(),
    )
    with TestClient(create_app(parts)) as c:
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


def test_bookmaker_margins_pages_equal_the_mart(client: TestClient, duckdb_marts) -> None:  # type: ignore[no-untyped-def]
    direct = duckdb_marts.query(
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


def test_elo_of_a_team_in_match_order(client: TestClient, duckdb_marts) -> None:  # type: ignore[no-untyped-def]
    ((team,),) = duckdb_marts.query("select team_id from marts.mart_team_elo order by team_match_id limit 1")
    rows = _walk(client, f"/v1/history/elo?team_id={team}&limit=200")
    direct = duckdb_marts.query(
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


def test_games_from_the_warehouse(client: TestClient, duckdb_marts) -> None:  # type: ignore[no-untyped-def]
    ((n,),) = duckdb_marts.query("select count(*) from marts.fct_game")
    assert client.get("/v1/games").json()["total"] == n
    assert Settings().api.max_page_size >= 1000
