"""The live marts on both warehouses: a hand-made game in the lake, `lake_to_warehouse`'s load, then
`dbt build` of the live models; every value below is worked out by hand from the rows.

Game G kicks off at K. Pinnacle quotes home 2.00 (K-26h, the opening), 2.10 (K-2h), 2.05 (K-10m,
the close) and 1.50 (K+30m, in play: the latest), and the draw and away sides at the opening and
the close (complete markets); Bet365 quotes home 2.20 once (K-5h); DraftKings, a book with no
football-data code, quotes home 2.15 once (K-3h). The weather at
the venue is known for K-4h (outside the three hours), K-1h (the nearest) and K+2h. News: Arsenal
(home) at K-23h and K-2h (with Chelsea), Chelsea alone at K-30h (too early) and K+1h (after
kick-off). Two arbitrage windows: one closed after 30 s, one open for 400 s. Two steam moves on
the home price.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from batch.live_load import load_live
from batch.warehouse import DuckDBTarget, SnowflakeTarget, call_with_timeout
from iceberg import ensure_tables
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, Settings
from lakehouse.odds import closing_line_value, devig_multiplicative, devig_shin, overround
from tests.batch.conftest import on_snowflake
from tests.dbt.conftest import (
    DUCKDB_BUILD_TIMEOUT_S,
    EMULATOR_BUILD_TIMEOUT_S,
    EMULATOR_QUERY_TIMEOUT_S,
    run_dbt,
)
from tests.support.rows import append_rows, lake_row, silver_quote

pytestmark = pytest.mark.integration

G = "2025-03-01:arsenal:chelsea"
K = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)
H = timedelta(hours=1)
LIVE_MARTS = [
    "+fct_game", "+mart_line_movement", "+mart_game_context", "+mart_arbitrage_live", "+fct_odds",
    "+mart_bookmaker_margin", "+mart_fair_probabilities", "+mart_closing_line_value", "+dim_bookmaker",
]  # fmt: skip
EMULATOR_DATABASE = "LIVE_EMULATOR"


OPENING = {"home": 2.00, "draw": 3.40, "away": 3.80}  # Pinnacle at K-26h
CLOSING = {"home": 2.05, "draw": 3.50, "away": 3.60}  # Pinnacle at K-10m


def _quote(
    event_id: str, bookmaker: str, at: datetime, price: float, selection: str = "home", title: str = ""
) -> dict[str, Any]:
    return {
        **silver_quote(event_id, at, price),
        "game_id": G,
        "bookmaker": bookmaker,
        "bookmaker_title": title or bookmaker.title(),
        "selection": selection,
        "commence_time": K,
    }


def _game(event_id: str, at: datetime, status: str, home: int, away: int) -> dict[str, Any]:
    return lake_row(
        "silver.games", event_id=event_id, source="espn", sport="soccer_epl", event_time=at, ingested_at=at,
        schema_version=1, game_id=G, source_game_id="740000", competition="soccer_epl",
        home_team="Arsenal", away_team="Chelsea", home_team_id="arsenal", away_team_id="chelsea",
        commence_time=K, status=status, home_score=home, away_score=away, venue_name="Emirates Stadium",
    )  # fmt: skip


def _weather(event_id: str, valid_at: datetime, temperature: float) -> dict[str, Any]:
    return lake_row(
        "silver.weather", event_id=event_id, source="openweather", sport="soccer_epl",
        event_time=valid_at - 6 * H, ingested_at=valid_at - 6 * H, schema_version=1, game_id=G,
        location_name="London", lat=51.55, lon=-0.108, kind="forecast", valid_at=valid_at,
        temperature_c=temperature, condition="Clouds",
    )  # fmt: skip


def _article(article_id: str, at: datetime, team_ids: list[str]) -> dict[str, Any]:
    return lake_row(
        "silver.news", event_id=f"n-{article_id}", source="newsapi", sport="soccer_epl", event_time=at,
        ingested_at=at, schema_version=1, article_id=article_id, url=f"https://example.org/{article_id}",
        title="Derby", published_at=at, outlet="BBC Sport", team_ids=team_ids, teams=team_ids,
    )  # fmt: skip


def _window(arb_id: str, opened: datetime, closed: datetime | None, age_s: float) -> dict[str, Any]:
    return lake_row(
        "gold.arbitrage_opportunities", arb_id=arb_id, game_id=G, sport="soccer_epl", market="h2h",
        status="open" if closed is None else "closed", opened_at=opened, closed_at=closed, age_s=age_s,
        inverse_sum=0.99, guaranteed_return=0.0101, selections=["home", "draw", "away"],
        best_prices=[2.2, 3.6, 3.9], bookmakers=["bet365", "pinnacle", "unibet"], stakes=[45.9, 28.0, 25.9],
        updated_at=opened, net_return=0.005,
    )  # fmt: skip


def _steam(start: datetime) -> dict[str, Any]:
    return lake_row(
        "gold.steam_moves", window_start=start, window_end=start + timedelta(minutes=1), game_id=G,
        sport="soccer_epl", market="h2h", selection="home", direction="shortening", books_moved=3,
        books_quoting=4, median_move_pct=2.5, threshold_pct=2.0, detected_at=start + timedelta(minutes=1),
    )  # fmt: skip


@pytest.fixture(scope="module")
def live_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Any]:
    state = tmp_path_factory.mktemp("live-lake")
    settings = Settings(state_dir=state, catalog=CatalogSettings(kind="local"))
    catalog = load_catalog(settings)
    ensure_tables(catalog)
    append_rows(catalog, "silver.odds_quotes", [
        _quote("p1", "pinnacle", K - 26 * H, 2.00), _quote("p2", "pinnacle", K - 2 * H, 2.10),
        _quote("p3", "pinnacle", K - timedelta(minutes=10), 2.05), _quote("p4", "pinnacle", K + H / 2, 1.50),
        _quote("b1", "bet365", K - 5 * H, 2.20),
        _quote("d1", "draftkings", K - 3 * H, 2.15, title="DraftKings"),
        _quote("p1d", "pinnacle", K - 26 * H, OPENING["draw"], "draw"),
        _quote("p1a", "pinnacle", K - 26 * H, OPENING["away"], "away"),
        _quote("p3d", "pinnacle", K - timedelta(minutes=10), CLOSING["draw"], "draw"),
        _quote("p3a", "pinnacle", K - timedelta(minutes=10), CLOSING["away"], "away"),
    ])  # fmt: skip
    append_rows(
        catalog,
        "silver.games",
        [_game("g1", K - H, "scheduled", 0, 0), _game("g2", K + 2 * H, "final", 2, 1)],
    )
    append_rows(catalog, "silver.weather", [_weather("w1", K - 4 * H, 7.0), _weather("w2", K - H, 9.5),
                                            _weather("w3", K + 2 * H, 11.0)])  # fmt: skip
    append_rows(catalog, "silver.news", [
        _article("a1", K - 23 * H, ["arsenal"]), _article("a2", K - 2 * H, ["arsenal", "chelsea"]),
        _article("a3", K - 30 * H, ["chelsea"]), _article("a4", K + H, ["chelsea"]),
    ])  # fmt: skip
    append_rows(catalog, "gold.arbitrage_opportunities", [
        _window("arb-closed", K - 3 * H, K - 3 * H + timedelta(seconds=30), 30.0),
        _window("arb-open", K + H, None, 400.0),
    ])  # fmt: skip
    append_rows(catalog, "gold.steam_moves", [_steam(K - 3 * H), _steam(K - 2 * H)])
    return settings, catalog


def _build_duckdb(settings: Settings, catalog: Any, work: Path) -> Any:
    import duckdb

    target = DuckDBTarget(settings.duckdb_path)
    try:
        load_live(settings, catalog, target=target)
    finally:
        target.close()
    run = run_dbt(
        ["build", "--target", "duckdb", "--indirect-selection", "cautious", "--select", *LIVE_MARTS],
        work,
        {"LAKEHOUSE_WAREHOUSE__DUCKDB_PATH": str(settings.duckdb_path)},
        DUCKDB_BUILD_TIMEOUT_S,
    )
    assert run.returncode == 0 and not run.failed(), run.output[-3000:]

    def query(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    return query


def _build_emulator(settings: Settings, catalog: Any, work: Path, server: dict) -> Any:
    import snowflake.connector

    admin = call_with_timeout(lambda: snowflake.connector.connect(**server), 30, "emulator login")
    admin.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {EMULATOR_DATABASE}")
    admin.close()
    on_emulator = on_snowflake(settings, server, database=EMULATOR_DATABASE)
    target = SnowflakeTarget(on_emulator, timeout_s=EMULATOR_QUERY_TIMEOUT_S * 5)
    try:
        load_live(on_emulator, catalog, target=target)
    finally:
        target.close()
    run = run_dbt(
        ["build", "--target", "fakesnow", "--indirect-selection", "cautious", "--select", *LIVE_MARTS],
        work,
        {
            "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_HOST": server["host"],
            "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PORT": str(server["port"]),
            "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_DATABASE": EMULATOR_DATABASE,
        },
        EMULATOR_BUILD_TIMEOUT_S,
    )
    assert run.returncode == 0 and not run.failed(), run.output[-3000:]

    def query(sql: str) -> list[tuple[Any, ...]]:
        conn = snowflake.connector.connect(database=EMULATOR_DATABASE, **server)
        try:
            return [tuple(r) for r in conn.cursor().execute(sql).fetchall()]
        finally:
            conn.close()

    return query


@pytest.fixture(scope="module", params=["duckdb", "fakesnow"])
def live_marts(request: pytest.FixtureRequest, live_lake: tuple[Settings, Any], tmp_path_factory: Any) -> Any:
    settings, catalog = live_lake
    work = tmp_path_factory.mktemp(f"dbt-live-{request.param}")
    if request.param == "duckdb":
        return _build_duckdb(settings, catalog, work)
    return _build_emulator(settings, catalog, work, request.getfixturevalue("fakesnow_server"))


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def test_fct_game_holds_the_latest_status_and_score(live_marts: Any) -> None:
    rows = live_marts(
        "select game_id, status, home_score, away_score, venue_name, kickoff_at from marts.fct_game"
    )
    assert rows == [(G, "final", 2, 1, "Emirates Stadium", _naive(K))]


def test_line_movement_opening_closing_latest_and_steam(live_marts: Any) -> None:
    rows = live_marts(
        "select bookmaker, quotes, opening_price, closing_price, latest_price, price_move, steam_moves "
        "from marts.mart_line_movement where selection = 'home' order by bookmaker"
    )
    assert [r[:5] for r in rows] == [
        ("bet365", 1, 2.20, 2.20, 2.20),
        ("draftkings", 1, 2.15, 2.15, 2.15),
        ("pinnacle", 4, 2.00, 2.05, 1.50),
    ]
    assert [r[5] for r in rows] == pytest.approx([0.0, 0.0, 1.50 / 2.00 - 1])
    assert [r[6] for r in rows] == [2, 2, 2]


def test_game_context_weather_near_kickoff_and_news_before_it(live_marts: Any) -> None:
    rows = live_marts(
        "select weather_valid_at, temperature_c, home_team_articles_24h, away_team_articles_24h "
        "from marts.mart_game_context"
    )
    assert rows == [(_naive(K - H), 9.5, 2, 1)]


def test_arbitrage_windows_with_duration_bands(live_marts: Any) -> None:
    rows = live_marts(
        "select arb_id, status, duration_s, duration_band from marts.mart_arbitrage_live order by arb_id"
    )
    assert rows == [
        ("arb-closed", "closed", 30.0, "10 s to 1 min"),
        ("arb-open", "open", 400.0, "over 5 min"),
    ]


def test_fct_odds_holds_live_prices_beside_the_history(live_marts: Any) -> None:
    rows = live_marts(
        "select price_source, match_id, match_date, league, season, bookmaker, bookmaker_kind, selection, "
        "opening_price, closing_price from marts.fct_odds order by bookmaker, selection"
    )
    same = ("live", G, K.date(), "E0", "2024-25")  # soccer_epl is football-data's E0
    assert rows == [
        (*same, "bet365", "bookmaker", "home", 2.20, 2.20),
        (*same, "draftkings", "bookmaker", "home", 2.15, 2.15),
        *[(*same, "pinnacle", "bookmaker", s, OPENING[s], CLOSING[s]) for s in ("away", "draw", "home")],
    ]


def test_price_marts_work_on_live_prices(live_marts: Any) -> None:
    order = ("home", "draw", "away")
    margins = live_marts(
        "select price_source, bookmaker, league, season, phase, markets_priced, mean_overround "
        "from marts.mart_bookmaker_margin order by phase desc"
    )
    assert [m[:6] for m in margins] == [
        ("live", "pinnacle", "E0", "2024-25", "opening", 1),
        ("live", "pinnacle", "E0", "2024-25", "closing", 1),
    ]  # the other books price one selection: no complete market
    assert [m[6] for m in margins] == pytest.approx(
        [overround([OPENING[s] for s in order]), overround([CLOSING[s] for s in order])], abs=1e-12
    )
    fair = live_marts(
        "select phase, shin_home, shin_draw, shin_away, multiplicative_home, multiplicative_draw, "
        "multiplicative_away from marts.mart_fair_probabilities where price_source = 'live' "
        "order by phase desc"
    )
    expected = [
        (phase, *devig_shin([p[s] for s in order]), *devig_multiplicative([p[s] for s in order]))
        for phase, p in (("opening", OPENING), ("closing", CLOSING))
    ]
    assert [f[0] for f in fair] == ["opening", "closing"]
    assert [list(f[1:]) for f in fair] == [pytest.approx(list(e[1:]), abs=1e-9) for e in expected]
    clv = live_marts(
        "select bookmaker, closing_line_value from marts.mart_closing_line_value "
        "where selection = 'home' order by bookmaker"
    )
    shin_home_close = devig_shin([CLOSING[s] for s in order])[0]
    assert [c[0] for c in clv] == ["bet365", "draftkings", "pinnacle"]
    assert [c[1] for c in clv] == pytest.approx(
        [closing_line_value(p, shin_home_close) for p in (2.20, 2.15, OPENING["home"])], abs=1e-9
    )


def test_a_book_only_the_live_feeds_quote_joins_dim_bookmaker(live_marts: Any) -> None:
    rows = live_marts(
        "select bookmaker, bookmaker_title, bookmaker_kind, bookmaker_codes, prices, live_prices "
        "from marts.dim_bookmaker where bookmaker in ('draftkings', 'pinnacle') order by bookmaker"
    )
    assert rows == [
        ("draftkings", "DraftKings", "bookmaker", None, 0, 2),
        ("pinnacle", "Pinnacle", "bookmaker", "P,PS", 0, 6),
    ]
