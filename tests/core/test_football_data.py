"""football-data.co.uk columns are read by name across every season's layout."""

from __future__ import annotations

import csv
from pathlib import Path

from lakehouse.football_data import LINE_COLUMNS, MATCH_COLUMNS, classify_columns, handicap_line


def _header(path: Path) -> list[str]:
    with path.open(encoding="latin-1") as fh:
        return next(csv.reader(fh))


def test_2023_24_layout(shared_data: Path) -> None:
    odds, other = classify_columns(_header(shared_data / "football-data" / "E0_2324.csv"))
    by_column = {o.column: o for o in odds}
    b365ch = by_column["B365CH"]
    assert (b365ch.bookmaker, b365ch.market, b365ch.selection, b365ch.phase) == (
        "bet365",
        "h2h",
        "home",
        "closing",
    )
    psd = by_column["PSD"]
    assert (psd.bookmaker, psd.selection, psd.phase) == ("pinnacle", "draw", "opening")
    over = by_column["P>2.5"]
    assert (over.bookmaker, over.market, over.selection, over.fixed_line) == (
        "pinnacle",
        "totals",
        "over",
        2.5,
    )
    closing_ah = by_column["PCAHA"]
    assert (closing_ah.market, closing_ah.selection, closing_ah.phase) == ("spreads", "away", "closing")
    assert "AHCh" in closing_ah.line_columns
    assert by_column["MaxCA"].kind == "composite"
    assert "AHh" in other and "HomeTeam" in other and "FTR" in other
    assert not any(c.startswith(("B365", "PS", "Max", "Avg")) for c in other)


def test_old_layouts_keep_every_bookmaker(shared_data: Path) -> None:
    odds, other = classify_columns(_header(shared_data / "football-data" / "E0_0506.csv"))
    codes = {o.code for o in odds}
    assert {"B365", "BW", "IW", "LB", "SB", "WH", "SJ", "VC", "BbMx", "BbAv"} <= codes
    ah = next(o for o in odds if o.column == "BbAvAHH")
    assert ah.line_columns[-1] == "BbAHh"
    assert "BbAHh" in other and "Bb1X2" in other


def test_unknown_bookmaker_codes_are_kept_not_dropped() -> None:
    header = [
        "Div",
        "Date",
        "HomeTeam",
        "AwayTeam",
        "XYZH",
        "XYZD",
        "XYZA",
        "XYZCH",
        "QQ>2.5",
        "B365AH",
        "B365AHH",
    ]
    odds, other = classify_columns(header)
    got = {(o.column, o.bookmaker, o.kind, o.phase) for o in odds}
    assert ("XYZH", "xyz", "unknown", "opening") in got
    assert ("XYZCH", "xyz", "unknown", "closing") in got
    assert ("QQ>2.5", "qq", "unknown", "opening") in got
    assert "B365AH" in other  # Bet365's own handicap line, not a price
    ah = next(o for o in odds if o.column == "B365AHH")
    assert handicap_line({"B365AH": "-0.75", "AHh": "-0.5"}, ah) == -0.75
    assert handicap_line({"AHh": "-0.5"}, ah) == -0.5
    assert handicap_line({}, ah) is None


def test_every_provided_file_classifies_every_price_column(shared_data: Path) -> None:
    """Whatever is not a price must be a known match/line column: nothing falls through."""
    files = sorted((shared_data / "football-data").glob("*.csv"))
    assert len(files) == 47
    for path in files:
        odds, other = classify_columns(_header(path))
        assert len(odds) >= 6, path.name
        leftovers = [
            c
            for c in other
            if c not in MATCH_COLUMNS
            and c not in LINE_COLUMNS
            and not c.startswith("Unnamed")
            and not c.endswith("AH")
        ]
        assert leftovers == [], (path.name, leftovers)
