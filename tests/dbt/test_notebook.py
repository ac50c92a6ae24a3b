"""The analyst notebook (`notebooks/market_efficiency.ipynb`) runs top to bottom on the warehouse
dbt built from the full history, and its figures equal the same figures recomputed here from
the marts' rows in plain Python."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lakehouse.config import Settings

pytestmark = pytest.mark.integration

NOTEBOOK = Settings().project_root / "notebooks" / "market_efficiency.ipynb"


def _run(warehouse: Path, state: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE__DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(state))  # dbt compile's artifacts
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    nbformat.write(notebook, state / "market_efficiency.executed.ipynb")  # for a failure's story
    return notebook


def _outputs(notebook: nbformat.NotebookNode, kind: str) -> list[dict]:
    return [
        o
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == kind
    ]


def test_the_notebook_runs_and_its_figures_equal_the_marts(
    duckdb_marts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = _run(duckdb_marts.warehouse, tmp_path, monkeypatch)
    assert _outputs(notebook, "error") == []
    charts = [o for o in _outputs(notebook, "display_data") if "image/png" in o.get("data", {})]
    assert len(charts) == 2
    summary = json.loads(notebook.cells[-1].outputs[-1]["text"])
    query = duckdb_marts.query

    # Favourite-longshot bias: per bucket, realised win rate minus the mean fair probability.
    buckets: dict[float, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for lower, predictions, wins, fair in query(
        "select bucket_lower, predictions, wins, mean_fair_probability from marts.mart_calibration "
        "where bookmaker_kind = 'bookmaker' and phase = 'opening'"
    ):
        bucket = buckets[round(lower, 4)]
        bucket[0] += predictions
        bucket[1] += wins
        bucket[2] += fair * predictions
    expected_gaps = {str(lower): (wins - fair) / n for lower, (n, wins, fair) in buckets.items()}
    assert summary["longshot_gap_by_bucket"].keys() == expected_gaps.keys()
    for lower, gap in expected_gaps.items():
        assert summary["longshot_gap_by_bucket"][lower] == pytest.approx(gap, abs=1e-12), lower
    assert expected_gaps[min(expected_gaps, key=float)] < 0  # the bias is there in real prices

    # The bookmaker whose opening prices beat Pinnacle's close most in the latest season.
    latest = query("select max(season) from marts.mart_closing_line_value")[0][0]
    clv: dict[str, list[float]] = defaultdict(list)
    for bookmaker, value in query(
        "select bookmaker, closing_line_value from marts.mart_closing_line_value "
        f"where market = 'h2h' and bookmaker_kind = 'bookmaker' and season = '{latest}'"
    ):
        clv[bookmaker].append(value)
    best = max(clv, key=lambda b: statistics.fmean(clv[b]))
    assert (summary["latest_season"], summary["best_clv_bookmaker"]) == (str(latest), best)
    assert summary["best_mean_clv"] == pytest.approx(statistics.fmean(clv[best]), abs=1e-12)

    # Elo's home expected score against Pinnacle's closing home win + half the draw.
    elo = dict(query("select match_id, expected_score from marts.mart_team_elo where is_home"))
    pairs = [
        (elo[match], home + draw / 2)
        for match, home, draw in query(
            "select match_id, shin_home, shin_draw from marts.mart_fair_probabilities "
            "where probability_source = 'pinnacle' and phase = 'closing'"
        )
        if match in elo
    ]
    assert summary["elo_matches"] == len(pairs) > 3000  # Pinnacle closing prices: 2012 on
    expected_r = statistics.correlation([e for e, _ in pairs], [m for _, m in pairs])
    assert summary["elo_market_correlation"] == pytest.approx(expected_r, abs=1e-9)
    assert 0.5 < expected_r < 1  # Elo knows something the market also knows
    gap = statistics.fmean(abs(e - m) for e, m in pairs)
    assert summary["elo_market_mean_abs_gap"] == pytest.approx(gap, abs=1e-12)


def test_the_readme_sql_for_analysts_runs_on_the_marts(duckdb_marts) -> None:
    import re

    readme = (Settings().project_root / "README.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", readme, re.S)
    statements = [sql for block in blocks for sql in block.split(";") if sql.strip()]
    assert len(statements) >= 2
    for sql in statements:
        assert duckdb_marts.query(sql), sql


def test_the_notebook_exposure_names_the_notebook_and_what_its_analyses_read() -> None:
    import re

    import yaml

    root = Settings().project_root
    exposures = yaml.safe_load((root / "dbt" / "models" / "exposures.yml").read_text())["exposures"]
    (notebook,) = [e for e in exposures if e["type"] == "notebook"]
    assert (root / notebook["url"]).resolve() == NOTEBOOK.resolve()
    read = {
        ref
        for sql in (root / "dbt" / "analyses").glob("*.sql")
        for ref in re.findall(r"ref\('(\w+)'\)", sql.read_text())
    }
    assert {f"ref('{name}')" for name in read} == set(notebook["depends_on"])
