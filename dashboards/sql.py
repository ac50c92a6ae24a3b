"""Druid SQL fragments shared by every panel: the time filter and the template-variable filters.

Grafana substitutes variables into the query text before the plugin sends it, so each fragment
must be plain Druid SQL once substituted:

* Time: ``${__from}``/``${__to}`` are the range in epoch milliseconds (the plugin has no
  ``$__timeFilter`` macro), so ``__time >= MILLIS_TO_TIMESTAMP(${__from})`` works in Druid as is.
  The range is half-open, ``[from, to)``.
* Variables: multi-value variables are written ``${name:sqlstring}`` (``'a','b'``, quotes
  doubled) inside ``IN (...)``.  "All" is the custom all-value ``'__all__'``, inserted unformatted,
  so ``('__all__' IN ('__all__') OR column IN ('__all__'))`` is always true: All means no filter,
  which also keeps rows whose value appeared after the variable's options were loaded.
"""

from __future__ import annotations

ALL_VALUE = "'__all__'"
"""The custom all-value of every multi-value variable; Grafana inserts it without formatting."""

SPORT_GROUP = "REGEXP_EXTRACT(sport, '^[a-z0-9]+')"
"""The sport of a sport key: the part before the first ``_`` (``soccer_epl`` -> ``soccer``)."""


def time_filter(column: str = "__time") -> str:
    """The dashboard's time range on a timestamp column, as Druid SQL after substitution."""
    return f"{column} >= MILLIS_TO_TIMESTAMP(${{__from}}) AND {column} < MILLIS_TO_TIMESTAMP(${{__to}})"


def in_filter(expression: str, variable: str) -> str:
    """``expression`` in the values of a multi-value variable; no filter when it is All."""
    values = f"${{{variable}:sqlstring}}"
    return f"({ALL_VALUE} IN ({values}) OR {expression} IN ({values}))"


def sport_filter() -> str:
    return in_filter(SPORT_GROUP, "sport")


def competition_filter() -> str:
    return in_filter("sport", "competition")


def bookmaker_filter(column: str = "bookmaker") -> str:
    return in_filter(column, "bookmaker")


def where(*conditions: str) -> str:
    """``WHERE`` with the time filter first, one condition a line."""
    parts = [time_filter(), *conditions]
    return "WHERE " + "\n  AND ".join(parts)


def game_label(home: str = "home_team", away: str = "away_team") -> str:
    return f"{home} || ' v ' || {away}"
