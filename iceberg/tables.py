"""Every lakehouse table, defined once as code, and created or evolved idempotently.

Schemas are derived from the shared record definitions (``lakehouse.schemas``): silver from
the feed events plus Kafka lineage columns, gold from the aggregate types.  Only bronze and
the two silver side tables (dead letters, late events) are written out here, because no
record definition describes them.

``ensure_tables`` is safe to run at every job start: it creates what is missing and only
ever makes *compatible* changes to what exists (new optional columns, type widening,
docs, properties), so old data files stay readable without a rewrite.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError, ValidationError
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder
from pyiceberg.transforms import IdentityTransform, UnknownTransform, parse_transform
from pyiceberg.types import (
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)

from lakehouse.log import get_logger
from lakehouse.schemas import AGGREGATE_TYPES, EVENT_TYPES, AggregateType, iceberg_schema

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

log = get_logger(__name__)

Outcome = Literal["created", "evolved", "unchanged"]

_DAY_MS = 24 * 60 * 60 * 1000

STREAMING_PROPERTIES: dict[str, str] = {
    "format-version": "2",
    "write.target-file-size-bytes": str(128 * 1024 * 1024),
    "write.parquet.compression-codec": "zstd",
    # Every micro-batch commits a metadata.json; keep a bounded trail instead of thousands.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "50",
    # Batch writes (MERGE, compaction) cluster rows by partition; streaming appends skip the
    # per-task sort and keep one open file per partition instead (fanout).
    "write.distribution-mode": "hash",
    "write.spark.fanout.enabled": "true",
    # Defaults for expire_snapshots when it is called without arguments (maintenance passes them).
    "history.expire.max-snapshot-age-ms": str(_DAY_MS),
    "history.expire.min-snapshots-to-keep": "20",
}
"""Iceberg's streaming guidance: every micro-batch is a commit, so bound metadata growth."""

UPSERT_PROPERTIES: dict[str, str] = {
    "write.merge.mode": "merge-on-read",
    "write.update.mode": "merge-on-read",
    "write.delete.mode": "merge-on-read",
}
"""For tables MERGEd every micro-batch: write small delete files instead of rewriting data files."""

_NOT_A_PROPERTY = frozenset({"format-version"})
"""Table metadata fields accepted as create-time properties but not stored as properties."""


@dataclass(frozen=True)
class TableDef:
    """One Iceberg table: schema, partitioning, sort order and properties.

    ``partition`` holds ``(source column, transform, partition field name)``, transforms as
    Iceberg spells them (``identity``, ``day``, ``hour``, ``bucket[16]``...); ``sort`` holds
    ``(column, "asc" | "desc")``.  ``doc`` becomes the table ``comment``.
    """

    namespace: str
    name: str
    schema: Schema
    partition: tuple[tuple[str, str, str], ...] = ()
    sort: tuple[tuple[str, Literal["asc", "desc"]], ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""

    def __post_init__(self) -> None:
        # Fail at import time, not at the first job start, when a definition is inconsistent.
        self.partition_spec()
        self.sort_order()

    @property
    def identifier(self) -> str:
        """The pyiceberg identifier (Spark prefixes the catalog name)."""
        return f"{self.namespace}.{self.name}"

    @property
    def table_properties(self) -> dict[str, str]:
        return {**self.properties, **({"comment": self.doc} if self.doc else {})}

    def partition_spec(self) -> PartitionSpec:
        fields = []
        for field_id, (column, transform, name) in enumerate(self.partition, start=1000):
            parsed = parse_transform(transform)
            if isinstance(parsed, UnknownTransform):
                raise ValueError(f"{self.identifier}: unknown partition transform {transform!r}")
            source = self._column(column)
            if not parsed.can_transform(source.field_type):
                raise ValueError(f"{self.identifier}: cannot apply {transform} to {column}")
            fields.append(PartitionField(source.field_id, field_id, parsed, name))
        return PartitionSpec(*fields)

    def sort_order(self) -> SortOrder:
        fields = []
        for column, direction in self.sort:
            if direction not in ("asc", "desc"):
                raise ValueError(f"{self.identifier}: sort direction must be asc or desc, not {direction!r}")
            asc = direction == "asc"
            fields.append(
                SortField(
                    source_id=self._column(column).field_id,
                    transform=IdentityTransform(),
                    direction=SortDirection.ASC if asc else SortDirection.DESC,
                    # Iceberg's (and Spark's) default null placement for each direction.
                    null_order=NullOrder.NULLS_FIRST if asc else NullOrder.NULLS_LAST,
                )
            )
        return SortOrder(*fields) if fields else SortOrder(order_id=0)

    def _column(self, name: str) -> NestedField:
        try:
            return self.schema.find_field(name)
        except ValueError:
            raise ValueError(f"{self.identifier}: no column {name!r}") from None


# --- schema building ---------------------------------------------------------------------

Column = tuple[str, IcebergType, bool, str]  # name, type, required, doc


def _schema(*columns: Column, after: Schema | None = None) -> Schema:
    """``after``'s fields followed by ``columns``, the new ones numbered past its highest id.

    Appending with fresh ids is exactly an additive Iceberg evolution of ``after``.
    """
    base = after.fields if after is not None else ()
    ids = itertools.count((after.highest_field_id if after is not None else 0) + 1)
    new = [
        NestedField(next(ids), name, _with_ids(type_, ids), required=req, doc=doc)
        for name, type_, req, doc in columns
    ]
    return Schema(*base, *new)


def _with_ids(type_: IcebergType, ids: Iterator[int]) -> IcebergType:
    """Give a map's key and value the next free ids (primitives need none)."""
    if isinstance(type_, MapType):
        return MapType(next(ids), type_.key_type, next(ids), type_.value_type, value_required=False)
    return type_


def _string_map() -> MapType:
    return MapType(0, StringType(), 0, StringType(), value_required=False)  # ids set by _with_ids


_LINEAGE: tuple[Column, ...] = (
    ("kafka_topic", StringType(), False, "Kafka topic the record was read from."),
    ("kafka_partition", IntegerType(), False, "Kafka partition the record was read from."),
    ("kafka_offset", LongType(), False, "Kafka offset: with topic and partition, the record's address."),
)
_PROCESSED_AT: Column = ("processed_at", TimestamptzType(), False, "When the stream wrote the row.")

SILVER_FEED_TABLES: dict[str, str] = {
    "odds": "odds_quotes",
    "games": "games",
    "weather": "weather",
    "news": "news",
}
"""Feed (event type name) -> silver table name."""


def _silver(feed: str, table: str) -> TableDef:
    event = EVENT_TYPES[feed]
    schema = _schema(*_LINEAGE, _PROCESSED_AT, after=iceberg_schema(event))
    names = {f.name for f in schema.fields}
    return TableDef(
        "silver",
        table,
        schema,
        partition=(("event_time", "day", "event_time_day"), ("sport", "identity", "sport")),
        sort=(*((("game_id", "asc"),) if "game_id" in names else ()), ("event_time", "asc")),
        properties=STREAMING_PROPERTIES,
        doc=f"{event.doc} Validated and de-duplicated by event_id, with the Kafka record it came from.",
    )


def _first_timestamp(agg: AggregateType) -> str:
    """The aggregate's main time: its first required timestamp (the window or the observation).

    A rule rather than a list, so a new aggregate type gets a gold table without an edit here.
    """
    schema = iceberg_schema(agg)
    for f in schema.fields:
        if f.required and isinstance(f.field_type, TimestamptzType):
            return f.name
    raise ValueError(f"aggregate {agg.name} has no required timestamp to partition by")


def _gold(agg: AggregateType) -> TableDef:
    ts = _first_timestamp(agg)
    upserted = agg.name == "market_prices_live"  # MERGEd on its key each micro-batch
    return TableDef(
        "gold",
        agg.name,
        iceberg_schema(agg),
        partition=((ts, "day", f"{ts}_day"),),
        sort=tuple((column, "asc") for column in agg.key),
        properties={**STREAMING_PROPERTIES, **(UPSERT_PROPERTIES if upserted else {})},
        doc=agg.doc,
    )


BRONZE_KAFKA_RECORDS = TableDef(
    "bronze",
    "kafka_records",
    _schema(
        ("topic", StringType(), True, "Kafka topic."),
        ("partition", IntegerType(), True, "Kafka partition."),
        ("offset", LongType(), True, "Kafka offset within the partition."),
        ("key", StringType(), False, "Message key as UTF-8 (producers key by canonical game id)."),
        ("value", StringType(), False, "Message value as UTF-8: the JSON record exactly as produced."),
        ("headers", _string_map(), False, "Message headers, values decoded as UTF-8."),
        ("kafka_timestamp", TimestamptzType(), True, "The record's Kafka timestamp (producer create time)."),
        ("ingested_at", TimestamptzType(), True, "When the bronze stream wrote the row."),
    ),
    partition=(("kafka_timestamp", "day", "kafka_timestamp_day"), ("topic", "identity", "topic")),
    sort=(("topic", "asc"), ("partition", "asc"), ("offset", "asc")),
    properties=STREAMING_PROPERTIES,
    doc="Every Kafka record of every feed as it arrived, append-only: the replayable raw layer.",
)

SILVER_DEAD_LETTERS = TableDef(
    "silver",
    "dead_letters",
    _schema(
        ("stage", StringType(), True, "Stage that rejected the record: silver or aggregates."),
        ("feed", StringType(), False, "Feed (event type) the record was read as."),
        ("reason", StringType(), True, "Why it was rejected (the first validation error)."),
        ("raw_value", StringType(), False, "The record exactly as read, for inspection and replay."),
        *_LINEAGE,
        ("kafka_timestamp", TimestamptzType(), False, "The record's Kafka timestamp."),
        ("failed_at", TimestamptzType(), True, "When the stream rejected it."),
    ),
    partition=(("failed_at", "day", "failed_at_day"), ("feed", "identity", "feed")),
    sort=(("kafka_topic", "asc"), ("kafka_partition", "asc"), ("kafka_offset", "asc")),
    properties=STREAMING_PROPERTIES,
    doc="Records that failed parsing or validation, with the reason and the raw value.",
)

SILVER_LATE_EVENTS = TableDef(
    "silver",
    "late_events",
    _schema(
        ("feed", StringType(), True, "Feed (event type) of the record."),
        ("event_id", StringType(), False, "The record's event_id."),
        ("event_time", TimestamptzType(), False, "The record's event_time."),
        ("watermark", TimestamptzType(), False, "The (feed, source) watermark it arrived behind."),
        ("lateness_s", DoubleType(), False, "watermark - event_time, in seconds."),
        ("raw_value", StringType(), False, "The record exactly as read, for backfill."),
        *_LINEAGE,
        ("received_at", TimestamptzType(), True, "When the stream diverted it."),
    ),
    partition=(("received_at", "day", "received_at_day"),),
    sort=(("feed", "asc"), ("event_time", "asc")),
    properties=STREAMING_PROPERTIES,
    doc="Valid records that arrived behind their watermark, kept out of silver but not lost.",
)

SILVER_FEEDS: dict[str, TableDef] = {feed: _silver(feed, table) for feed, table in SILVER_FEED_TABLES.items()}
"""Feed (event type name) -> its silver table."""

GOLD_TABLES: dict[str, TableDef] = {agg.name: _gold(agg) for agg in AGGREGATE_TYPES.values()}
"""Aggregate type name -> its gold table."""

TABLES: dict[str, TableDef] = {
    t.identifier: t
    for t in (
        BRONZE_KAFKA_RECORDS,
        *SILVER_FEEDS.values(),
        SILVER_DEAD_LETTERS,
        SILVER_LATE_EVENTS,
        *GOLD_TABLES.values(),
    )
}
"""Every table of the lakehouse, keyed by pyiceberg identifier (``namespace.name``)."""


# --- create and evolve -------------------------------------------------------------------


class SchemaEvolutionError(ValueError):
    """A definition differs from its table in a way Iceberg cannot apply without breaking data."""


def ensure_tables(
    catalog: Catalog,
    identifiers: Iterable[str] | None = None,
    *,
    tables: Mapping[str, TableDef] | None = None,
) -> dict[str, Outcome]:
    """Create missing namespaces and tables, evolve existing ones; idempotent.

    ``tables`` defaults to ``TABLES``; pass other definitions (e.g. in a scratch namespace)
    to manage those instead.  Returns ``created`` | ``evolved`` | ``unchanged`` per table.
    """
    defs = TABLES if tables is None else tables
    wanted = list(defs) if identifiers is None else list(identifiers)
    unknown = [i for i in wanted if i not in defs]
    if unknown:
        raise KeyError(f"no table definition for {unknown} (known: {', '.join(sorted(defs))})")
    for namespace in sorted({defs[i].namespace for i in wanted}):
        _ensure_namespace(catalog, namespace)
    outcome: dict[str, Outcome] = {}
    for identifier in wanted:
        outcome[identifier] = _ensure(catalog, defs[identifier])
        log.info("table ensured", table=identifier, outcome=outcome[identifier])
    return outcome


def _ensure_namespace(catalog: Catalog, namespace: str) -> None:
    """Create the namespace unless it exists.  pyiceberg's SQL catalog checks, then inserts: of two
    jobs creating it at once (two backfills on a fresh lake), the second fails on the unique
    key (sqlalchemy's IntegrityError, not NamespaceAlreadyExistsError); the namespace is there."""
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception:
        if not catalog.namespace_exists(namespace):
            raise
        log.info("namespace created by another job meanwhile", namespace=namespace)


def _ensure(catalog: Catalog, td: TableDef) -> Outcome:
    try:
        table = catalog.load_table(td.identifier)
    except NoSuchTableError:
        try:
            catalog.create_table(
                td.identifier,
                schema=td.schema,
                partition_spec=td.partition_spec(),
                sort_order=td.sort_order(),
                properties=dict(td.table_properties),  # pyiceberg pops format-version from it
            )
            return "created"
        except TableAlreadyExistsError:  # another job created it since we looked
            table = catalog.load_table(td.identifier)
    return "evolved" if _evolve(table, td) else "unchanged"


def _evolve(table: Table, td: TableDef) -> bool:
    """Apply the compatible differences between ``td`` and ``table`` in one commit."""
    missing_required = _missing_required(td.schema.as_struct(), table.schema().as_struct())
    if missing_required:
        raise SchemaEvolutionError(
            f"{td.identifier}: cannot add required column(s) {missing_required} to an existing table "
            "(old rows have no value); add them as optional"
        )
    _warn_layout_drift(table, td)
    before = table.metadata_location
    wanted = td.table_properties
    version = int(wanted.get("format-version", table.format_version))
    changed = {k: v for k, v in wanted.items() if k not in _NOT_A_PROPERTY and table.properties.get(k) != v}
    with table.transaction() as tx:
        if version > table.format_version:
            tx.upgrade_table_version(version)  # type: ignore[arg-type]  # typed Literal[1, 2, 3]; checked above
        # union_by_name adds missing (optional) columns with fresh ids, widens types, relaxes
        # required -> optional and updates docs; it never tightens optional -> required.
        try:
            with tx.update_schema() as update:
                update.union_by_name(td.schema)
        except (ValueError, ValidationError) as exc:  # e.g. string -> int: no Iceberg promotion
            raise SchemaEvolutionError(f"{td.identifier}: {exc}") from exc
        if changed:
            tx.set_properties(changed)
    # Properties the definition no longer names are left alone: operators may have tuned them.
    return table.metadata_location != before


def _missing_required(wanted: StructType, existing: StructType, prefix: str = "") -> list[str]:
    out = []
    for f in wanted.fields:
        have = existing.field_by_name(f.name)
        if have is None:
            if f.required:
                out.append(prefix + f.name)
        elif isinstance(f.field_type, StructType) and isinstance(have.field_type, StructType):
            out += _missing_required(f.field_type, have.field_type, f"{prefix}{f.name}.")
    return out


def _warn_layout_drift(table: Table, td: TableDef) -> None:
    """Partitioning and sort order are not evolved automatically: on a live streaming table
    that is an operator's decision (it changes file layout for every writer), so only report it."""
    schema = table.schema()

    def names(spec: PartitionSpec) -> list[tuple[str, str, str]]:
        return [(schema.find_column_name(f.source_id) or "?", str(f.transform), f.name) for f in spec.fields]

    if names(table.spec()) != [(c, str(parse_transform(t)), n) for c, t, n in td.partition]:
        log.warning("partition spec differs from definition", table=td.identifier)
    sort = [(schema.find_column_name(f.source_id), f.direction.value) for f in table.sort_order().fields]
    if sort != list(td.sort):
        log.warning("sort order differs from definition", table=td.identifier)
