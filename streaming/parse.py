"""Kafka JSON values -> typed feed rows plus a dead-letter reason, as Spark column expressions.

The checks are derived from the same field definitions as the JSON Schema the producers
validate against (required, types, enums, bounds, patterns, no unknown fields, known
schema version), so a record the stream accepts is one the shared validator accepts, and a
record it rejects carries a reason in the same words.  Everything stays columnar: no Python
UDF on the hot path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.schemas import EventType, spark_schema
from lakehouse.schemas.fields import DOUBLE, INT, INT_RANGES, LONG, STRING, TIMESTAMP, Field

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

REASON = "_reason"


def _field_checks(field: Field, parsed: Column, keys: Column, value_col: Column) -> list[Column]:
    """(condition -> message) pairs for one field, as `when` columns (null when fine).

    Presence comes from the record's key list; the raw text of a field is extracted only in
    the branch that reports it, so a valid record is parsed once (typed) and tokenised once.
    """
    from pyspark.sql import functions as F

    name = field.name
    checks = []
    raw = F.get_json_object(value_col, f"$.{name}")
    present = F.array_contains(keys, name)
    # `And` short-circuits: the raw text is only pulled out of records whose typed value is null.
    absent_or_null = ~present | (parsed.isNull() & raw.isNull())
    if field.required:
        checks.append(F.when(absent_or_null, F.lit(f"missing required field '{name}'")))
    # Present in the JSON but not readable as the declared type (e.g. "abc" for a price).
    checks.append(
        F.when(
            present & parsed.isNull() & raw.isNotNull(),
            F.format_string(f"{name}: %s is not a {field.type}", raw),
        )
    )
    value = parsed
    if field.enum is not None:
        allowed = list(field.enum)
        checks.append(
            F.when(
                value.isNotNull() & ~value.isin(allowed),
                F.format_string(f"{name}: '%s' is not one of {allowed}", value),
            )
        )
    if field.type in (INT, LONG, DOUBLE):
        low, high = INT_RANGES.get(field.type, (None, None))
        for bound, op, words in (
            (field.minimum, "<", "less than the minimum of"),
            (low, "<", "less than the minimum of"),
            (field.maximum, ">", "greater than the maximum of"),
            (high, ">", "greater than the maximum of"),
            (field.exclusive_minimum, "<=", "less than or equal to the minimum of"),
            (field.exclusive_maximum, ">=", "greater than or equal to the maximum of"),
        ):
            if bound is None:
                continue
            bad = {"<": value < bound, ">": value > bound, "<=": value <= bound, ">=": value >= bound}[op]
            checks.append(
                F.when(value.isNotNull() & bad, F.format_string(f"{name}: %s is {words} {bound}", value))
            )
        if field.type is DOUBLE:
            checks.append(F.when(F.isnan(value), F.lit(f"{name}: NaN is not a finite number")))
    if field.type is STRING:
        if field.min_length is not None:
            checks.append(
                F.when(
                    value.isNotNull() & (F.length(value) < field.min_length),
                    F.lit(f"{name}: '' is too short"),
                )
            )
        if field.pattern is not None:
            checks.append(
                F.when(
                    value.isNotNull() & ~value.rlike(field.pattern),
                    F.format_string(f"{name}: '%s' does not match '{field.pattern}'", value),
                )
            )
    return checks


def parse_feed(df: DataFrame, event_type: EventType, value_col: str = "value") -> DataFrame:
    """Add the feed's typed columns and `_reason` (null for a valid record) to `df`.

    `df[value_col]` is the Kafka value as a string; every other column of `df` is kept.
    """
    from pyspark.sql import functions as F

    value = F.col(value_col)
    schema = spark_schema(event_type)
    # One typed parse per record, plus its top-level key list (to tell a missing field from a
    # mistyped one, and to find unknown fields); a non-object or malformed value has no keys.
    staged = df.withColumn("_r", F.from_json(value, schema)).withColumn("_keys", F.json_object_keys(value))
    known = F.array(*[F.lit(f.name) for f in event_type.fields])
    checks: list[Column] = []
    for field in event_type.fields:
        checks += _field_checks(field, F.col(f"_r.{field.name}"), F.col("_keys"), value)
    unknown = F.array_except(F.col("_keys"), known)
    versions = [int(v) for v in event_type.supported_versions]
    version = F.col("_r.schema_version")
    supported = ", ".join(map(str, versions))
    reason = F.when(F.col("_keys").isNull(), F.lit("record is not a JSON object (malformed JSON)")).otherwise(
        F.coalesce(
            # An unknown version is reported alone: its other checks would only be noise.
            F.when(
                version.isNotNull() & ~version.isin(versions),
                F.format_string(
                    f"unknown schema_version %s for {event_type.name} (supported: {supported})", version
                ),
            ),
            F.nullif(
                F.concat_ws(
                    "; ",
                    F.when(
                        F.size(unknown) > 0, F.concat(F.lit("unknown field(s) "), F.array_join(unknown, ", "))
                    ),
                    *checks,
                ),
                F.lit(""),
            ),
        )
    )
    columns = [F.col(f"_r.{f.name}").alias(f.name) for f in event_type.fields]
    return staged.select(*[c for c in df.columns], *columns, reason.alias(REASON))


def timestamp_fields(event_type: EventType) -> list[str]:
    return [f.name for f in event_type.fields if f.type is TIMESTAMP]
