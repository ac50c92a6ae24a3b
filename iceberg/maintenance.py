"""Table maintenance for streaming tables, through Iceberg's Spark procedures.

Every micro-batch commits a snapshot with a few small files, so a streaming table left
alone grows files, manifests and snapshots without bound and reads slow down.  ``maintain``
runs, in this order:

1. ``rewrite_data_files``: compact small files into target-sized ones (binpack);
2. ``rewrite_manifests``: merge the many one-entry manifests the commits left;
3. ``expire_snapshots``: drop old snapshots and delete the files only they referenced
   (which is what frees the storage compaction replaced);
4. ``remove_orphan_files``: delete files no snapshot references (failed writes), but only
   files older than a safe margin: a streaming commit in flight has written files that no
   snapshot references *yet*, and deleting them corrupts the commit.

All four are safe to run while streaming appends continue (appends never conflict with a
rewrite).  Expiring snapshots does cut time travel and incremental reads older than
``expire_older_than``, so keep it longer than any downstream stream's lag.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from iceberg.tables import TABLES
from lakehouse.config import Settings
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = get_logger(__name__)

MIN_ORPHAN_AGE = timedelta(hours=1)
"""Never treat younger files as orphans: they may belong to a commit still in progress."""

_ORPHAN_SAMPLE = 100


@dataclass(frozen=True)
class TableState:
    """What maintenance changes, read from the table's metadata tables."""

    snapshots: int
    data_files: int  # in the current snapshot
    delete_files: int  # in the current snapshot
    data_bytes: int
    records: int
    manifests: int  # of the current snapshot
    reachable_files: int  # data and delete files referenced by any snapshot: what storage holds


@dataclass
class MaintenanceReport:
    """Before/after state and each procedure's result row (``dry_run``: the plan only)."""

    identifier: str
    before: TableState
    after: TableState
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class MaintenanceError(RuntimeError):
    """Some tables failed in ``maintain_all``; the others' reports are kept."""

    def __init__(self, failures: dict[str, BaseException], reports: dict[str, MaintenanceReport]) -> None:
        super().__init__(f"maintenance failed for {sorted(failures)}: {failures}")
        self.failures = failures
        self.reports = reports


def maintain(
    spark: SparkSession,
    identifier: str,
    *,
    catalog_name: str,
    target_file_size_bytes: int = 128 * 1024 * 1024,
    min_input_files: int = 5,
    expire_older_than: timedelta = timedelta(days=1),
    retain_last: int = 20,
    orphan_older_than: timedelta = timedelta(days=3),
    strategy: Literal["binpack", "sort"] = "binpack",
    prefix_listing: bool | None = None,
    rewrite_options: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> MaintenanceReport:
    """Compact, rewrite manifests, expire snapshots and remove orphans of one table.

    ``identifier`` is the pyiceberg one (``silver.odds_quotes``); ``catalog_name`` the Spark
    catalog it lives in.  ``prefix_listing`` lists orphan candidates through the table's
    FileIO rather than a Hadoop file system, which object stores lack here (S3 fails with "No
    FileSystem for scheme s3"); None picks it from the table's location.  ``dry_run`` changes nothing:
    it records the statements and lists orphan candidates only.
    """
    if orphan_older_than < MIN_ORPHAN_AGE:
        raise ValueError(
            f"orphan_older_than={orphan_older_than} is unsafe: files of in-flight commits look like "
            f"orphans; use at least {MIN_ORPHAN_AGE}"
        )
    if expire_older_than < timedelta(0) or retain_last < 1 or min_input_files < 1:
        raise ValueError("expire_older_than must be >= 0, retain_last and min_input_files >= 1")

    started = time.monotonic()
    table = f"{_quote(catalog_name)}.{'.'.join(_quote(p) for p in identifier.split('.'))}"
    arg = _sql_string(identifier)
    system = f"{_quote(catalog_name)}.system"
    options = {
        "min-input-files": str(min_input_files),
        "target-file-size-bytes": str(target_file_size_bytes),
        **(rewrite_options or {}),
    }
    option_map = ", ".join(f"{_sql_string(k)}, {_sql_string(v)}" for k, v in options.items())
    if prefix_listing is None:
        prefix_listing = not _location(spark, table).startswith(("file:", "/", "hdfs:"))
    orphan_flags = (
        f"{', prefix_listing => true' if prefix_listing else ''}{', dry_run => true' if dry_run else ''}"
    )
    # Built when each runs, so cut-offs count back from that moment: with expire_older_than=0
    # the snapshots the compaction itself just made are expired too.
    plan: dict[str, Callable[[], str]] = {
        "rewrite_data_files": lambda: (
            f"CALL {system}.rewrite_data_files(table => {arg}, "
            f"strategy => {_sql_string(strategy)}, options => map({option_map}))"
        ),
        "rewrite_manifests": lambda: f"CALL {system}.rewrite_manifests(table => {arg})",
        "expire_snapshots": lambda: (
            f"CALL {system}.expire_snapshots(table => {arg}, "
            f"older_than => {_ago(expire_older_than)}, retain_last => {retain_last})"
        ),
        "remove_orphan_files": lambda: (
            f"CALL {system}.remove_orphan_files(table => {arg}, "
            f"older_than => {_ago(orphan_older_than)}{orphan_flags})"
        ),
    }

    before = table_state(spark, table)
    report = MaintenanceReport(identifier, before, before, dry_run=dry_run)
    for procedure, statement in plan.items():
        sql = statement()
        report.statements.append(sql)
        if dry_run and procedure != "remove_orphan_files":  # the only one with a dry-run mode
            continue
        rows = spark.sql(sql).collect()
        report.results[procedure] = _result(procedure, rows)
        log.info("maintenance step", table=identifier, procedure=procedure, **report.results[procedure])
    if not dry_run:
        report.after = table_state(spark, table)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def maintain_all(
    spark: SparkSession,
    settings: Settings,
    identifiers: Iterable[str] | None = None,
    **overrides: Any,
) -> dict[str, MaintenanceReport]:
    """Maintain every defined table that exists, with each table's own expiry properties.

    Snapshot age and count to keep come from the definition's ``history.expire.*``
    properties, so the table definition is the one place retention is set; ``overrides``
    (``maintain``'s keyword arguments) apply to every table.  A failing table does not stop
    the others; the failures are raised together at the end.
    """
    catalog = settings.catalog.name
    reports: dict[str, MaintenanceReport] = {}
    failures: dict[str, BaseException] = {}
    for identifier in identifiers if identifiers is not None else TABLES:
        if not spark.catalog.tableExists(f"{catalog}.{identifier}"):
            log.info("maintenance skipped: no such table", table=identifier)
            continue
        props = TABLES[identifier].properties if identifier in TABLES else {}
        kwargs: dict[str, Any] = {}
        if "history.expire.max-snapshot-age-ms" in props:
            kwargs["expire_older_than"] = timedelta(
                milliseconds=int(props["history.expire.max-snapshot-age-ms"])
            )
        if "history.expire.min-snapshots-to-keep" in props:
            kwargs["retain_last"] = int(props["history.expire.min-snapshots-to-keep"])
        if "write.target-file-size-bytes" in props:
            kwargs["target_file_size_bytes"] = int(props["write.target-file-size-bytes"])
        try:
            reports[identifier] = maintain(spark, identifier, catalog_name=catalog, **(kwargs | overrides))
        except Exception as exc:  # keep going: one broken table must not starve the rest
            log.exception("maintenance failed", table=identifier)
            failures[identifier] = exc
    if failures:
        raise MaintenanceError(failures, reports)
    return reports


def table_state(spark: SparkSession, table: str) -> TableState:
    """One query over the metadata tables; ``table`` is the Spark name (with the catalog)."""
    row = spark.sql(
        f"""SELECT
              (SELECT count(*) FROM {table}.snapshots) AS snapshots,
              (SELECT count(*) FROM {table}.data_files) AS data_files,
              (SELECT count(*) FROM {table}.delete_files) AS delete_files,
              (SELECT coalesce(sum(file_size_in_bytes), 0) FROM {table}.data_files) AS data_bytes,
              (SELECT coalesce(sum(record_count), 0) FROM {table}.data_files) AS records,
              (SELECT count(*) FROM {table}.manifests) AS manifests,
              (SELECT count(DISTINCT file_path) FROM {table}.all_files) AS reachable_files"""
    ).first()
    assert row is not None
    return TableState(**{k: int(v) for k, v in row.asDict().items()})


def _location(spark: SparkSession, table: str) -> str:
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {table}").collect()
    return next((r["data_type"] for r in rows if r["col_name"] == "Location"), "")


def _result(procedure: str, rows: list[Any]) -> dict[str, Any]:
    if procedure == "remove_orphan_files":  # one row per file: report a count and a sample
        paths = [r["orphan_file_location"] for r in rows]
        return {"orphan_files_count": len(paths), "orphan_files_sample": paths[:_ORPHAN_SAMPLE]}
    return rows[0].asDict() if rows else {}


def _ago(age: timedelta) -> str:
    """A Spark timestamp literal ``age`` before now, with an explicit offset (any session time zone)."""
    return f"TIMESTAMP '{(datetime.now(UTC) - age).strftime('%Y-%m-%d %H:%M:%S.%f')}Z'"


def _quote(part: str) -> str:
    return "`" + part.replace("`", "``") + "`"


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
