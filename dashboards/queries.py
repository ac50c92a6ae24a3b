"""Every panel's and variable's Druid SQL, out of the dashboard JSON and ready to execute.

Grafana substitutes template variables into the query text before the Druid plugin sends it; this
module does the same substitution for a given time range and variable values, so a test can run
exactly what a panel would run:

    for q in iter_panel_queries(dashboard_json, t0, t1, {"bookmaker": ["pinnacle", "betfair_ex_eu"]}):
        rows = druid_sql(q.sql, context=q.context)

Variables follow Grafana's rules for the formats the dashboards use: ``${v:sqlstring}`` quotes each
value (``'a','b'``, quotes doubled), ``${v:raw}``/``${v:csv}`` joins them, a bare ``$v`` takes a single
value.  "All" (``ALL``) inserts the variable's custom all-value unformatted, which in these
dashboards turns the filter off; a variable not given defaults to All when it has one, else to
its saved current value.  Values for variables a dashboard does not define are ignored, so one
mapping serves all five; a query referencing an undefined variable raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ALL = "$__all"
"""Grafana's value for an "All" selection: pass it (or ``[ALL]``) to select All."""

# Grafana's own variable syntax: $name, [[name:format]], ${name.field:format}.
VARIABLE_RE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}")
BUILTINS = frozenset({"__from", "__to"})
"""Global variables the renderer provides from the time range (the only ones the dashboards use)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DashboardSource = Mapping[str, Any] | str | Path
VariableValues = Mapping[str, str | Sequence[str]]


class UnresolvedVariableError(ValueError):
    """A query references a variable that is not defined, or uses a format this renderer lacks."""


@dataclass(frozen=True)
class Variable:
    """A template variable as the dashboard JSON defines it."""

    name: str
    kind: str  # query, custom, ...
    multi: bool
    include_all: bool
    all_value: str | None
    current: tuple[str, ...]  # saved selection; (ALL,) for All
    sql: str | None  # a query variable's Druid SQL
    table: str | None  # the Druid table it reads
    options: tuple[str, ...] = ()  # a custom variable's values


@dataclass(frozen=True)
class PanelQuery:
    """One panel target's SQL, substituted and ready for Druid's SQL API."""

    dashboard: str  # uid
    panel_title: str
    sql: str
    table: str = ""  # the Druid datasource the target names
    panel_id: int | None = None
    panel_type: str = ""
    ref_id: str = "A"
    context: dict[str, Any] = field(default_factory=dict)  # Druid query context from the target's settings


@dataclass(frozen=True)
class VariableQuery:
    """One template variable's SQL, substituted (with the values of the variables before it)."""

    dashboard: str
    name: str
    sql: str
    table: str = ""


def load(dashboard: DashboardSource) -> Mapping[str, Any]:
    """A dashboard as parsed JSON, from the mapping itself, JSON text or a file."""
    if isinstance(dashboard, Path):
        return json.loads(dashboard.read_text())
    if isinstance(dashboard, str):
        return json.loads(dashboard)
    return dashboard


def panels(dashboard: DashboardSource) -> Iterator[Mapping[str, Any]]:
    """Every panel that is not a row, in order, including those inside collapsed rows."""
    for panel in load(dashboard).get("panels") or []:
        if panel.get("type") == "row":
            yield from panel.get("panels") or []
        else:
            yield panel


def variable_definitions(dashboard: DashboardSource) -> dict[str, Variable]:
    """The dashboard's template variables by name, in definition order."""
    out: dict[str, Variable] = {}
    for v in (load(dashboard).get("templating") or {}).get("list") or []:
        query = v.get("query")
        sql = table = None
        if isinstance(query, Mapping):
            builder = query.get("builder") or {}
            sql, table = builder.get("query"), builder.get("dataSource")
        elif isinstance(query, str) and v.get("type") == "query":
            sql = query
        current = (v.get("current") or {}).get("value")
        options = tuple(str(o["value"]) for o in v.get("options") or [] if "value" in o)
        out[v["name"]] = Variable(
            name=v["name"],
            kind=v.get("type", ""),
            multi=bool(v.get("multi")),
            include_all=bool(v.get("includeAll")),
            all_value=v.get("allValue"),
            current=tuple(current) if isinstance(current, list) else (() if current is None else (current,)),
            sql=sql,
            table=table,
            options=options,
        )
    return out


def references(sql: str) -> list[tuple[str, str | None]]:
    """(variable, format) for every variable reference in the text, in order."""
    found = []
    for m in VARIABLE_RE.finditer(sql):
        name = m.group(1) or m.group(2) or m.group(4)
        found.append((name, m.group(3) or m.group(6)))
    return found


def referenced_variables(sql: str) -> set[str]:
    """Names of the dashboard variables a query uses (Grafana's global variables excluded)."""
    return {name for name, _ in references(sql) if name not in BUILTINS}


def render(
    sql: str,
    time_from: datetime,
    time_to: datetime,
    values: VariableValues | None = None,
    definitions: Mapping[str, Variable] | None = None,
) -> str:
    """The query as Grafana would send it for this range and these variable values."""
    start, end = _millis(time_from), _millis(time_to)
    if end <= start:
        raise ValueError(f"empty time range: {time_from} .. {time_to}")
    definitions = definitions or {}
    given = dict(values or {})

    def substitute(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        if name in BUILTINS:
            return _builtin(start if name == "__from" else end, fmt)
        if name not in definitions:
            raise UnresolvedVariableError(f"query references undefined variable ${name}")
        return _format(definitions[name], _selection(definitions[name], given.get(name)), fmt)

    return VARIABLE_RE.sub(substitute, sql)


def iter_panel_queries(
    dashboard_json: DashboardSource,
    time_from: datetime,
    time_to: datetime,
    variables: VariableValues | None = None,
) -> Iterator[PanelQuery]:
    """Every target of every panel, rendered for the range and variable values."""
    dashboard = load(dashboard_json)
    definitions = variable_definitions(dashboard)
    for panel in panels(dashboard):
        for target in panel.get("targets") or []:
            if target.get("hide"):
                continue
            builder = target.get("builder") or {}
            if builder.get("queryType") != "sql":
                raise ValueError(f"panel {panel.get('title')!r}: not a Druid SQL target: {target}")
            yield PanelQuery(
                dashboard=dashboard.get("uid", ""),
                panel_title=panel.get("title", ""),
                sql=render(builder["query"], time_from, time_to, variables, definitions),
                table=builder.get("dataSource", ""),
                panel_id=panel.get("id"),
                panel_type=panel.get("type", ""),
                ref_id=target.get("refId", "A"),
                context=_context(target.get("settings") or {}),
            )


def iter_variable_queries(
    dashboard_json: DashboardSource,
    time_from: datetime,
    time_to: datetime,
    variables: VariableValues | None = None,
) -> Iterator[VariableQuery]:
    """Every query variable's SQL, rendered for the range and the values of the other variables."""
    dashboard = load(dashboard_json)
    definitions = variable_definitions(dashboard)
    for v in definitions.values():
        if v.sql is not None:
            sql = render(v.sql, time_from, time_to, variables, definitions)
            yield VariableQuery(dashboard=dashboard.get("uid", ""), name=v.name, sql=sql, table=v.table or "")


def panel_query(
    dashboard_json: DashboardSource,
    title: str,
    time_from: datetime,
    time_to: datetime,
    variables: VariableValues | None = None,
) -> PanelQuery:
    """The one query of the panel with this title."""
    found = [
        q for q in iter_panel_queries(dashboard_json, time_from, time_to, variables) if q.panel_title == title
    ]
    if len(found) != 1:
        raise KeyError(f"{len(found)} queries for panel {title!r}")
    return found[0]


def _millis(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"time {at!r} is naive; use a timezone-aware datetime")
    return (at - _EPOCH) // timedelta(milliseconds=1)


def _builtin(millis: int, fmt: str | None) -> str:
    if fmt is None:
        return str(millis)
    if fmt in ("date", "date:iso"):
        at = _EPOCH + timedelta(milliseconds=millis)
        return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"
    raise UnresolvedVariableError(f"time format {fmt!r} is not supported here")


def _selection(variable: Variable, value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """The selected values, or None for All."""
    if value is None:
        if variable.include_all:
            return None
        if variable.current and ALL not in variable.current:
            return variable.current
        raise UnresolvedVariableError(f"variable ${variable.name} has no All and no saved value: pass one")
    chosen = (value,) if isinstance(value, str) else tuple(value)
    if not chosen:
        raise ValueError(f"variable ${variable.name}: select at least one value (or ALL)")
    if ALL in chosen:
        if not variable.include_all:
            raise ValueError(f"variable ${variable.name} has no All option")
        return None
    if len(chosen) > 1 and not variable.multi:
        raise ValueError(f"variable ${variable.name} takes one value, got {list(chosen)}")
    return chosen


def _format(variable: Variable, chosen: tuple[str, ...] | None, fmt: str | None) -> str:
    if chosen is None:
        if variable.all_value is not None:
            return variable.all_value  # Grafana inserts a custom all-value unformatted
        raise UnresolvedVariableError(
            f"variable ${variable.name} has no custom all-value: pass its values explicitly instead of ALL"
        )
    if fmt == "sqlstring":
        return ",".join("'" + v.replace("'", "''") + "'" for v in chosen)
    if fmt in ("raw", "csv"):
        return ",".join(chosen)
    if fmt is None:
        if len(chosen) > 1:
            raise UnresolvedVariableError(
                f"multi-value ${variable.name} used without a format; write ${{{variable.name}:sqlstring}}"
            )
        return chosen[0]
    raise UnresolvedVariableError(f"variable format {fmt!r} is not supported here")


def _context(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {p["name"]: p.get("value") for p in settings.get("contextParameters") or [] if "name" in p}
