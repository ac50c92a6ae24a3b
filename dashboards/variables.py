"""Template variables, each defined by a Druid SQL query over the dashboard's own table.

``sport`` is the group of a sport key (``soccer`` for ``soccer_epl``), ``competition`` the sport
key itself filtered by ``$sport``, ``bookmaker`` the books seen: so the choices follow the data in
the time range (refreshed when it changes).  Multi-value variables default to All, whose value
``'__all__'`` turns their filter off (see ``dashboards.sql``).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import CustomVariable, QueryVariable
from grafana_foundation_sdk.models.dashboard import VariableOption, VariableRefresh, VariableSort

from dashboards.druid import DATASOURCE, variable_query
from dashboards.sql import ALL_VALUE, SPORT_GROUP, competition_filter, sport_filter, where
from lakehouse.schemas.events import Market

ALL = "$__all"
"""Grafana's value for an "All" selection."""


def _all(multi: bool) -> VariableOption:
    return VariableOption(selected=True, text=["All"] if multi else "All", value=[ALL] if multi else ALL)


def _query_variable(
    name: str, label: str, sql: str, table: str, *, multi: bool, include_all: bool
) -> QueryVariable:
    variable = (
        QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(variable_query(sql, table))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(include_all)
    )
    if include_all:
        variable = variable.all_value(ALL_VALUE).current(_all(multi))
    return variable


def sport(table: str) -> QueryVariable:
    sql = f"SELECT DISTINCT {SPORT_GROUP} AS sport_group\nFROM {table}\n{where()}\nORDER BY 1"
    return _query_variable("sport", "Sport", sql, table, multi=False, include_all=True)


def competition(table: str) -> QueryVariable:
    sql = f"SELECT DISTINCT sport AS competition\nFROM {table}\n{where(sport_filter())}\nORDER BY 1"
    return _query_variable("competition", "Competition", sql, table, multi=True, include_all=True)


def bookmaker(table: str) -> QueryVariable:
    sql = (
        f"SELECT DISTINCT bookmaker\nFROM {table}\n{where(sport_filter(), competition_filter())}\nORDER BY 1"
    )
    return _query_variable("bookmaker", "Bookmaker", sql, table, multi=True, include_all=True)


def game(table: str) -> QueryVariable:
    """One game (line movement is read one game at a time), newest kick-off date last."""
    sql = f"SELECT DISTINCT game_id\nFROM {table}\n{where(sport_filter(), competition_filter())}\nORDER BY 1"
    return _query_variable("game", "Game", sql, table, multi=False, include_all=False)


def component(table: str) -> QueryVariable:
    sql = f"SELECT DISTINCT component\nFROM {table}\n{where()}\nORDER BY 1"
    return _query_variable("component", "Component", sql, table, multi=True, include_all=True)


def market(default: Market = Market.H2H) -> CustomVariable:
    """One market at a time: margins and prices only compare within a market."""
    markets = [Market.H2H, Market.SPREADS, Market.TOTALS]
    return (
        CustomVariable("market")
        .label("Market")
        .values(",".join(markets))
        .options([VariableOption(selected=m == default, text=str(m), value=str(m)) for m in markets])
        .current(VariableOption(selected=True, text=str(default), value=str(default)))
        .multi(False)
        .include_all(False)
    )
