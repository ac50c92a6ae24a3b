"""One look for every dashboard: common settings, numbered panels, and the three panel kinds used.

Every panel reads Druid through the provisioned datasource (uid ``druid``) with exactly one SQL
target; ids are assigned in order so they are unique and stable across regenerations.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import stat as stat_builders
from grafana_foundation_sdk.builders import table as table_builders
from grafana_foundation_sdk.builders import timeseries as timeseries_builders
from grafana_foundation_sdk.builders.dashboard import (
    CustomVariable,
    DashboardLink,
    QueryVariable,
    Row,
    TimePicker,
)
from grafana_foundation_sdk.builders.dashboard import Dashboard as DashboardBuilder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import Dashboard, DashboardCursorSync, DashboardLinkType

from dashboards.druid import DATASOURCE, Format, SqlTarget

FOLDER = "Betting lakehouse"
TAG = "betting-lakehouse"
REFRESH_INTERVALS = ["5s", "10s", "30s", "1m", "5m", "15m"]

PanelBuilder = stat_builders.Panel | table_builders.Panel | timeseries_builders.Panel


class Board:
    """A dashboard under construction: settings shared by all five, panels numbered as added."""

    def __init__(
        self,
        uid: str,
        title: str,
        description: str,
        *,
        tags: list[str],
        refresh: str,
        time_from: str,
    ) -> None:
        self._next_id = 1
        self._builder = (
            DashboardBuilder(title)
            .uid(uid)
            .description(description)
            .tags([TAG, "druid", *tags])
            .timezone("utc")
            .refresh(refresh)
            .time(time_from, "now")
            .timepicker(TimePicker().refresh_intervals(REFRESH_INTERVALS))
            .tooltip(DashboardCursorSync.CROSSHAIR)
            .readonly()
            .link(
                DashboardLink(FOLDER)
                .type(DashboardLinkType.DASHBOARDS)
                .tags([TAG])
                .as_dropdown(True)
                .include_vars(True)
                .keep_time(True)
            )
        )

    def variables(self, *variables: QueryVariable | CustomVariable) -> Board:
        for variable in variables:
            self._builder.with_variable(variable)
        return self

    def row(self, title: str) -> Board:
        self._builder.with_row(Row(title).id(self._take_id()))
        return self

    def add(self, *panels: PanelBuilder) -> Board:
        for panel in panels:
            self._builder.with_panel(panel.id(self._take_id()))
        return self

    def build(self) -> Dashboard:
        return self._builder.build()

    def _take_id(self) -> int:
        taken, self._next_id = self._next_id, self._next_id + 1
        return taken


def _target(sql: str, table: str, fmt: Format) -> SqlTarget:
    return SqlTarget(sql, table).format(fmt)


def stat(
    title: str,
    description: str,
    sql: str,
    table: str,
    *,
    unit: str = "short",
    decimals: int | None = None,
    no_value: str = "0",
    width: int = 6,
    height: int = 4,
) -> stat_builders.Panel:
    """One number (the first row's first numeric column); ``no_value`` shows when there is none."""
    panel = (
        stat_builders.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_target(sql, table, "long"))
        .unit(unit)
        .span(width)
        .height(height)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value(no_value)
    )
    return panel.decimals(decimals) if decimals is not None else panel


def table(
    title: str,
    description: str,
    sql: str,
    table: str,
    *,
    width: int = 24,
    height: int = 10,
) -> table_builders.Panel:
    """Rows as the query returns them (its ORDER BY decides the order)."""
    return (
        table_builders.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_target(sql, table, "long"))
        .span(width)
        .height(height)
        .show_header(True)
        .filterable(True)
        .cell_height(common.TableCellHeight.SM)
    )


def timeseries(
    title: str,
    description: str,
    sql: str,
    table: str,
    *,
    unit: str = "short",
    width: int = 12,
    height: int = 8,
    bars: bool = False,
) -> timeseries_builders.Panel:
    """A time column, optionally a series column (pivoted wide by the plugin), then values."""
    panel = (
        timeseries_builders.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_target(sql, table, "wide"))
        .unit(unit)
        .span(width)
        .height(height)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        .tooltip(common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI))
        .span_nulls(True)
    )
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)
    return panel
