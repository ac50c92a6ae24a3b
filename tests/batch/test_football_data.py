"""Parsing season files: bad input quarantined with its reason, real files mapped by column name."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.compute as pc
import pytest

from batch.football_data import SeasonFile, parse_season, season_code
from lakehouse.football_data import decode

LOADED_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
HEADER = (
    "Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,B365H,B365D,B365A,XYZH,XYZD,XYZA,"
    "B365>2.5,B365<2.5,AHh,AHCh,B365AHH,B365AHA,B365CAHH,B365CAHA"
)


def parse_bad_input(path: Path):
    return parse_season(path.read_bytes(), SeasonFile.from_name(path.name), loaded_at=LOADED_AT)


def test_bad_input_is_quarantined_with_reasons(bad_input_file: Path) -> None:
    parsed = parse_bad_input(bad_input_file)
    rejects = sorted(
        ((r["source_row"] or 0, r["source_column"] or "", r["reason"]) for r in parsed.rejects.to_pylist()),
    )
    assert rejects == [
        (0, "BWA", "missing column 'BWA': BW opening h2h has no away price"),
        (2, "", "bad date '31/02/2023'"),
        (3, "", "empty row"),
        (4, "B365D", "price 0 not > 1"),
        (5, "PSH", "price 'abc' is not a number"),
        (6, "", "unknown team 'Foo United'"),
        (7, "", "duplicate match of row 1"),
        (8, "HS", "HS 'n/a' is not a whole number"),
        (10, "", "row has 7 cells, the header 40"),
    ]
    by_row = {r["source_row"]: r for r in parsed.rejects.to_pylist()}
    assert json.loads(by_row[2]["raw_record"])["Date"] == "31/02/2023"
    assert json.loads(by_row[6]["raw_record"])["AwayTeam"] == "Foo United"
    assert by_row[None]["raw_record"] is None  # file level: no row to show
    assert set(parsed.rejects["league"].to_pylist()) == {"E0"}
    assert set(parsed.rejects["season"].to_pylist()) == {"2023-24"}


def test_bad_input_loses_nothing_else(bad_input_file: Path) -> None:
    parsed = parse_bad_input(bad_input_file)
    c = parsed.counts
    assert (c.rows, c.matches, c.rejected_rows) == (10, 5, 5)
    assert c.rows == c.matches + c.rejected_rows
    # 15 price columns (BWA missing), 5 valid rows, every cell filled: 75 cells, 2 rejected.
    assert (c.price_cells, c.prices, c.rejected_prices) == (75, 73, 2)
    assert parsed.odds.num_rows == c.prices and parsed.matches.num_rows == c.matches
    assert (c.rejected_cells, c.file_rejects, c.rejects) == (1, 1, 9)
    assert parsed.rejects.num_rows == c.rejects
    matches = {m["source_row"]: m for m in parsed.matches.to_pylist()}
    assert sorted(matches) == [1, 4, 5, 8, 9]
    assert matches[1]["match_id"] == "2023-08-11:burnley:manchester-city"
    assert matches[8]["home_shots"] is None and matches[8]["away_shots"] == 16  # only the bad cell nulled
    odds = parsed.odds.to_pylist()
    columns_of = {row: {o["source_column"] for o in odds if o["source_row"] == row} for row in matches}
    all_columns = columns_of[1]
    assert len(all_columns) == 15 and "BWA" not in all_columns
    assert columns_of[4] == all_columns - {"B365D"}  # the zero price only
    assert columns_of[5] == all_columns - {"PSH"}  # the text price only
    assert columns_of[8] == columns_of[9] == all_columns
    assert all(o["price"] > 1.0 for o in odds)
    bwh = next(o for o in odds if o["source_row"] == 1 and o["source_column"] == "BWH")
    assert (bwh["bookmaker"], bwh["market"], bwh["selection"], bwh["price"]) == ("bwin", "h2h", "home", 8.75)


def test_odds_long_form_markets_phases_lines_and_unknown_bookmakers() -> None:
    data = "\r\n".join(
        [
            HEADER,
            "E0,14/09/2019,15:00,Arsenal,Chelsea,1,2,A,2.1,3.4,3.6,2.0,3.3,3.5,1.9,1.95,-0.25,-0.5,1.9,2.0,1.85,2.05",
            "",
        ]
    ).encode()
    parsed = parse_season(data, SeasonFile("E0", "1920"))
    assert parsed.counts.rejects == 0
    odds = {o["source_column"]: o for o in parsed.odds.to_pylist()}
    assert len(odds) == 12
    xyz = odds["XYZD"]
    assert (xyz["bookmaker"], xyz["bookmaker_code"], xyz["bookmaker_kind"]) == ("xyz", "XYZ", "unknown")
    assert (odds["B365>2.5"]["market"], odds["B365>2.5"]["selection"], odds["B365>2.5"]["line"]) == (
        "totals",
        "over",
        2.5,
    )
    assert odds["B365H"]["line"] is None and odds["B365H"]["phase"] == "opening"
    # Spreads: the home handicap on both selections; closing columns read the closing line.
    assert (odds["B365AHA"]["selection"], odds["B365AHA"]["line"], odds["B365AHA"]["phase"]) == (
        "away",
        -0.25,
        "opening",
    )
    assert (odds["B365CAHH"]["line"], odds["B365CAHH"]["phase"]) == (-0.5, "closing")
    match = parsed.matches.to_pylist()[0]
    assert match["kickoff_at"] == datetime(2019, 9, 14, 14, 0, tzinfo=UTC)  # 15:00 BST
    assert match["match_id"] == "2019-09-14:arsenal:chelsea"


def test_real_file_quirks(shared_data: Path) -> None:
    # E0_0405 writes 14/08/04 as 2014/8/4: the season decides the reading.
    p0405 = parse_season((shared_data / "football-data/E0_0405.csv").read_bytes(), SeasonFile("E0", "0405"))
    assert p0405.counts.rejects == 0 and p0405.counts.matches == 380
    dates = p0405.matches["match_date"].to_pylist()
    assert min(dates) == date(2004, 8, 14) and max(dates) <= date(2005, 6, 30)
    assert p0405.matches["kickoff_at"].null_count == 380  # no Time column before 2019/20
    gb = pc.equal(p0405.odds["source_column"], "GBAHH")
    assert p0405.odds.filter(gb)["line"].to_pylist()[0] == -0.25  # the bookmaker's own GBAH line
    # football-data writes every league's kick-off in UK time: the Clasico of 24 Oct 2021 started
    # at 16:15 in Barcelona (CEST), written 15:15 (BST).
    sp = parse_season((shared_data / "football-data/SP1_2122.csv").read_bytes(), SeasonFile("SP1", "2122"))
    clasico = next(m for m in sp.matches.to_pylist() if m["match_id"] == "2021-10-24:barcelona:real-madrid")
    assert clasico["kickoff_at"] == datetime(2021, 10, 24, 14, 15, tzinfo=UTC)
    first = sp.matches.to_pylist()[0]
    assert first["competition"] == "soccer_spain_la_liga" and first["season_start_year"] == 2021
    # The one blank line of E0_1415 is a counted reject, not a silent skip.
    p1415 = parse_season((shared_data / "football-data/E0_1415.csv").read_bytes(), SeasonFile("E0", "1415"))
    assert [r["reason"] for r in p1415.rejects.to_pylist()] == ["empty row"]
    assert p1415.counts.matches == 380


def test_decoding_and_names() -> None:
    assert decode("Alavés".encode("latin-1")) == "Alavés"
    assert decode("\ufeffDiv,Date".encode()) == "Div,Date"
    assert season_code("2023-24") == season_code("2023/24") == season_code("2324") == "2324"
    with pytest.raises(ValueError, match="2023-24"):
        season_code("2023-25")
    sf = SeasonFile.from_name("/x/SP1_9900.csv")
    assert (sf.league, sf.season, sf.start_year, sf.file_name) == ("SP1", "1999-00", 1999, "SP1_9900.csv")
    with pytest.raises(ValueError, match="unknown football-data league 'XX9'"):
        parse_season(b"Div,Date\r\n", SeasonFile("XX9", "2324"))


def test_missing_required_column_rejects_every_row() -> None:
    data = b"Div,Date,HomeTeam,B365H,B365D,B365A\r\nE0,11/08/2023,Burnley,2.0,3.0,4.0\r\n"
    parsed = parse_season(data, SeasonFile("E0", "2324"))
    assert parsed.matches.num_rows == 0 and parsed.odds.num_rows == 0
    assert [(r["source_row"], r["reason"]) for r in parsed.rejects.to_pylist()] == [
        (1, "file has no 'AwayTeam' column")
    ]
