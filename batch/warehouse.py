"""Iceberg history tables -> the warehouse's ``raw`` schema (embedded DuckDB, or Snowflake).

The warehouse holds copies of the Iceberg tables, replaced partition by partition like the
lake, so a re-run leaves the same rows: for each (league, season) loaded, the rows are deleted
and inserted again in one transaction. ``raw.teams`` (the shared team registry),
``raw.bookmakers`` (the known bookmakers plus any unknown code the odds hold) and
``raw.leagues`` (every league football-data publishes) are rewritten whole each time.

Snowflake is loaded with ``COPY INTO`` from Parquet files put on a temporary internal stage,
rather than through Snowflake Iceberg tables on a Glue catalog integration: native tables
behave the same for dbt as the DuckDB copy (one ``raw`` contract, clustering and time travel
of native storage), the load needs no account-level objects (external volume, catalog
integration, IAM trust) and can be tested end to end against an emulator (fakesnow), and the
cost, a second copy of a few hundred MB, is small. Iceberg timestamps (UTC) land as
``TIMESTAMP`` / ``TIMESTAMP_NTZ`` holding UTC.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from batch.iceberg_load import partition_filter
from iceberg.history import FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS, FOOTBALL_DATA_REJECTS
from lakehouse.config import Settings
from lakehouse.football_data import BOOKMAKERS, LEAGUES
from lakehouse.log import get_logger
from lakehouse.teams import get_registry

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

log = get_logger(__name__)

HISTORY = (FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS, FOOTBALL_DATA_REJECTS)
"""Copied into the warehouse under their own names (``raw.football_data_odds``...)."""

Partition = tuple[str, str]  # (league, season)
KeyValues = tuple[str, ...]  # one partition's values of a table's partition keys
SEASON_KEYS = ("league", "season")
T = TypeVar("T")


@dataclass
class WarehouseLoad:
    """Rows per warehouse table after the load, and rows written for the loaded partitions."""

    kind: str
    partitions: tuple[Partition, ...] | None  # None: every partition (full replace)
    loaded: dict[str, int] = field(default_factory=dict)  # rows written
    counted: dict[str, int] = field(default_factory=dict)  # rows of the loaded partitions, read back
    totals: dict[str, int] = field(default_factory=dict)  # rows of each whole table
    seconds: float = 0.0


class Target(Protocol):
    """What a warehouse needs to offer the loader."""

    kind: str

    def replace(
        self,
        table: str,
        data: pa.Table,
        partitions: Sequence[KeyValues] | None,
        keys: Sequence[str] = SEASON_KEYS,
    ) -> None: ...

    def count(
        self, table: str, partitions: Sequence[KeyValues] | None = None, keys: Sequence[str] = SEASON_KEYS
    ) -> int: ...

    def query(self, sql: str) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


# --- reading the lake ----------------------------------------------------------------------


def read_history(catalog: Catalog, identifier: str, partitions: Sequence[Partition] | None) -> pa.Table:
    """One history table (or some of its partitions) as Arrow, in warehouse types."""
    table = catalog.load_table(identifier)
    scan = table.scan() if partitions is None else table.scan(row_filter=partition_filter(partitions))
    return to_warehouse_types(scan.to_arrow())


def to_warehouse_types(data: pa.Table) -> pa.Table:
    """UTC timestamps as naive ``TIMESTAMP`` (the contract), large strings as plain strings."""
    fields = []
    for f in data.schema:
        type_ = f.type
        if pa.types.is_timestamp(type_):
            type_ = pa.timestamp("us")
        elif pa.types.is_large_string(type_):
            type_ = pa.string()
        fields.append(pa.field(f.name, type_, nullable=True))
    return data.cast(pa.schema(fields))


def teams_table() -> pa.Table:
    teams = get_registry().teams()
    return pa.table(
        {
            "team_id": [t.team_id for t in teams],
            "name": [t.name for t in teams],
            "sport": [t.sport for t in teams],
            "competitions": [",".join(t.competitions) for t in teams],
            "country": pa.array([(t.venue or {}).get("country") for t in teams], pa.string()),
        }
    )


def leagues_table() -> pa.Table:
    """Every football-data league as the core names it (``lakehouse.football_data.LEAGUES``)."""
    leagues = list(LEAGUES.values())
    return pa.table(
        {
            "league": [lg.code for lg in leagues],
            "competition": [lg.sport for lg in leagues],
            "competition_name": [lg.competition for lg in leagues],
            "country": [lg.country for lg in leagues],
            "one_file_per_country": [lg.extra for lg in leagues],
        }
    )


def bookmakers_table(unknown: Iterable[tuple[str, str]] = ()) -> pa.Table:
    """Known bookmakers plus ``(code, key)`` pairs of unknown codes the odds hold."""
    rows = [(key, code, title, kind) for code, (key, title, kind) in sorted(BOOKMAKERS.items())]
    rows += [(key, code, code, "unknown") for code, key in sorted(set(unknown)) if code not in BOOKMAKERS]
    return pa.table(
        {
            name: [r[i] for r in rows]
            for i, name in enumerate(("bookmaker", "bookmaker_code", "title", "kind"))
        }
    )


def reference_tables(unknown_bookmakers: Iterable[tuple[str, str]] = ()) -> list[tuple[str, pa.Table]]:
    """The shared core's reference data the marts join to, by raw table name."""
    return [
        ("teams", teams_table()),
        ("bookmakers", bookmakers_table(unknown_bookmakers)),
        ("leagues", leagues_table()),
    ]


# --- the load ------------------------------------------------------------------------------


def load_reference(target: Target) -> dict[str, int]:
    """The reference tables (rows by name), with every history table there, empty if never loaded.

    Both loads call it, so the dbt project builds on a warehouse that holds only live data too.
    """
    for td in HISTORY:
        target.replace(td.name, to_warehouse_types(td.schema.as_arrow().empty_table()), [])
    unknown = target.query(
        f"SELECT DISTINCT bookmaker_code, bookmaker FROM {{schema}}.{FOOTBALL_DATA_ODDS.name} "
        "WHERE bookmaker_kind = 'unknown'"
    )
    loaded = {}
    for name, data in reference_tables(unknown):
        target.replace(name, data, None)
        loaded[name] = data.num_rows
    return loaded


def load_warehouse(
    settings: Settings,
    catalog: Catalog,
    partitions: Sequence[Partition] | None = None,
    *,
    target: Target | None = None,
) -> WarehouseLoad:
    """Copy the history tables' ``partitions`` (all when None) into the configured warehouse."""
    started = time.perf_counter()
    parts = None if partitions is None else tuple(sorted(set(partitions)))
    own = target is None
    target = target or open_target(settings)
    result = WarehouseLoad(target.kind, parts)
    try:
        for td in HISTORY:
            data = read_history(catalog, td.identifier, parts)
            target.replace(td.name, data, parts)
            result.loaded[td.name] = data.num_rows
            result.counted[td.name] = target.count(td.name, parts)
        result.loaded.update(load_reference(target))
        from batch.live_load import ensure_live_tables  # here: live_load builds on this module

        ensure_live_tables(target)
        result.totals = {name: target.count(name) for name in result.loaded}
    finally:
        if own:
            target.close()
    result.seconds = round(time.perf_counter() - started, 3)
    log.info("warehouse loaded", kind=result.kind, loaded=result.loaded, totals=result.totals)
    return result


def open_target(settings: Settings, **kwargs: Any) -> Target:
    if settings.warehouse.kind == "snowflake":
        return SnowflakeTarget(settings, **kwargs)
    return DuckDBTarget(
        settings.duckdb_path,
        settings.warehouse.raw_schema,
        lock_timeout_s=settings.warehouse.duckdb_lock_timeout_s,
    )


def _partition_values(partitions: Sequence[KeyValues]) -> str:
    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    return ", ".join("(" + ", ".join(quote(v) for v in values) + ")" for values in partitions)


def partition_predicate(partitions: Sequence[KeyValues], keys: Sequence[str], upper: bool = False) -> str:
    """``(k1, k2) IN (('a', 'b'), ...)``: the rows of exactly these partitions."""
    columns = ", ".join(k.upper() if upper else k for k in keys)
    return f"({columns}) IN ({_partition_values(partitions)})"


# --- DuckDB --------------------------------------------------------------------------------


def connect_duckdb(path: Path, lock_timeout_s: float) -> Any:
    """A read-write connection, waiting while another process holds the file's lock.

    DuckDB lets one process write a file at a time; two backfills (or a backfill and dbt)
    started together used to fail one of them at once.
    """
    import duckdb
    from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential

    def locked(exc: BaseException) -> bool:
        return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()

    @retry(
        retry=retry_if_exception(locked),
        stop=stop_after_delay(lock_timeout_s),
        wait=wait_exponential(multiplier=0.2, max=5),
        before_sleep=lambda state: log.info(
            "warehouse file locked, waiting", path=str(path), attempt=state.attempt_number
        ),
        reraise=True,
    )
    def connect() -> Any:
        return duckdb.connect(str(path))

    try:
        return connect()
    except duckdb.IOException as exc:
        if not locked(exc):
            raise
        raise WarehouseUnavailable(
            f"the warehouse file {path} stayed locked by another process for {lock_timeout_s:.0f} s "
            "(a backfill or dbt still running?); nothing was loaded into it, run again once it is free"
        ) from None


class DuckDBTarget:
    """The embedded warehouse: one DuckDB file, schema ``raw``."""

    kind = "duckdb"

    def __init__(self, path: Path, schema: str = "raw", lock_timeout_s: float = 600.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.schema = path, schema
        self.con = connect_duckdb(path, lock_timeout_s)
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")

    def replace(
        self,
        table: str,
        data: pa.Table,
        partitions: Sequence[KeyValues] | None,
        keys: Sequence[str] = SEASON_KEYS,
    ) -> None:
        name = f"{self.schema}.{table}"
        self.con.register("incoming", data)
        try:
            self.con.execute("BEGIN TRANSACTION")
            if partitions is None:
                self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
            else:
                self.con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM incoming LIMIT 0")
                if partitions:
                    self.con.execute(f"DELETE FROM {name} WHERE {partition_predicate(partitions, keys)}")
                self.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.con.unregister("incoming")

    def count(
        self, table: str, partitions: Sequence[KeyValues] | None = None, keys: Sequence[str] = SEASON_KEYS
    ) -> int:
        where = f" WHERE {partition_predicate(partitions, keys)}" if partitions else ""
        row = self.con.execute(f"SELECT count(*) FROM {self.schema}.{table}{where}").fetchone()
        return int(row[0]) if row else 0

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql.format(schema=self.schema)).fetchall()

    def close(self) -> None:
        self.con.close()


# --- Snowflake -----------------------------------------------------------------------------


_SNOWFLAKE_TYPES: list[tuple[Callable[[pa.DataType], bool], str]] = [
    (pa.types.is_string, "VARCHAR"),
    (pa.types.is_large_string, "VARCHAR"),
    (pa.types.is_int32, "INTEGER"),
    (pa.types.is_int64, "BIGINT"),
    (pa.types.is_floating, "DOUBLE"),
    (pa.types.is_date32, "DATE"),
    (pa.types.is_timestamp, "TIMESTAMP_NTZ"),
    (pa.types.is_boolean, "BOOLEAN"),
]


def snowflake_type(type_: pa.DataType) -> str:
    for test, name in _SNOWFLAKE_TYPES:
        if test(type_):
            return name
    raise TypeError(f"no Snowflake type for Arrow {type_}")


class WarehouseUnavailable(RuntimeError):
    """The warehouse could not be reached or opened; the load changed nothing there."""


class WarehouseTimeout(TimeoutError):
    """A warehouse call did not answer in time (a failing server can leave the connector retrying)."""


def call_with_timeout(fn: Callable[[], T], timeout_s: float, what: str) -> T:
    """Run ``fn`` in a daemon thread and give up after ``timeout_s``; never hangs the caller."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"warehouse: {what[:40]}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise WarehouseTimeout(f"{what} did not answer within {timeout_s:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class SnowflakeTarget:
    """Snowflake (or an emulator at ``warehouse.snowflake_host``): PUT Parquet, then COPY INTO.

    Each statement runs under ``timeout_s``; the password comes only from
    ``LAKEHOUSE_SNOWFLAKE_PASSWORD``. The database must exist; the schema is created if missing.
    """

    kind = "snowflake"

    def __init__(self, settings: Settings, *, timeout_s: float = 300.0) -> None:
        import snowflake.connector

        wh = settings.warehouse
        kwargs = settings.snowflake_connection(timeout_s, "load") | {"autocommit": False}
        self.timeout_s = timeout_s
        self.schema = wh.raw_schema.upper()
        self.conn = call_with_timeout(
            lambda: snowflake.connector.connect(**kwargs), timeout_s, "Snowflake login"
        )
        self.cursor = self.conn.cursor()
        self._execute(f"USE DATABASE {wh.snowflake_database}")
        self._execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
        self._execute(f"USE SCHEMA {self.schema}")
        self._scratch = Path(tempfile.mkdtemp(prefix="lakehouse-snowflake-"))

    def _execute(self, sql: str) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            self.cursor.execute(sql)
            return self.cursor.fetchall()

        return call_with_timeout(run, self.timeout_s, sql.split("\n", 1)[0][:80])

    def replace(
        self,
        table: str,
        data: pa.Table,
        partitions: Sequence[KeyValues] | None,
        keys: Sequence[str] = SEASON_KEYS,
    ) -> None:
        name = f"{self.schema}.{table.upper()}"
        columns = ", ".join(f"{f.name.upper()} {snowflake_type(f.type)}" for f in data.schema)
        self._execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
        # A fresh temporary stage per load: no file of an earlier, failed load can be copied twice.
        stage = f"LAKEHOUSE_LOAD_{table.upper()}_{uuid.uuid4().hex[:8].upper()}"
        self._execute(f"CREATE OR REPLACE TEMPORARY STAGE {stage}")
        if data.num_rows:
            path = self._scratch / f"{table}.parquet"
            pq.write_table(data, path, compression="zstd")
            self._execute(f"PUT '{path.as_uri()}' @{stage} AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
        try:  # DELETE + COPY commit together: readers never see a season half loaded
            if partitions is None:
                self._execute(f"DELETE FROM {name}")
            elif partitions:
                self._execute(f"DELETE FROM {name} WHERE {partition_predicate(partitions, keys, upper=True)}")
            if data.num_rows:
                self._execute(
                    f"COPY INTO {name} FROM @{stage} FILE_FORMAT = (TYPE = PARQUET) "
                    "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"
                )
            call_with_timeout(self.conn.commit, self.timeout_s, "COMMIT")
        except BaseException:
            call_with_timeout(self.conn.rollback, self.timeout_s, "ROLLBACK")
            raise

    def count(
        self, table: str, partitions: Sequence[KeyValues] | None = None, keys: Sequence[str] = SEASON_KEYS
    ) -> int:
        where = f" WHERE {partition_predicate(partitions, keys, upper=True)}" if partitions else ""
        rows = self._execute(f"SELECT COUNT(*) FROM {self.schema}.{table.upper()}{where}")
        return int(rows[0][0])

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self._execute(sql.format(schema=self.schema))

    def close(self) -> None:
        try:
            call_with_timeout(self.conn.close, self.timeout_s, "Snowflake close")
        finally:
            for path in self._scratch.glob("*"):
                path.unlink(missing_ok=True)
            self._scratch.rmdir()
