"""Structural rules every generated dashboard must follow, as a list of problems (empty = valid).

The Grafana schema itself is checked by decoding the JSON through the SDK's models (see the
tests); these are the rules the SDK cannot know: every panel reads Druid with SQL, every variable
a query uses exists (and is defined before the variables that use it), ids are unique, the layout
does not overlap, and every query renders to plain SQL with no ``$`` left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dashboards.druid import DATASOURCE_UID, PLUGIN_ID, TABLES
from dashboards.layout import TAG
from dashboards.queries import (
    ALL,
    BUILTINS,
    DashboardSource,
    UnresolvedVariableError,
    load,
    panels,
    references,
    render,
    variable_definitions,
)

GRID_WIDTH = 24
_SAMPLE_FROM = datetime(2024, 3, 27, tzinfo=UTC)
_SAMPLE_TO = datetime(2024, 3, 28, tzinfo=UTC)


def problems(dashboard_json: DashboardSource) -> list[str]:
    """Everything wrong with one dashboard's JSON."""
    dashboard = load(dashboard_json)
    found: list[str] = []
    if not dashboard.get("uid"):
        found.append("dashboard has no uid")
    if TAG not in (dashboard.get("tags") or []):
        found.append(f"dashboard is not tagged {TAG!r}")
    found += _ids(dashboard)
    found += _layout(dashboard)
    found += _variables(dashboard)
    definitions = variable_definitions(dashboard)
    for panel in panels(dashboard):
        found += _panel(panel, dashboard, definitions)
    return found


def _ids(dashboard: Mapping[str, Any]) -> list[str]:
    seen: dict[int, str] = {}
    out = []
    for panel in _all_panels(dashboard):
        pid, title = panel.get("id"), panel.get("title", "?")
        if not isinstance(pid, int):
            out.append(f"panel {title!r} has no numeric id")
        elif pid in seen:
            out.append(f"panel id {pid} used by {seen[pid]!r} and {title!r}")
        else:
            seen[pid] = title
    return out


def _layout(dashboard: Mapping[str, Any]) -> list[str]:
    out = []
    boxes: list[tuple[str, int, int, int, int]] = []
    for panel in _all_panels(dashboard):
        pos = panel.get("gridPos") or {}
        x, y, w, h = (pos.get(k) for k in ("x", "y", "w", "h"))
        title = panel.get("title", "?")
        if not (isinstance(x, int) and isinstance(y, int) and isinstance(w, int) and isinstance(h, int)):
            out.append(f"panel {title!r} has no complete gridPos")
            continue
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > GRID_WIDTH:
            out.append(f"panel {title!r} is off the grid: {pos}")
        for other, ox, oy, ow, oh in boxes:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                out.append(f"panels {other!r} and {title!r} overlap")
        boxes.append((title, x, y, w, h))
    return out


def _variables(dashboard: Mapping[str, Any]) -> list[str]:
    out = []
    defined: set[str] = set()
    definitions = variable_definitions(dashboard)
    for v in definitions.values():
        if v.sql is not None:
            if v.table not in TABLES:
                out.append(f"variable ${v.name} reads unknown Druid datasource {v.table!r}")
            out += _references(f"variable ${v.name}", v.sql, definitions, allowed=defined)
            out += _renders(f"variable ${v.name}", v.sql, dashboard)
        if v.include_all and v.all_value is None:
            out.append(f"variable ${v.name} offers All without a custom all-value (All must mean no filter)")
        defined.add(v.name)
    return out


def _panel(
    panel: Mapping[str, Any], dashboard: Mapping[str, Any], definitions: Mapping[str, Any]
) -> list[str]:
    title = panel.get("title", "?")
    where = f"panel {title!r}"
    out = []
    if not _is_druid(panel.get("datasource")):
        out.append(f"{where} does not use the Druid datasource (uid {DATASOURCE_UID})")
    targets = panel.get("targets") or []
    if not targets:
        out.append(f"{where} has no query")
    for target in targets:
        builder = target.get("builder") or {}
        sql, table = builder.get("query") or "", builder.get("dataSource")
        if not _is_druid(target.get("datasource")):
            out.append(f"{where} target {target.get('refId')} does not use the Druid datasource")
        if builder.get("queryType") != "sql" or not sql.strip():
            out.append(f"{where} target {target.get('refId')} is not a Druid SQL query")
            continue
        if table not in TABLES:
            out.append(f"{where} reads unknown Druid datasource {table!r}")
        elif not re.search(rf"\bFROM\s+{re.escape(table)}\b", sql):
            out.append(f"{where} names datasource {table!r} but does not read FROM it")
        if "${__from}" not in sql or "${__to}" not in sql:
            out.append(f"{where} ignores the dashboard time range")
        out += _references(where, sql, definitions, allowed=None)
        out += _renders(where, sql, dashboard)
    return out


def _references(where: str, sql: str, definitions: Mapping[str, Any], allowed: set[str] | None) -> list[str]:
    out = []
    for name, fmt in references(sql):
        if name in BUILTINS:
            continue
        if name not in definitions:
            out.append(f"{where} uses undefined variable ${name}")
        elif allowed is not None and name not in allowed:
            out.append(f"{where} uses ${name}, which is defined after it")
        elif fmt != "sqlstring":
            out.append(f"{where} uses ${name} without :sqlstring (values must be quoted SQL strings)")
    return out


def _renders(where: str, sql: str, dashboard: Mapping[str, Any]) -> list[str]:
    """The query substitutes to SQL with no variable syntax left, with every variable at All (or a
    placeholder value when it has no All)."""
    definitions = variable_definitions(dashboard)
    values = {v.name: ALL if v.include_all else "placeholder" for v in definitions.values()}
    try:
        rendered = render(sql, _SAMPLE_FROM, _SAMPLE_TO, values, definitions)
    except (UnresolvedVariableError, ValueError) as error:
        return [f"{where} does not render: {error}"]
    if "$" in rendered or "[[" in rendered:
        return [f"{where} still holds variable syntax after rendering"]
    return []


def _is_druid(ref: Any) -> bool:
    return isinstance(ref, Mapping) and ref.get("type") == PLUGIN_ID and ref.get("uid") == DATASOURCE_UID


def _all_panels(dashboard: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out = []
    for panel in dashboard.get("panels") or []:
        out.append(panel)
        out.extend(panel.get("panels") or [])
    return out
