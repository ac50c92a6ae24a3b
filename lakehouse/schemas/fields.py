"""A tiny typed field DSL: the one place an event's shape is written down.

JSON Schema, Spark and Iceberg schemas are all derived from these objects, so the
three can never drift apart. The DSL is deliberately small: only the types and
constraints the lakehouse needs, each of which has a clear mapping in all three
targets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict, Unpack

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Primitive(StrEnum):
    """Leaf types. Timestamps are UTC instants with microsecond precision."""

    STRING = "string"
    INT = "int"  # 32-bit
    LONG = "long"  # 64-bit
    DOUBLE = "double"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # JSON: RFC 3339 string with an offset; Iceberg: timestamptz
    DATE = "date"  # JSON: "YYYY-MM-DD"


STRING = Primitive.STRING
INT = Primitive.INT
LONG = Primitive.LONG
DOUBLE = Primitive.DOUBLE
BOOLEAN = Primitive.BOOLEAN
TIMESTAMP = Primitive.TIMESTAMP
DATE = Primitive.DATE

NUMERIC = frozenset({INT, LONG, DOUBLE})
TIMESTAMP_RANGE = ("1900-01-01T00:00:00.000000Z", "2200-01-01T00:00:00.000000Z")
"""The instants a record may carry, [low, high) in the canonical spelling.  Every sports time
is well inside; beyond it a typo or a hostile value would overflow window ends, partition
transforms and Druid's time column downstream."""
INT_RANGES: dict[Primitive, tuple[int, int]] = {INT: (-(2**31), 2**31 - 1), LONG: (-(2**63), 2**63 - 1)}
"""The integer widths every target enforces (an int32 overflow is silent in Spark)."""


def timestamp_range_words() -> str:
    """The words every validator uses for a timestamp outside TIMESTAMP_RANGE."""
    return f"is outside the supported range [{TIMESTAMP_RANGE[0][:10]}, {TIMESTAMP_RANGE[1][:10]})"


def int_range(type_: FieldType) -> tuple[int | None, int | None]:
    """The (low, high) an integer type can hold; (None, None) for every other type."""
    return INT_RANGES[type_] if isinstance(type_, Primitive) and type_ in INT_RANGES else (None, None)


@dataclass(frozen=True)
class ListOf:
    """A list; elements are non-null unless ``element_required`` is False."""

    element: FieldType
    element_required: bool = True


@dataclass(frozen=True)
class StructOf:
    """A nested record. Frozen once shipped: new fields go at the end of the top-level record."""

    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        check_unique_names(self.fields)


FieldType = Primitive | ListOf | StructOf


class Constraints(TypedDict, total=False):
    """Optional value constraints; enforced by JSON Schema validation."""

    enum: tuple[str | int, ...]
    minimum: float
    maximum: float
    exclusive_minimum: float
    exclusive_maximum: float
    pattern: str
    min_length: int


@dataclass(frozen=True)
class Field:
    """One named, documented column. ``required`` means present and non-null."""

    name: str
    type: FieldType
    required: bool
    doc: str
    enum: tuple[str | int, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    pattern: str | None = None
    min_length: int | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"field name {self.name!r} must be snake_case")
        if not self.doc.strip():
            raise ValueError(f"field {self.name!r} needs a doc string")
        if self.enum is not None:
            # Normalise StrEnum members to plain values so derived schemas hold only str/int.
            values = tuple(v if isinstance(v, int) else str(v) for v in self.enum)
            object.__setattr__(self, "enum", values)
        bounds = (self.minimum, self.maximum, self.exclusive_minimum, self.exclusive_maximum)
        if any(b is not None for b in bounds) and self.type not in NUMERIC:
            raise ValueError(f"field {self.name!r}: numeric bounds need a numeric type")
        if (self.pattern is not None or self.min_length is not None) and self.type is not STRING:
            raise ValueError(f"field {self.name!r}: pattern/min_length need a string type")
        if self.enum is not None and self.type not in (STRING, INT, LONG):
            raise ValueError(f"field {self.name!r}: enum needs a string or integer type")


def required(name: str, type_: FieldType, doc: str, **constraints: Unpack[Constraints]) -> Field:
    """A field that must be present and non-null."""
    return Field(name, type_, True, doc, **constraints)


def optional(name: str, type_: FieldType, doc: str, **constraints: Unpack[Constraints]) -> Field:
    """A field that may be absent or null."""
    return Field(name, type_, False, doc, **constraints)


def check_unique_names(fields: Iterable[Field]) -> None:
    """Reject duplicate names, which every target would treat differently."""
    seen: set[str] = set()
    for field in fields:
        if field.name in seen:
            raise ValueError(f"duplicate field name {field.name!r}")
        seen.add(field.name)
