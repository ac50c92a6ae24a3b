"""Derive a pyiceberg ``Schema`` from an event type, with deterministic field ids.

Ids are handed out depth-first in declaration order (a list's element id right after
the list field), starting at 1. Appending a field at the end of the record therefore
only adds new ids and never moves an existing one, which is what Iceberg schema
evolution needs. Inserting, reordering, or appending inside a nested struct would
shift later ids — hence the append-only rule in ``events``.

Note that catalogs (including pyiceberg's ``create_table``) re-number ids when a
table is created; once a table exists its metadata owns the ids, so evolve it by
name, e.g. ``table.update_schema().union_by_name(iceberg_schema(event_type))``.

pyiceberg is imported lazily so ``import lakehouse.schemas`` stays light.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
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
    from pyiceberg.schema import Schema
    from pyiceberg.types import IcebergType, NestedField


def iceberg_schema(event_type: RecordType) -> Schema:
    """The Iceberg schema of ``event_type``: required fields are Iceberg-required."""
    from pyiceberg.schema import Schema

    return Schema(*_fields(event_type.fields, itertools.count(1)))


def _fields(fields: tuple[Field, ...], ids: Iterator[int]) -> list[NestedField]:
    from pyiceberg.types import NestedField

    out = []
    for f in fields:
        field_id = next(ids)  # taken before recursing: depth-first pre-order
        out.append(NestedField(field_id, f.name, _type(f.type, ids), required=f.required, doc=f.doc))
    return out


def _type(type_: FieldType, ids: Iterator[int]) -> IcebergType:
    from pyiceberg import types as T

    if isinstance(type_, ListOf):
        element_id = next(ids)
        return T.ListType(element_id, _type(type_.element, ids), element_required=type_.element_required)
    if isinstance(type_, StructOf):
        return T.StructType(*_fields(type_.fields, ids))
    primitives: dict[Primitive, IcebergType] = {
        STRING: T.StringType(),
        INT: T.IntegerType(),
        LONG: T.LongType(),
        DOUBLE: T.DoubleType(),
        BOOLEAN: T.BooleanType(),
        TIMESTAMP: T.TimestamptzType(),  # microsecond precision, UTC-adjusted
        DATE: T.DateType(),
    }
    return primitives[type_]
