"""One look for every dashboard: common settings, numbered panels, and the three panel kinds used.

Every panel reads Druid through the provisioned datasource (uid ``druid``) with exactly one SQL
target; ids are assigned in order so they are unique and stable across regenerations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import stat as stat_builders
from grafana_foundation_sdk.builders import table as table_builders
from grafana_foundation_sdk.builders import timeseries as timeseries_builders
from grafana_foundation_sdk.builders.dashboard import (
    CustomVariable,
    DashboardLink,
    QueryVariable,
    Row,
    ThresholdsConfig,
    TimePicker,
)
from grafana_foundation_sdk.builders.dashboard import Dashboard as DashboardBuilder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    DashboardCursorSync,
    DashboardLinkType,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
)

from dashboards.druid import DATASOURCE, Format, SqlTarget

FOLDER = "Betting lakehouse"
TAG = "betting-lakehouse"
REFRESH_INTERVALS = ["5s", "10s", "30s", "1m", "5m", "15m"]

PanelBuilder = stat_builders.Panel | table_builders.Panel | timeseries_builders.Panel

Steps = Sequence[tuple[float, str]]
"""Thresholds above a green base: (from this value on, this colour), ascending."""


def _thresholds(steps: Steps) -> ThresholdsConfig:
    base = [Threshold(value=None, color="green")]
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(base + [Threshold(value=value, color=color) for value, color in steps])
    )


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
    thresholds: Steps = (),
) -> stat_builders.Panel:
    """One number (the first row's first numeric column); ``no_value`` shows when there is none;
    with ``thresholds``, the number takes the colour of the step it reached."""
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
    if thresholds:
        panel = panel.thresholds(_thresholds(thresholds)).color_mode(common.BigValueColorMode.BACKGROUND)
    return panel.decimals(decimals) if decimals is not None else panel


def table(
    title: str,
    description: str,
    sql: str,
    table: str,
    *,
    width: int = 24,
    height: int = 10,
    units: Mapping[str, str] | None = None,
) -> table_builders.Panel:
    """Rows as the query returns them (its ORDER BY decides the order); ``units`` gives columns
    their Grafana unit (``percentunit`` shows a fraction such as a margin as a percentage)."""
    panel = (
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
    for column, unit in (units or {}).items():
        panel = panel.override_by_name(column, [DynamicConfigValue(id_val="unit", value=unit)])
    return panel


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
