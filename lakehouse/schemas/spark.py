"""Derive a Spark ``StructType`` from an event type, for parsing Kafka JSON in streaming jobs.

pyspark is imported inside the function so producers can import the schemas
without pulling in pyspark (and without a JVM). Building a StructType needs no
SparkSession. Docs travel as the ``comment`` metadata Spark shows for columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.schemas.events import RecordType
from lakehouse.schemas.fields import (
    BOOLEAN,
    DATE,
    DOUBLE,
    INT,
    LONG,
    STRING,
    TIMESTAMP,
    Field,
    FieldType,
    ListOf,
    Primitive,
    StructOf,
)

if TYPE_CHECKING:
    from pyspark.sql.types import DataType, StructType


def spark_schema(event_type: RecordType) -> StructType:
    """The Spark schema of ``event_type``; nullable exactly where the field is optional."""
    return _struct(event_type.fields)


def _struct(fields: tuple[Field, ...]) -> StructType:
    from pyspark.sql.types import StructField, StructType

    return StructType(
        [
            StructField(f.name, _type(f.type), nullable=not f.required, metadata={"comment": f.doc})
            for f in fields
        ]
    )


def _type(type_: FieldType) -> DataType:
    from pyspark.sql import types as T

    if isinstance(type_, ListOf):
        return T.ArrayType(_type(type_.element), containsNull=not type_.element_required)
    if isinstance(type_, StructOf):
        return _struct(type_.fields)
    primitives: dict[Primitive, DataType] = {
        STRING: T.StringType(),
        INT: T.IntegerType(),
        LONG: T.LongType(),
        DOUBLE: T.DoubleType(),
        BOOLEAN: T.BooleanType(),
        # TimestampType is an instant (session-time-zone independent), the match for timestamptz.
        TIMESTAMP: T.TimestampType(),
        DATE: T.DateType(),
    }
    return primitives[type_]
