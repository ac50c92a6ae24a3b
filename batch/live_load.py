"""The live lake tables -> the warehouse's ``raw`` schema, incrementally (``lake_to_warehouse``).

Silver tables only grow: the stream appends, and compaction rewrites files without adding rows.
Each load asks Iceberg which event dates the appends since the last loaded snapshot touched (an
incremental append scan) and replaces exactly those dates in the warehouse from the lake, so a
late record lands with its date and a re-run writes the same rows again.  The last loaded
snapshot of each table is kept in the warehouse itself (``raw.lake_loads``), committed after the
rows: a load stopped between the two replaces the same dates next time.  When that snapshot is
no longer an ancestor of the table's current one (expired, or the table re-created), the table
is reloaded whole.

Gold tables are MERGEd by the stream (overwrite snapshots, not appends) and hold the latest row
per key, so each load replaces them whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from batch.warehouse import KeyValues, Target, load_reference, open_target, to_warehouse_types
from iceberg.tables import GOLD_TABLES, SILVER_FEEDS, TableDef
from lakehouse.config import Settings
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table

log = get_logger(__name__)

DATE_KEYS = ("event_date",)
LOADS = "lake_loads"
"""Warehouse table of the last lake snapshot loaded per table."""


@dataclass(frozen=True)
class LiveTable:
    """A lake table copied to the warehouse as ``raw.<layer>_<name>``."""

    table: TableDef
    incremental: bool  # by event date since the last snapshot; else replaced whole

    @property
    def warehouse_name(self) -> str:
        return f"{self.table.namespace}_{self.table.name}"


LIVE_TABLES: tuple[LiveTable, ...] = (
    *(LiveTable(td, incremental=True) for td in SILVER_FEEDS.values()),
    *(LiveTable(td, incremental=False) for td in GOLD_TABLES.values()),
)


@dataclass
class TableLoad:
    """What one table's load did."""

    rows: int  # rows written
    dates: tuple[str, ...] | None  # event dates replaced; None: the whole table
    snapshot_id: int | None  # the lake snapshot now loaded


@dataclass
class LiveLoad:
    kind: str
    tables: dict[str, TableLoad] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)  # rows of each whole warehouse table
    seconds: float = 0.0


def ensure_live_tables(target: Target) -> None:
    """Every live table and the marks table exist in the warehouse, empty if never loaded: the dbt
    sources are there from the first backfill on, before any live data is."""
    target.replace(LOADS, _marks_table([]), [], keys=("table_name",))
    for live in LIVE_TABLES:
        empty = _flat(to_warehouse_types(live.table.schema.as_arrow().empty_table()))
        if live.incremental:
            target.replace(live.warehouse_name, _with_event_date(empty), [], keys=DATE_KEYS)
        else:
            target.replace(live.warehouse_name, empty, [])


Check = Callable[[str, pa.Table], None]
"""Called with a table's warehouse name and the lake rows about to replace its rows; raises to stop
the load of that table (``batch.quality.gate``)."""


def load_live(
    settings: Settings, catalog: Catalog, *, target: Target | None = None, check: Check | None = None
) -> LiveLoad:
    """Copy what changed in the live lake tables since the last load into the warehouse, each
    table's rows through ``check`` first when given."""
    started = time.perf_counter()
    own = target is None
    target = target or open_target(settings)
    result = LiveLoad(target.kind)
    try:
        ensure_live_tables(target)
        load_reference(target)
        loaded = {
            name: snapshot
            for name, snapshot in target.query(f"SELECT table_name, snapshot_id FROM {{schema}}.{LOADS}")
        }
        for live in LIVE_TABLES:
            if not catalog.table_exists(live.table.identifier):
                continue
            table = catalog.load_table(live.table.identifier)
            outcome = _load_table(target, live, table, loaded.get(live.warehouse_name), check)
            if outcome is None:
                continue
            result.tables[live.warehouse_name] = outcome
            if outcome.snapshot_id is not None:
                mark = _marks_table([(live.warehouse_name, outcome.snapshot_id, outcome.rows)])
                target.replace(LOADS, mark, [(live.warehouse_name,)], keys=("table_name",))
        result.totals = {
            live.warehouse_name: target.count(live.warehouse_name)
            for live in LIVE_TABLES
            if live.warehouse_name in result.tables or live.warehouse_name in loaded
        }
    finally:
        if own:
            target.close()
    result.seconds = round(time.perf_counter() - started, 3)
    log.info(
        "live tables loaded",
        kind=result.kind,
        rows={name: t.rows for name, t in result.tables.items()},
        seconds=result.seconds,
    )
    return result


def _load_table(
    target: Target, live: LiveTable, table: Table, last: int | None, check: Check | None = None
) -> TableLoad | None:
    """Replace what changed in one table since snapshot ``last``; None when nothing did."""
    current = table.current_snapshot()
    if current is None or current.snapshot_id == last:
        return None
    if not live.incremental:
        rows = table.scan(snapshot_id=current.snapshot_id).to_arrow()
        if check:
            check(live.warehouse_name, rows)
        data = _flat(to_warehouse_types(rows))
        target.replace(live.warehouse_name, data, None)
        return TableLoad(data.num_rows, None, current.snapshot_id)
    dates: list[date] | None = None
    if last is not None and _is_ancestor(table, last, current.snapshot_id):
        appended = table.incremental_append_scan(
            from_snapshot_id_exclusive=last,
            to_snapshot_id_inclusive=current.snapshot_id,
            selected_fields=("event_time",),
        ).to_arrow()
        dates = _event_dates(appended["event_time"])
        if not dates:
            return TableLoad(0, (), current.snapshot_id)  # compaction or an empty append
    scan = table.scan(snapshot_id=current.snapshot_id, row_filter=_on_dates(dates) if dates else _all())
    rows = scan.to_arrow()
    if check:
        check(live.warehouse_name, rows)
    data = _with_event_date(_flat(to_warehouse_types(rows)))
    partitions: list[KeyValues] | None = None if dates is None else [(d.isoformat(),) for d in dates]
    target.replace(live.warehouse_name, data, partitions, keys=DATE_KEYS)
    return TableLoad(
        data.num_rows,
        None if dates is None else tuple(d.isoformat() for d in dates),
        current.snapshot_id,
    )


def _is_ancestor(table: Table, snapshot_id: int, of: int) -> bool:
    from pyiceberg.table.snapshots import ancestors_of

    head = table.snapshot_by_id(of)
    return head is not None and any(s.snapshot_id == snapshot_id for s in ancestors_of(head, table.metadata))


def _event_dates(times: pa.ChunkedArray) -> list[date]:
    """Distinct UTC dates of a timestamp column."""
    if len(times) == 0:
        return []
    days = pc.unique(pc.cast(pc.cast(times, pa.timestamp("us", tz="UTC")), pa.date32()))
    return sorted(d for d in days.to_pylist() if d is not None)


def _on_dates(dates: Sequence[date]) -> BooleanExpression:
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan, Or, Reference
    from pyiceberg.expressions.literals import literal

    def day(d: date) -> BooleanExpression:
        start = datetime(d.year, d.month, d.day, tzinfo=UTC)
        end = start + timedelta(days=1)
        return And(
            GreaterThanOrEqual(term=Reference("event_time"), value=literal(start.isoformat())),
            LessThan(term=Reference("event_time"), value=literal(end.isoformat())),
        )

    expression = day(dates[0])
    for d in dates[1:]:
        expression = Or(expression, day(d))
    return expression


def _all() -> BooleanExpression:
    from pyiceberg.expressions import AlwaysTrue

    return AlwaysTrue()


def _with_event_date(data: pa.Table) -> pa.Table:
    """The warehouse's partition column: the UTC date of ``event_time`` (naive UTC by then)."""
    return data.append_column("event_date", pc.cast(data["event_time"], pa.date32()))


def _flat(data: pa.Table) -> pa.Table:
    """Lists of strings (a news article's team ids) as one comma-separated string: every warehouse
    reads it the same way (``string_split`` in DuckDB, ``split`` in Snowflake), ids hold no comma."""
    for i, f in enumerate(data.schema):
        if pa.types.is_list(f.type) or pa.types.is_large_list(f.type):
            strings = data[f.name].cast(pa.list_(pa.string()))
            joined = pc.binary_join(strings, ",")
            data = data.set_column(i, pa.field(f.name, pa.string()), joined)
    return data


def _marks_table(rows: Sequence[tuple[str, int, int]]) -> pa.Table:
    return pa.table(
        {
            "table_name": pa.array([r[0] for r in rows], pa.string()),
            "snapshot_id": pa.array([r[1] for r in rows], pa.int64()),
            "rows_written": pa.array([r[2] for r in rows], pa.int64()),
            "loaded_at": pa.array([datetime.now(UTC).replace(tzinfo=None)] * len(rows), pa.timestamp("us")),
        }
    )
