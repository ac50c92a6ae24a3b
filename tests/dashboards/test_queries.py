"""Extraction of every panel's and variable's SQL from dashboard JSON, and Grafana's substitution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dashboards.build import JSON_DIR
from dashboards.queries import (
    ALL,
    UnresolvedVariableError,
    iter_panel_queries,
    iter_variable_queries,
    load,
    panel_query,
    panels,
    referenced_variables,
    render,
    variable_definitions,
)
from dashboards.registry import DASHBOARDS

T0 = datetime(2024, 3, 27, 18, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T0_MS, T1_MS = 1711562400000, 1711566000000


def var(name: str, **kwargs) -> dict:
    return {
        "name": name,
        "type": "query",
        "query": {"builder": {"queryType": "sql", "query": "SELECT 1"}},
        **kwargs,
    }


BOARD = {
    "uid": "test_board",
    "templating": {
        "list": [
            var("sport", includeAll=True, allValue="'__all__'"),
            var("bookmaker", multi=True, includeAll=True, allValue="'__all__'"),
            var("game", current={"value": "g1"}),
            var("listed", multi=True, includeAll=True),  # All without a custom all-value
        ]
    },
    "panels": [
        {
            "id": 1,
            "type": "stat",
            "title": "A",
            "targets": [
                {"refId": "A", "builder": {"queryType": "sql", "query": "SELECT 1 WHERE t >= ${__from}"}}
            ],
        },
        {
            "id": 2,
            "type": "row",
            "title": "collapsed",
            "collapsed": True,
            "panels": [
                {
                    "id": 3,
                    "type": "table",
                    "title": "B",
                    "targets": [
                        {
                            "refId": "A",
                            "builder": {"queryType": "sql", "query": "SELECT 2 WHERE g = ${game:sqlstring}"},
                        },
                        {"refId": "B", "hide": True, "builder": {"queryType": "sql", "query": "SELECT 3"}},
                    ],
                }
            ],
        },
    ],
}
DEFS = variable_definitions(BOARD)


def r(sql: str, **values) -> str:
    return render(sql, T0, T1, values, DEFS)


def test_time_range_in_epoch_milliseconds_and_iso() -> None:
    assert r("${__from} $__to [[__from]]") == f"{T0_MS} {T1_MS} {T0_MS}"
    assert r("'${__from:date:iso}' '${__to:date}'") == "'2024-03-27T18:00:00.000Z' '2024-03-27T19:00:00.000Z'"
    plus_two = timezone(timedelta(hours=2))
    assert render("${__from}", T0.astimezone(plus_two), T1, None, DEFS) == str(T0_MS)


def test_time_range_must_be_aware_and_non_empty() -> None:
    with pytest.raises(ValueError, match="naive"):
        render("${__from}", datetime(2024, 3, 27), T1)
    with pytest.raises(ValueError, match="empty time range"):
        render("${__from}", T1, T0)


def test_multi_values_become_quoted_sql_strings() -> None:
    sql = "bookmaker IN (${bookmaker:sqlstring})"
    assert r(sql, bookmaker=["pinnacle", "o'neills"]) == "bookmaker IN ('pinnacle','o''neills')"
    assert r(sql, bookmaker="pinnacle") == "bookmaker IN ('pinnacle')"
    assert r("${bookmaker:raw}|${bookmaker:csv}", bookmaker=["a", "b"]) == "a,b|a,b"
    assert r("$sport", sport="soccer") == "soccer"


def test_all_inserts_the_custom_all_value_unformatted() -> None:
    sql = "('__all__' IN (${bookmaker:sqlstring}) OR bookmaker IN (${bookmaker:sqlstring}))"
    expected = "('__all__' IN ('__all__') OR bookmaker IN ('__all__'))"
    assert r(sql, bookmaker=ALL) == r(sql, bookmaker=[ALL]) == r(sql) == expected


def test_variables_without_all_default_to_their_saved_value() -> None:
    assert r("${game:sqlstring}") == "'g1'"
    assert r("${game:sqlstring}", game="g2") == "'g2'"
    with pytest.raises(ValueError, match="no All option"):
        r("${game:sqlstring}", game=ALL)


def test_all_without_a_custom_value_needs_the_values() -> None:
    with pytest.raises(UnresolvedVariableError, match="pass its values explicitly"):
        r("${listed:sqlstring}")
    assert r("${listed:sqlstring}", listed=["x", "y"]) == "'x','y'"


@pytest.mark.parametrize(
    ("sql", "values", "error"),
    [
        ("${nope:sqlstring}", {}, "undefined variable \\$nope"),
        ("$bookmaker", {"bookmaker": ["a", "b"]}, "without a format"),
        ("${bookmaker:regex}", {"bookmaker": "a"}, "format 'regex'"),
        ("${__from:date:seconds}", {}, "time format"),
        ("${sport:sqlstring}", {"sport": ["a", "b"]}, "takes one value"),
        ("${bookmaker:sqlstring}", {"bookmaker": []}, "at least one value"),
    ],
)
def test_what_cannot_be_rendered_raises(sql, values, error) -> None:
    with pytest.raises(ValueError, match=error):
        r(sql, **values)


def test_values_for_variables_a_dashboard_lacks_are_ignored() -> None:
    assert r("${sport:sqlstring}", sport="soccer", component="stream:silver") == "'soccer'"


def test_references() -> None:
    sql = "${a:sqlstring} $b [[c]] [[d:raw]] ${e.field:raw} ${__from} $__to"
    assert referenced_variables(sql) == {"a", "b", "c", "d", "e"}


def test_panels_inside_collapsed_rows_are_extracted_and_hidden_targets_skipped() -> None:
    assert [p["title"] for p in panels(BOARD)] == ["A", "B"]
    queries = list(iter_panel_queries(BOARD, T0, T1, {"game": "g9"}))
    assert [(q.dashboard, q.panel_title, q.panel_id, q.ref_id) for q in queries] == [
        ("test_board", "A", 1, "A"),
        ("test_board", "B", 3, "A"),
    ]
    assert queries[0].sql == f"SELECT 1 WHERE t >= {T0_MS}"
    assert queries[1].sql == "SELECT 2 WHERE g = 'g9'"


def test_non_sql_targets_are_refused() -> None:
    board = {"panels": [{"title": "x", "targets": [{"builder": {"queryType": "timeseries"}}]}]}
    with pytest.raises(ValueError, match="not a Druid SQL target"):
        list(iter_panel_queries(board, T0, T1))


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_every_committed_panel_renders_to_plain_sql(uid) -> None:
    board = load(JSON_DIR / f"{uid}.json")
    values = {"game": "2024-03-30:newcastle-united:west-ham-united", "bookmaker": ["pinnacle", "matchbook"]}
    queries = list(iter_panel_queries(board, T0, T1, values))
    assert len(queries) == len(list(panels(board)))  # one SQL target per panel
    for q in queries:
        assert q.dashboard == uid and q.sql.startswith("SELECT") and q.table
        assert "$" not in q.sql and "[[" not in q.sql
        assert f"MILLIS_TO_TIMESTAMP({T0_MS})" in q.sql and f"MILLIS_TO_TIMESTAMP({T1_MS})" in q.sql
        if "bookmaker" in variable_definitions(board) and "bookmaker IN (" in q.sql:
            assert "IN ('pinnacle','matchbook')" in q.sql
    variables = list(iter_variable_queries(board, T0, T1, values))
    assert [v.name for v in variables] == [
        n for n, d in variable_definitions(board).items() if d.sql is not None
    ]


def test_panel_query_by_title() -> None:
    board = load(JSON_DIR / "arbitrage_radar.json")
    q = panel_query(board, "Open arbitrages", T0, T1, {"sport": "soccer"})
    assert q.table == "arbitrage_opportunities" and q.panel_type == "stat"
    assert "REGEXP_EXTRACT(sport, '^[a-z0-9]+') IN ('soccer')" in q.sql
    with pytest.raises(KeyError):
        panel_query(board, "No such panel", T0, T1)
