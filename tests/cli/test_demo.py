"""The README's main job, run against the test broker and lake."""

from __future__ import annotations

import pytest

from cli.demo import CAPTURE, _price_games, run_demo
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def test_demo_moves_every_real_quote_through_kafka_spark_and_iceberg(
    spark,
    lake_settings: Settings,
    shared_data,
) -> None:
    rows = run_demo(lake_settings)
    assert rows == 1281  # every outcome of every bookmaker/market in the real capture

    table = load_catalog(lake_settings).load_table("demo.odds_quotes")
    arrow = table.scan().to_arrow()
    assert arrow.num_rows == 1281
    assert len(set(arrow.column("event_id").to_pylist())) == 1281
    assert len(set(arrow.column("game_id").to_pylist())) == 30
    # Partitioned by day of event_time, as the derived Iceberg schema + spec says.
    assert [f.name for f in table.spec().fields] == ["event_day"]
    # A known real price: 888sport's Newcastle v West Ham home price in the capture.
    nufc = table.scan(
        row_filter="bookmaker == 'sport888' and market == 'h2h' and selection == 'home' "
        "and home_team == 'Newcastle United' and away_team == 'West Ham United'"
    ).to_arrow()
    assert nufc.column("price").to_pylist() == [1.85]

    # A second run rebuilds the table from that run's offsets: same rows, not doubled.
    assert run_demo(lake_settings) == 1281
    assert load_catalog(lake_settings).load_table("demo.odds_quotes").scan().to_arrow().num_rows == 1281


def test_the_demo_board_judges_arbitrage_as_the_capture_does(
    spark, lake_settings: Settings, shared_data
) -> None:
    """The board read back from Iceberg gives each game the status the raw capture gives it
    (`lakehouse arbitrage`'s rules): on this capture none is actionable."""
    from lakehouse.market.board import Quote, arbitrage_window, summarise_market
    from producers.replay import odds_api_capture

    if not load_catalog(lake_settings).table_exists("demo.odds_quotes"):
        run_demo(lake_settings)
    _, board = _price_games(lake_settings, "demo.odds_quotes")
    games = [row[0] for row in board]
    shown = {row[0]: row[4] for row in board}
    parsed = odds_api_capture(lake_settings.shared_data_dir / CAPTURE)
    lines = summarise_market(Quote.from_record(r) for r in parsed.events if r["market"] == "h2h")
    names = {r["game_id"]: f"{r['home_team']} v {r['away_team']}" for r in parsed.events}
    expected = {}
    for line in lines:
        window = arbitrage_window(line)
        expected[names[line.game_id]] = f"{window.status} {window.gross_return:+.2%}" if window else "-"
    assert len(shown) == 12
    assert shown == {game: expected[game] for game in games}
    assert any(v != "-" for v in shown.values()) and not any(
        v.startswith("actionable") for v in shown.values()
    )
