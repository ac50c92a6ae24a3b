"""football-data's extra-leagues format: one file per country, every season in it.

Each file is read as one season file per ``Season`` it names (``2012/2013`` or the calendar year
``2014``), and the expected figures are computed here from the csv module with the rules
written out below, not by the loader: every row lands in exactly one season, every team
resolves, and prices, goals and rejects add up to the file's.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from batch.dbt_build import dbt_build
from batch.football_data import parse_season
from batch.pipeline import backfill, discover
from lakehouse.config import BatchSettings, CatalogSettings, Settings
from lakehouse.football_data import LEAGUES
from lakehouse.football_data.files import SeasonFile, find_season_files, season_labels

PRICE_COLUMNS = ("PSCH", "PSCD", "PSCA", "MaxCH", "MaxCD", "MaxCA", "AvgCH", "AvgCD", "AvgCA",
                 "BFECH", "BFECD", "BFECA", "B365CH", "B365CD", "B36CA")  # fmt: skip


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _window(season: str) -> tuple[date, date]:
    """``2012/2013``: July to the next August; ``2014``: January to the next March."""
    first = int(season[:4])
    return (
        (date(first, 7, 1), date(first + 1, 8, 31))
        if "/" in season
        else (date(first, 1, 1), date(first + 1, 3, 31))
    )


def _price(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value > 1.0


def _prices(odds: pa.Table, bookmaker: str, selection: str, phase: str) -> list[tuple[int, float]]:
    """(source row, price) of one bookmaker's selection in one phase."""
    picked = odds.filter(
        pc.and_(
            pc.and_(pc.equal(odds["bookmaker"], bookmaker), pc.equal(odds["selection"], selection)),
            pc.equal(odds["phase"], phase),
        )
    )
    return list(zip(picked["source_row"].to_pylist(), picked["price"].to_pylist(), strict=True))


@pytest.fixture
def extra(shared_data: Path) -> Path:
    return shared_data / "football-data-extra"


def test_seasons_of_both_kinds_are_found_in_time_order(extra: Path) -> None:
    found = find_season_files(extra, LEAGUES)
    per_file = Counter(sf.league for sf in found)
    for path in sorted(extra.glob("*.csv")):
        assert per_file[path.stem] == len({row["Season"] for row in _rows(path)}), path.name
    arg = [sf.season for sf in found if sf.league == "ARG"]
    assert arg[:4] == ["2012-13", "2013-14", "2014", "2015"]  # by time, not by code
    assert arg.index("2019-20") < arg.index("2020") and all(sf.path == extra / "ARG.csv" for sf in found[:3])
    assert SeasonFile.of("ARG", "2021") == SeasonFile("ARG", "2021", calendar=True)
    assert SeasonFile.of("ARG", "2012-13") == SeasonFile("ARG", "1213")
    assert SeasonFile.of("E0", "2021").season == "2020-21"  # a main league's code, as before
    assert season_labels("2021") == {"2020-21", "2021"} and season_labels("2023/2024") == {"2023-24"}
    assert SeasonFile.of("USA", "2014").file_name == "USA.csv"


def test_every_row_lands_once_with_its_teams_prices_and_goals(extra: Path) -> None:
    for path in sorted(extra.glob("*.csv")):
        rows = _rows(path)
        seasons = [sf for sf in find_season_files(extra, LEAGUES) if sf.league == path.stem]
        parsed = [parse_season(path.read_bytes(), sf) for sf in seasons]
        numbers: list[int] = []
        for p in parsed:
            numbers += p.matches["source_row"].to_pylist()
            row_level = zip(
                p.rejects["source_row"].to_pylist(), p.rejects["source_column"].to_pylist(), strict=True
            )
            numbers += [r for r, column in row_level if r is not None and column is None]  # not a cell's
            assert p.counts.rows == p.counts.matches + p.counts.rejected_rows
        assert sorted(numbers) == list(range(1, len(rows) + 1)), f"{path.name}: a row lost or loaded twice"
        reasons = [r for p in parsed for r in p.rejects["reason"].to_pylist()]
        assert not [r for r in reasons if "unknown team" in r], path.name  # the registry knows them all

        # The rules, from the csv module: a date inside its season's window, no second row of a match.
        valid, seen = [], set()
        for number, row in enumerate(rows, start=1):
            day = datetime.strptime(row["Date"], "%d/%m/%Y").date()
            first, last = _window(row["Season"])
            if first <= day <= last and (day, row["Home"], row["Away"]) not in seen:
                seen.add((day, row["Home"], row["Away"]))
                valid.append(number)
        loaded = sorted(n for p in parsed for n in p.matches["source_row"].to_pylist())
        assert loaded == valid, path.name
        goals = [
            int(rows[n - 1][c]) for n in valid for c in ("HG", "AG") if rows[n - 1][c]
        ]  # blank: not played
        loaded_goals = [
            g for p in parsed for c in ("home_goals", "away_goals") for g in p.matches[c].to_pylist()
        ]
        assert (sum(g or 0 for g in loaded_goals), sum(g is not None for g in loaded_goals)) == (
            sum(goals),
            len(goals),
        ), path.name
        prices = sum(_price(rows[n - 1].get(c, "")) for n in valid for c in PRICE_COLUMNS)
        assert sum(p.counts.prices for p in parsed) == prices, path.name
        # Pinnacle's closing home price, row by row.
        ps = {(r, v) for p in parsed for r, v in _prices(p.odds, "pinnacle", "home", "closing")}
        assert ps == {(n, float(rows[n - 1]["PSCH"])) for n in valid if _price(rows[n - 1]["PSCH"])}


def test_bet365s_misspelt_closing_away_header_is_read_as_bet365(extra: Path) -> None:
    """NOR.csv and USA.csv head Bet365's closing away price "B36CA" next to B365CH and B365CD
    (filled from part of 2025)."""
    sf = next(sf for sf in find_season_files(extra, ["NOR"]) if sf.season == "2025")
    odds = parse_season((extra / "NOR.csv").read_bytes(), sf).odds
    bet365 = Counter(
        (s, c) for b, s, ph, c in zip(*(odds[k].to_pylist() for k in ("bookmaker", "selection", "phase",
                                                                        "source_column")), strict=True)
        if (b, ph) == ("bet365", "closing")
    )  # fmt: skip
    assert set(bet365) == {("home", "B365CH"), ("draw", "B365CD"), ("away", "B365CA")}
    assert len(set(bet365.values())) == 1 and bet365["away", "B365CA"] == 101  # as many away as home


def test_a_row_naming_no_season_is_refused_once(tmp_path: Path, extra: Path) -> None:
    lines = (extra / "AUT.csv").read_text(encoding="utf-8-sig").splitlines()
    header, body = lines[0], lines[1:]
    first_two = [line for line in body if ",2012/2013," in line][:2]
    later = [line for line in body if ",2024/2025," in line][:2]
    stray = later[0].replace(",2024/2025,", ",next year,")
    (tmp_path / "AUT.csv").write_text("\n".join([header, *first_two, stray, "", *later]) + "\n")
    seasons = find_season_files(tmp_path, LEAGUES)
    assert [str(sf) for sf in seasons] == ["AUT 2012-13", "AUT 2024-25"]
    parsed = [parse_season((tmp_path / "AUT.csv").read_bytes(), sf) for sf in seasons]
    assert [p.counts.matches for p in parsed] == [2, 2]
    assert parsed[1].rejects.num_rows == 0
    rejects = sorted(zip(parsed[0].rejects["source_row"].to_pylist(), parsed[0].rejects["reason"].to_pylist(),
                         strict=True))  # fmt: skip
    assert rejects == [(3, "season 'next year' is not a season (2012/2013 or 2014)"), (4, "empty row")]


def test_discover_by_calendar_season_and_date(extra: Path, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, batch=BatchSettings(football_data_dir=extra))
    picked = discover(settings, leagues=["ARG", "AUT", "USA"], seasons=["2021"])
    assert [str(sf) for sf in picked] == ["ARG 2021", "AUT 2020-21", "USA 2021"]
    ranged = discover(settings, leagues=["ARG"], start="2016-03-01", end="2016-08-01")
    assert [str(sf) for sf in ranged] == ["ARG 2016", "ARG 2016-17"]


@pytest.mark.integration
def test_backfill_of_every_extra_league_into_the_warehouse(extra: Path, tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path / "state",
        catalog=CatalogSettings(kind="local"),
        batch=BatchSettings(football_data_dir=extra, leagues=("ARG", "AUT", "BRA", "NOR", "SWE", "USA")),
    )
    result = backfill(settings)
    total_rows = sum(len(_rows(path)) for path in extra.glob("*.csv"))
    assert len(result.partitions) == 84 and result.parsed.rows == total_rows
    assert result.iceberg == result.warehouse
    assert result.warehouse["football_data_matches"] == result.parsed.matches > 0.99 * total_rows
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        per_season = con.execute(
            "SELECT league, season, count(*) FROM raw.football_data_matches GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        unknown = con.execute(
            "SELECT count(*) FROM raw.football_data_rejects WHERE reason LIKE 'unknown team%'"
        ).fetchone()
    assert unknown == (0,)
    assert ("ARG", "2021", 501) in per_season and ("BRA", "2024", 380) in per_season

    # The marts build on every league (no league list in the dbt project: it joins the core's).
    dbt_build(settings)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        seasons = con.execute(
            "SELECT league, season, competition_name, country, matches, rejected_rows "
            "FROM marts.dim_competition_season ORDER BY league, season_start_year, season"
        ).fetchall()
    assert len(seasons) == 84 and sum(s[4] for s in seasons) == result.parsed.matches
    assert sum(s[5] for s in seasons) == result.parsed.rejected_rows
    assert ("USA", "2025", "Major League Soccer", "USA", 540, 0) in seasons
