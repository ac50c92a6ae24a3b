"""The XML form of the canonical event types, for partners that send XML (``POST /v1/ingest``).

One document holds records of one feed; each ``<record>`` has one child element per field, named
as the field, with its value as text.  A list field holds one ``<item>`` per element, a nested
field its own child elements.  A field left out, or marked ``nil="true"``, is null::

    <records>
      <record>
        <event_id>q-1</event_id>
        <price>2.1</price>
        <point nil="true"/>
        <team_ids><item>eng-arsenal</item></team_ids>
      </record>
    </records>

Text becomes the field's type (numbers, booleans) where it parses; where it does not, the text
is kept, so the shared schema's validation reports the field and the reason, as for JSON.
Parsing is ``defusedxml`` with document type declarations refused: no entity expansion (the
"billion laughs"), no external entity or DTD fetched (XXE).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from lakehouse.schemas.fields import BOOLEAN, DOUBLE, INT, LONG, Field, FieldType, ListOf, StructOf

__all__ = ["XmlRecordsError", "parse_records"]


class XmlRecordsError(ValueError):
    """The document is not well-formed, is unsafe, or is not a ``<records>`` document."""


def parse_records(body: bytes, fields: tuple[Field, ...]) -> list[dict[str, Any]]:
    """The records of a ``<records>`` document, typed by ``fields`` (not yet validated)."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlRecordsError(f"XML refused: {type(exc).__name__} (no DTD or entity is accepted)") from None
    except ParseError as exc:
        raise XmlRecordsError(f"XML is not well-formed: {exc}") from None
    if root.tag != "records":
        raise XmlRecordsError(f"the document element must be <records>, not <{root.tag}>")
    out = []
    for child in root:
        if child.tag != "record":
            raise XmlRecordsError(f"<records> may hold only <record> elements, not <{child.tag}>")
        out.append(_struct(child, fields))
    return out


def _struct(element: Element, fields: tuple[Field, ...]) -> dict[str, Any]:
    by_name = {f.name: f for f in fields}
    record: dict[str, Any] = {}
    for child in element:
        field = by_name.get(child.tag)
        # An unknown element stays in the record, as text: validation names it.
        record[child.tag] = _value(child, field.type) if field else (child.text or "")
    return record


def _value(element: Element, type_: FieldType) -> Any:
    if element.get("nil") == "true":
        return None
    if isinstance(type_, ListOf):
        return [_value(item, type_.element) for item in element if item.tag == "item"]
    if isinstance(type_, StructOf):
        return _struct(element, type_.fields)
    text = (element.text or "").strip()
    try:
        if type_ in (INT, LONG):
            return int(text)
        if type_ == DOUBLE:
            return float(text)
    except ValueError:
        return text
    if type_ == BOOLEAN:
        return {"true": True, "false": False, "1": True, "0": False}.get(text.lower(), text)
    return element.text or ""
