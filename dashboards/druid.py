"""The Druid datasource plugin (grafadruid-druid-datasource) as a Grafana Foundation SDK query type.

The SDK ships query models for Grafana's core datasources only, so this module adds the plugin's
SQL query JSON, ``{"builder": {"queryType": "sql", "query": ...}, "settings": {...}}``, as a
``Dataquery`` variant and registers it with the SDK runtime: dashboards built here and dashboards
decoded with ``Dashboard.from_json`` then carry the same typed targets.

Each builder also names the Druid table it reads (``builder.dataSource``): Druid ignores it for
SQL, but recent plugin backends skip a query whose builder has no data source, and the tests use
it to check that every panel reads a table that exists.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from lakehouse.schemas.aggregates import AGGREGATE_TYPES

PLUGIN_ID = "grafadruid-druid-datasource"
DATASOURCE_UID = "druid"
DATASOURCE = DataSourceRef(type_val=PLUGIN_ID, uid=DATASOURCE_UID)
TABLES = frozenset(t.name for t in AGGREGATE_TYPES.values())
"""Druid datasources the serving layer ingests: one per aggregate type, named like it."""

Format = Literal["long", "wide"]
"""How the plugin shapes SQL rows: ``long`` keeps them (tables, stats); ``wide`` pivots string
columns into one series each (time series grouped by bookmaker, component...)."""


class DruidQuery(cogvariants.Dataquery):
    """One Druid SQL target of a panel (or the query of a template variable)."""

    def __init__(
        self,
        sql: str = "",
        table: str = "",
        fmt: Format = "long",
        ref_id: str = "A",
        datasource: DataSourceRef | None = None,
        hide: bool | None = None,
    ) -> None:
        self.sql = sql
        self.table = table
        self.fmt = fmt
        self.ref_id = ref_id
        self.datasource = datasource
        self.hide = hide

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"refId": self.ref_id}
        if self.datasource is not None:
            out["datasource"] = self.datasource.to_json()
        out["builder"] = builder_json(self.sql, self.table)
        out["settings"] = {"format": self.fmt}
        if self.hide is not None:
            out["hide"] = self.hide
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        builder = data.get("builder") or {}
        if builder.get("queryType") != "sql":
            raise ValueError(
                f"only Druid SQL targets are supported, got queryType {builder.get('queryType')!r}"
            )
        ds = data.get("datasource")
        return cls(
            sql=builder.get("query", ""),
            table=builder.get("dataSource", ""),
            fmt=(data.get("settings") or {}).get("format", "long"),
            ref_id=data.get("refId", "A"),
            datasource=DataSourceRef.from_json(ds) if isinstance(ds, dict) else None,
            hide=data.get("hide"),
        )


class SqlTarget(cogbuilder.Builder[DruidQuery]):
    """Builder for a Druid SQL panel target, in the SDK's builder style."""

    def __init__(self, sql: str, table: str) -> None:
        check_table(table)
        self._internal = DruidQuery(sql=sql.strip(), table=table, datasource=DATASOURCE)

    def build(self) -> DruidQuery:
        return self._internal

    def format(self, fmt: Format) -> Self:
        self._internal.fmt = fmt
        return self

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self


def builder_json(sql: str, table: str) -> dict[str, Any]:
    """The plugin's ``builder`` object for a SQL query (also a variable's query)."""
    return {"queryType": "sql", "query": sql.strip(), "dataSource": table}


def variable_query(sql: str, table: str) -> dict[str, object]:
    """A template variable's query in the plugin's model (no ``expr``: the backend would prefer its
    un-interpolated copy over the builder Grafana has substituted variables into)."""
    check_table(table)
    return {"builder": builder_json(sql, table), "settings": {"format": "long"}}


def check_table(table: str) -> None:
    if table not in TABLES:
        raise ValueError(f"unknown Druid datasource {table!r} (known: {', '.join(sorted(TABLES))})")


cogruntime.register_dataquery_variant(
    cogruntime.DataqueryConfig(identifier=PLUGIN_ID, from_json_hook=DruidQuery.from_json)
)
