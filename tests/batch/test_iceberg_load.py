"""Iceberg load: whole (league, season) partitions replaced, never appended; others untouched."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from batch.football_data import ParsedSeason, SeasonFile, parse_season
from batch.iceberg_load import count_rows, load_seasons
from iceberg.history import HISTORY_TABLES
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings

MATCHES, ODDS, REJECTS = HISTORY_TABLES


def parse_file(path: Path, season_file: SeasonFile | None = None) -> ParsedSeason:
    return parse_season(path.read_bytes(), season_file or SeasonFile.from_name(path.name))


def content(catalog, identifier: str, league: str, season: str) -> pa.Table:
    """A partition's rows without load timestamps, in a stable order."""
    from batch.iceberg_load import partition_filter

    table = catalog.load_table(identifier).scan(row_filter=partition_filter([(league, season)])).to_arrow()
    keep = [c for c in table.column_names if c not in ("loaded_at", "rejected_at")]
    return table.select(keep).sort_by(
        [(c, "ascending") for c in ("source_row", "source_column") if c in keep]
    )


@pytest.fixture
def real_files(shared_data: Path) -> Path:
    return shared_data / "football-data"


def test_tables_are_partitioned_by_league_and_season(batch_settings: Settings, real_files: Path) -> None:
    catalog = load_catalog(batch_settings)
    load_seasons(catalog, [parse_file(real_files / "SP1_2122.csv")])
    for identifier in HISTORY_TABLES:
        spec = catalog.load_table(identifier).spec()
        assert [(f.name, str(f.transform)) for f in spec.fields] == [
            ("league", "identity"),
            ("season", "identity"),
        ]


def test_loading_a_season_twice_leaves_the_same_rows(batch_settings: Settings, real_files: Path) -> None:
    catalog = load_catalog(batch_settings)
    first = load_seasons(catalog, [parse_file(real_files / "E0_2122.csv")])
    before = {i: content(catalog, i, "E0", "2021-22") for i in HISTORY_TABLES}
    second = load_seasons(catalog, [parse_file(real_files / "E0_2122.csv")])
    assert (first.matches, first.odds, first.rejects) == (second.matches, second.odds, second.rejects)
    assert (first.matches, first.rejects) == (380, 2)  # two closing over/under prices of 0.0
    for identifier in HISTORY_TABLES:
        assert count_rows(catalog, identifier) == before[identifier].num_rows
        assert content(catalog, identifier, "E0", "2021-22").equals(before[identifier])
    snapshots = catalog.load_table(ODDS).snapshots()
    assert len(snapshots) >= 2  # two loads, both committed; the rows did not double


def test_replacing_a_season_drops_its_old_rejects_and_keeps_other_seasons(
    batch_settings: Settings, real_files: Path, bad_input_file: Path
) -> None:
    catalog = load_catalog(batch_settings)
    bad = parse_file(bad_input_file)  # a broken E0 2023-24
    load_seasons(catalog, [bad, parse_file(real_files / "SP1_2122.csv")])
    assert count_rows(catalog, REJECTS, [("E0", "2023-24")]) == 9
    sp1 = {i: content(catalog, i, "SP1", "2021-22") for i in HISTORY_TABLES}
    fixed = parse_file(real_files / "E0_2324.csv")
    load_seasons(catalog, [fixed])
    assert count_rows(catalog, REJECTS, [("E0", "2023-24")]) == 0
    assert count_rows(catalog, MATCHES, [("E0", "2023-24")]) == 380
    assert count_rows(catalog, ODDS, [("E0", "2023-24")]) == fixed.odds.num_rows
    for identifier in HISTORY_TABLES:
        assert content(catalog, identifier, "SP1", "2021-22").equals(sp1[identifier])


class RacingCatalog:
    """A catalog whose first ``load_table`` lets another writer commit before the caller does."""

    def __init__(self, inner, race) -> None:
        self.inner, self.race = inner, race

    def load_table(self, identifier: str):
        table = self.inner.load_table(identifier)
        if self.race is not None:
            race, self.race = self.race, None
            race()  # the caller's table object is now one commit behind
        return table

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def test_a_commit_that_loses_a_race_is_retried(batch_settings: Settings, real_files: Path) -> None:
    """Two mapped Airflow tasks commit to one table; the loser retries on the refreshed table."""
    from batch.iceberg_load import partition_filter, replace_rows

    catalog = load_catalog(batch_settings)
    e0, sp1 = parse_file(real_files / "E0_1011.csv"), parse_file(real_files / "SP1_1011.csv")
    load_seasons(catalog, [])  # the tables exist
    racer = load_catalog(batch_settings)
    raced = RacingCatalog(catalog, lambda: load_seasons(racer, [sp1]))
    replace_rows(raced, ODDS, e0.odds, partition_filter([("E0", "2010-11")]))
    fresh = load_catalog(batch_settings)
    assert count_rows(fresh, ODDS, [("E0", "2010-11")]) == e0.odds.num_rows
    assert count_rows(fresh, ODDS, [("SP1", "2010-11")]) == sp1.odds.num_rows
