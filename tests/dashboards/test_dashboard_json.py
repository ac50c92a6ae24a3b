"""The committed dashboards against Grafana's schema (the Foundation SDK's models) and our rules."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel

from dashboards import pipeline_health
from dashboards.build import JSON_DIR
from dashboards.druid import DATASOURCE_UID, PLUGIN_ID, TABLES, DruidQuery
from dashboards.layout import FOLDER, TAG
from dashboards.queries import ALL, iter_panel_queries, panels, referenced_variables, variable_definitions
from dashboards.registry import DASHBOARDS
from dashboards.validate import problems

FILES = sorted(JSON_DIR.glob("*.json"))
ODDS_BOARDS = ["live_odds_board", "arbitrage_radar", "bookmaker_margins", "line_movement_steam"]
README = JSON_DIR.parent / "README.md"


def load(uid: str) -> dict[str, Any]:
    return json.loads((JSON_DIR / f"{uid}.json").read_text())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_decodes_through_the_sdk_models_without_loss(path) -> None:
    """Every key is one Grafana's schema knows: decoding then encoding gives back the same JSON."""
    raw = json.loads(path.read_text())
    decoded = Dashboard.from_json(raw)
    assert json.loads(json.dumps(decoded, cls=JSONEncoder)) == raw
    assert decoded.uid == path.stem
    assert decoded.panels
    for panel in decoded.panels:
        assert isinstance(panel, Panel | RowPanel)
        if isinstance(panel, Panel):
            assert panel.targets and all(isinstance(t, DruidQuery) for t in panel.targets)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_follows_the_dashboard_rules(path) -> None:
    assert problems(path) == []


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_settings_shared_by_the_five(uid) -> None:
    board = load(uid)
    assert board["title"] == DASHBOARDS[uid].title
    assert TAG in board["tags"] and "druid" in board["tags"]
    assert board["timezone"] == "utc"
    assert board["editable"] is False
    assert board["links"][0]["tags"] == [TAG] and board["links"][0]["title"] == FOLDER
    if "live" in board["tags"]:
        assert board["refresh"] in ("5s", "10s")
    ids = [p["id"] for p in board["panels"]]
    assert ids == list(range(1, len(ids) + 1))
    titles = [p["title"] for p in panels(board)]
    assert len(titles) == len(set(titles)) and len(titles) >= 6
    assert {p["type"] for p in panels(board)} <= {"stat", "table", "timeseries"}
    assert {"stat", "table", "timeseries"} <= {p["type"] for p in panels(board)}
    assert DASHBOARDS[uid].checked_panel in titles


@pytest.mark.parametrize("uid", ODDS_BOARDS)
def test_odds_boards_have_sport_and_competition_variables(uid) -> None:
    defined = variable_definitions(load(uid))
    assert list(defined)[:2] == ["sport", "competition"]
    assert defined["competition"].multi and defined["competition"].include_all
    assert defined["sport"].include_all and defined["sport"].all_value == "'__all__'"
    assert "REGEXP_EXTRACT(sport, '^[a-z0-9]+')" in defined["sport"].sql
    assert "${sport:sqlstring}" in defined["competition"].sql
    if uid != "arbitrage_radar":  # arbitrages name their books only in list columns
        book = defined["bookmaker"]
        assert book.multi and book.include_all and book.current == (ALL,)
        assert {"sport", "competition"} <= referenced_variables(book.sql)


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_every_referenced_variable_is_defined(uid) -> None:
    board = load(uid)
    defined = set(variable_definitions(board))
    used = set()
    for panel in panels(board):
        for target in panel["targets"]:
            assert target["datasource"] == {"type": PLUGIN_ID, "uid": DATASOURCE_UID}
            assert target["builder"]["dataSource"] in TABLES
            used |= referenced_variables(target["builder"]["query"])
    assert used <= defined
    assert used, "no panel follows the variables"


def test_pipeline_panels_read_only_documented_metrics() -> None:
    sql = " ".join(q.sql for q in iter_panel_queries(load("pipeline_health"), *_range()))
    used = set(re.findall(r"metric = '(\w+)'", sql))
    assert used == set(pipeline_health.METRICS)
    readme = README.read_text()
    assert all(f"`{name}`" in readme for name in pipeline_health.METRICS)


def _range():
    from datetime import UTC, datetime

    return datetime(2024, 3, 27, tzinfo=UTC), datetime(2024, 3, 28, tzinfo=UTC)


# -- the rules catch what they are for -------------------------------------------------------------


def broken(uid: str, change) -> list[str]:
    board = copy.deepcopy(load(uid))
    change(board)
    return problems(board)


def first_target(board: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in board["panels"] if p["type"] != "row")["targets"][0]


def test_rules_catch_an_undefined_variable() -> None:
    def change(board):
        first_target(board)["builder"]["query"] += " AND market IN (${markets:sqlstring})"

    assert any("undefined variable $markets" in p for p in broken("live_odds_board", change))


def test_rules_catch_an_unquoted_multi_value_variable() -> None:
    def change(board):
        first_target(board)["builder"]["query"] += " AND bookmaker IN ($bookmaker)"

    assert any("without :sqlstring" in p for p in broken("live_odds_board", change))


def test_rules_catch_a_variable_used_before_it_is_defined() -> None:
    def change(board):
        board["templating"]["list"].reverse()

    assert any("defined after it" in p for p in broken("live_odds_board", change))


def test_rules_catch_duplicate_ids_overlaps_and_foreign_datasources() -> None:
    def change(board):
        a, b = board["panels"][:2]
        b["id"] = a["id"]
        b["gridPos"] = dict(a["gridPos"])
        a["datasource"] = {"type": "prometheus", "uid": "prom"}

    found = broken("live_odds_board", change)
    assert any("panel id 1 used by" in p for p in found)
    assert any("overlap" in p for p in found)
    assert any("does not use the Druid datasource" in p for p in found)


def test_rules_catch_a_missing_time_filter_and_unknown_table() -> None:
    def change(board):
        target = first_target(board)
        target["builder"]["query"] = "SELECT COUNT(*) FROM odds_quotes"
        target["builder"]["dataSource"] = "odds_quotes"

    found = broken("live_odds_board", change)
    assert any("ignores the dashboard time range" in p for p in found)
    assert any("unknown Druid datasource 'odds_quotes'" in p for p in found)


def test_rules_catch_a_panel_without_a_query() -> None:
    def change(board):
        next(p for p in board["panels"] if p["type"] != "row")["targets"] = []

    assert any("has no query" in p for p in broken("pipeline_health", change))
