"""Parsed seasons -> the history Iceberg tables, replacing whole (league, season) partitions.

pyiceberg, not Spark: a backfill writes a few Arrow tables, and a JVM start per season would
cost more than the load itself. Each table gets one commit per call, an overwrite whose filter
names exactly the partitions being loaded, so a season loaded twice leaves the same rows (the
old files are dropped from the new snapshot, never appended to), and a season whose file no
longer has rejects loses its old rejects too. A commit that loses a race with another writer
(two mapped Airflow tasks, or two backfills run at once) is retried on the refreshed table:
re-applying an overwrite replaces its partitions again, so the retry is safe whether the other
writer loaded other seasons or the same ones.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

import pyarrow as pa
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysFalse, And, BooleanExpression, EqualTo, Or, Reference
from pyiceberg.expressions.literals import literal
from sqlalchemy.exc import OperationalError

from batch.football_data import ParsedSeason
from iceberg.history import (
    FOOTBALL_DATA_MATCHES,
    FOOTBALL_DATA_ODDS,
    FOOTBALL_DATA_REJECTS,
    ensure_history_tables,
)
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

log = get_logger(__name__)

COMMIT_ATTEMPTS = 8


@dataclass(frozen=True)
class IcebergLoad:
    """Rows written per table and the partitions they replaced."""

    partitions: tuple[tuple[str, str], ...]
    matches: int
    odds: int
    rejects: int
    seconds: float


def partition_filter(partitions: Iterable[tuple[str, str]]) -> BooleanExpression:
    """``(league = l AND season = s) OR ...``: exactly the given partitions, nothing for none."""
    terms: list[BooleanExpression] = [
        And(
            EqualTo(term=Reference("league"), value=literal(league)),
            EqualTo(term=Reference("season"), value=literal(season)),
        )
        for league, season in sorted(partitions)
    ]
    return reduce(Or, terms) if terms else AlwaysFalse()


def load_seasons(catalog: Catalog, parsed: Sequence[ParsedSeason]) -> IcebergLoad:
    """Replace the partitions of ``parsed`` in the three history tables (one commit per table)."""
    started = time.perf_counter()
    ensure_history_tables(catalog)
    partitions = tuple(sorted({(p.league, p.season) for p in parsed}))
    if len(partitions) != len(parsed):
        raise ValueError("each (league, season) may appear once per load")
    if not parsed:
        return IcebergLoad((), 0, 0, 0, round(time.perf_counter() - started, 3))
    where = partition_filter(partitions)
    written = {}
    for td, frames in (
        (FOOTBALL_DATA_MATCHES, [p.matches for p in parsed]),
        (FOOTBALL_DATA_ODDS, [p.odds for p in parsed]),
        (FOOTBALL_DATA_REJECTS, [p.rejects for p in parsed]),
    ):
        data = pa.concat_tables(frames) if frames else td.schema.as_arrow().empty_table()
        replace_rows(catalog, td.identifier, data, where)
        written[td.name] = data.num_rows
    result = IcebergLoad(
        partitions,
        matches=written[FOOTBALL_DATA_MATCHES.name],
        odds=written[FOOTBALL_DATA_ODDS.name],
        rejects=written[FOOTBALL_DATA_REJECTS.name],
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info("iceberg partitions replaced", partitions=len(partitions), **_counts(result))
    return result


def replace_rows(catalog: Catalog, identifier: str, data: pa.Table, where: BooleanExpression) -> None:
    """Overwrite the rows ``where`` selects with ``data`` in one commit, retrying a lost race."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        table = catalog.load_table(identifier)
        try:
            with warnings.catch_warnings():  # a first load replaces nothing; pyiceberg warns about it
                warnings.filterwarnings("ignore", message="Delete operation did not match any records")
                table.overwrite(data, overwrite_filter=where)
            return
        except (CommitFailedException, ValidationException, OperationalError) as exc:  # lost a race / busy
            if isinstance(exc, OperationalError) and "locked" not in str(exc):
                raise
            if attempt == COMMIT_ATTEMPTS:
                raise
            log.warning("iceberg commit conflict, retrying", table=identifier, attempt=attempt)
            time.sleep(0.05 * attempt)


def _counts(load: IcebergLoad) -> dict[str, int]:
    return {"matches": load.matches, "odds": load.odds, "rejects": load.rejects}


def count_rows(catalog: Catalog, identifier: str, partitions: Iterable[tuple[str, str]] | None = None) -> int:
    """Rows of a table (or of some partitions), from the manifests: no data file is read."""
    table = catalog.load_table(identifier)
    scan = table.scan() if partitions is None else table.scan(row_filter=partition_filter(partitions))
    return scan.count()
