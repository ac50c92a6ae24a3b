"""Derive a Draft 2020-12 JSON Schema from an event type (the wire contract on Kafka).

Objects set ``additionalProperties: false`` so a renamed or misspelt field fails
loudly at the producer instead of silently landing as null in the lakehouse.
Optional fields accept an explicit ``null`` as well as absence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    int_range,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"


_PRIMITIVES: dict[Primitive, dict[str, Any]] = {
    STRING: {"type": "string"},
    INT: {"type": "integer"},
    LONG: {"type": "integer"},
    DOUBLE: {"type": "number"},
    BOOLEAN: {"type": "boolean"},
    TIMESTAMP: {"type": "string", "format": "date-time"},
    DATE: {"type": "string", "format": "date"},
}


def json_schema(event_type: RecordType) -> dict[str, Any]:
    """The JSON Schema a record of ``event_type`` must satisfy."""
    return {
        "$schema": DRAFT,
        "$id": f"urn:lakehouse:event:{event_type.name}:v{event_type.schema_version}",
        "title": event_type.name,
        "description": event_type.doc,
        **_object(event_type.fields),
    }


def _object(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.name: _field(f) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }


def _field(field: Field) -> dict[str, Any]:
    schema = _type(field.type)
    if not field.required:
        schema["type"] = [schema["type"], "null"]
    schema["description"] = field.doc
    if field.enum is not None:
        schema["enum"] = [*field.enum] if field.required else [*field.enum, None]
    if field.pattern is not None:
        schema["pattern"] = field.pattern
    if field.min_length is not None:
        schema["minLength"] = field.min_length
    low, high = int_range(field.type)
    for key, value in (
        ("minimum", _tighter(max, field.minimum, low)),
        ("maximum", _tighter(min, field.maximum, high)),
        ("exclusiveMinimum", field.exclusive_minimum),
        ("exclusiveMaximum", field.exclusive_maximum),
    ):
        if value is not None:
            schema[key] = value
    return schema


def _type(type_: FieldType) -> dict[str, Any]:
    if isinstance(type_, ListOf):
        items = _type(type_.element)
        if not type_.element_required:
            items["type"] = [items["type"], "null"]
        return {"type": "array", "items": items}
    if isinstance(type_, StructOf):
        return _object(type_.fields)
    return dict(_PRIMITIVES[type_])


def _tighter(
    pick: Callable[[float, float], float], declared: float | None, implied: int | None
) -> float | None:
    """Combine a declared bound with the integer width's (int32 overflow is silent in Spark)."""
    if declared is None or implied is None:
        return declared if declared is not None else implied
    return pick(declared, implied)
