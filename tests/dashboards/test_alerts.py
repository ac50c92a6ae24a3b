"""The alert rules as Grafana provisions them: the committed file is the code's, each rule is a
Druid query reduced and compared as the rule says, and the conditions fire when they should.
(Each rule's query on the real Druid, against numbers recomputed from the run's topics:
tests/serving/test_end_to_end.py.)"""

from __future__ import annotations

import yaml

from dashboards import alerts
from dashboards.build import ALERT_RULES
from dashboards.druid import DATASOURCE_UID
from dashboards.layout import FOLDER


def _provisioned() -> dict:
    return yaml.safe_load(ALERT_RULES.read_text())


def test_the_committed_file_is_the_codes() -> None:
    assert ALERT_RULES.read_text() == alerts.render()


def test_each_rule_is_one_druid_query_reduced_then_compared() -> None:
    (group,) = _provisioned()["groups"]
    assert (group["folder"], group["interval"]) == (FOLDER, alerts.INTERVAL)
    by_uid = {rule.uid: rule for rule in alerts.RULES}
    assert [r["uid"] for r in group["rules"]] == list(by_uid)  # unique, in order
    for provisioned in group["rules"]:
        rule = by_uid[provisioned["uid"]]
        query, reduce, threshold = provisioned["data"]
        assert provisioned["condition"] == threshold["refId"] == "C"
        assert query["datasourceUid"] == DATASOURCE_UID
        assert query["model"]["builder"] == {
            "queryType": "sql",
            "query": rule.sql.strip(),
            "dataSource": rule.table,
        }
        assert reduce["model"]["expression"] == query["refId"] and reduce["model"]["reducer"] == "last"
        assert threshold["model"]["expression"] == reduce["refId"]
        (condition,) = threshold["model"]["conditions"]
        assert condition["evaluator"] == {"type": "gt", "params": [rule.above]}
        settings = reduce["model"]["settings"]
        if rule.if_empty is None:  # an empty result is "no data", which pages
            assert settings == {"mode": "dropNN"} and provisioned["noDataState"] == "Alerting"
        else:
            assert settings == {"mode": "replaceNN", "replaceWithValue": rule.if_empty}
            assert provisioned["noDataState"] == "OK"
        assert provisioned["execErrState"] == "Alerting"  # Druid unreachable pages too
        assert provisioned["labels"]["severity"] in ("warning", "critical")
        assert provisioned["annotations"]["summary"] and provisioned["annotations"]["runbook"]


def test_the_conditions() -> None:
    stale, dead, stalled = alerts.STALE_LIVE_DATA, alerts.DEAD_LETTER_RATE, alerts.STALLED_SUPERVISORS
    assert not stale.fires(12.0) and not stale.fires(300.0) and stale.fires(301.0)
    assert stale.fires(None)  # no streaming job reported in 15 minutes
    assert not dead.fires(None) and not dead.fires(1.0) and dead.fires(1.5)
    assert not stalled.fires(0) and stalled.fires(1) and not stalled.fires(None)
