"""The demo's report: one self-contained HTML file (charts as inline SVG, no CDN, no script).

Live sections read Druid through the API's own reads (``serving.api.live.LiveStore``), history
sections read the dbt marts in the warehouse, so the report shows what a user of the platform
sees: the live odds board and arbitrage windows, bookmaker margins by season, Elo trajectories,
the calibration curve, closing-line value, and the pipeline's freshness.
"""

from __future__ import annotations

import html
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cli.demo import Summary

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6rem 0; }
td, th { padding: .2rem .6rem; border: 1px solid #e3e3e3; }
th { background: #f5f5f5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.best { font-weight: bold; background: #eaf6ea; } .bad { color: #b00; } .ok { color: #080; }
.note { color: #666; font-size: .9em; } svg { max-width: 100%; height: auto; }
"""


def _svg(figure: Figure) -> str:
    import matplotlib.pyplot as plt

    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = out.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float = 9.0, height: float = 3.6) -> tuple[Figure, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(width, height))
    axes.grid(alpha=0.3)
    return figure, axes


def _finish(figure: Figure, axes: Any, title: str, ylabel: str, xlabel: str = "", legend: bool = True) -> str:
    """Title, axis labels and legend, then the figure as inline SVG."""
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    if xlabel:
        axes.set_xlabel(xlabel)
    if legend:
        axes.legend(fontsize=8)
    return _svg(figure)


def _table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], best: set[tuple[int, str]] | None = None
) -> str:
    best = best or set()

    def cell(i: int, column: str, value: Any) -> str:
        klass = []
        if isinstance(value, int | float) and not isinstance(value, bool):
            klass.append("num")
            value = f"{value:,.4g}" if isinstance(value, float) else f"{value:,}"
        if (i, column) in best:
            klass.append("best")
        attr = f' class="{" ".join(klass)}"' if klass else ""
        return f"<td{attr}>{html.escape(str(value if value is not None else ''))}</td>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(cell(i, c, r.get(c)) for c in columns) + "</tr>" for i, r in enumerate(rows)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _warehouse(settings: Settings, sql: str) -> list[dict[str, Any]]:
    import duckdb

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- live (Druid) -------------------------------------------------------------------------------


def board_section(live: Any) -> str:
    games = live.games(datetime.now(UTC) - timedelta(days=1))
    if not games:
        return "<p>No live prices in Druid in the last day.</p>"
    game = max(games, key=lambda g: (g["quotes"], g["game_id"]))
    board = live.board(game["game_id"])
    h2h = next(
        (line for line in board["lines"] if line["market"] == "h2h"),
        board["lines"][0] if board["lines"] else None,
    )
    out = [
        f"<p><b>{html.escape(board['home_team'])} v {html.escape(board['away_team'])}</b> "
        f"({html.escape(board['sport'])}, kick-off {html.escape(str(board['commence_time']))}), "
        f"the game with the most quotes: {game['quotes']:,}; board as of {html.escape(board['as_of'])}.</p>"
    ]
    if h2h is None:
        return "".join(out)
    selections = h2h["selections"]
    prices = [p for p in board["prices"] if p["market"] == h2h["market"] and p.get("point") == h2h["line"]]
    books = sorted({p["bookmaker"] for p in prices})
    rows, best = [], set()
    for i, book in enumerate(books):
        row: dict[str, Any] = {"bookmaker": book}
        for s in selections:
            price = next((p["price"] for p in prices if p["bookmaker"] == book and p["selection"] == s), None)
            row[s] = price
            if price is not None and h2h["best_bookmakers"].get(s) == book:
                best.add((i, s))
        row["margin"] = h2h["margins"].get(book)
        rows.append(row)
    fair = {"bookmaker": "fair (Shin consensus)", **(h2h["fair_prob_shin"] or {})}
    out.append(_table([*rows, fair], ["bookmaker", *selections, "margin"], best))
    out.append(
        "<p class='note'>Best price per selection in bold; inverse sum of best prices "
        f"{h2h['inverse_sum']:.4f}"
        f"{' (an arbitrage)' if h2h['is_arbitrage'] else ''}.</p>"
    )
    figure, axes = _figure(height=3.0)
    margins = {b: m for b, m in h2h["margins"].items() if m is not None}
    axes.bar(list(margins), [m * 100 for m in margins.values()], color="#1f77b4")
    axes.tick_params(axis="x", rotation=45)
    out.append(_finish(figure, axes, "h2h margin by bookmaker, now", "margin (%)", legend=False))
    return "".join(out)


def arbitrage_section(live: Any) -> str:
    windows = live.arbitrage(datetime(2000, 1, 1, tzinfo=UTC))
    if not windows:
        return "<p>No arbitrage windows.</p>"
    top = sorted(windows, key=lambda w: -w["guaranteed_return"])[:15]
    out = [
        f"<p>{len(windows):,} windows ({sum(w['status'] == 'open' for w in windows)} open); "
        "the best 15 by return:</p>"
    ]
    rows = [
        {
            "game": w["game_id"],
            "market": w["market"],
            "status": w["status"],
            "return %": round(w["guaranteed_return"] * 100, 3),
            "bookmakers": ", ".join(w["bookmakers"] or []),
            "opened": str(w.get("opened_at") or w.get("detected_at") or ""),
        }
        for w in top
    ]
    out.append(_table(rows, list(rows[0])))
    figure, axes = _figure(height=3.0)
    axes.hist([w["guaranteed_return"] * 100 for w in windows], bins=30, color="#2ca02c")
    out.append(
        _finish(figure, axes, "arbitrage windows by return", "windows", "guaranteed return (%)", False)
    )
    return "".join(out)


def freshness_section(live: Any) -> str:
    rows = live.druid.sql(
        "SELECT __time AS observed, component, \"value\" FROM pipeline_health WHERE metric = 'freshness_s' "
        "AND __time >= CURRENT_TIMESTAMP - INTERVAL '1' DAY ORDER BY __time"
    )
    if not rows:
        return "<p>No freshness samples in the last day.</p>"
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for r in rows:
        series[r["component"]].append(
            (datetime.fromisoformat(str(r["observed"]).replace("Z", "+00:00")), float(r["value"]))
        )
    import matplotlib.dates as mdates

    figure, axes = _figure(height=3.0)
    for component, points in sorted(series.items()):
        axes.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=component)
    times = [p[0] for points in series.values() for p in points]
    axes.set_xlim(min(times) - timedelta(minutes=2), max(times) + timedelta(minutes=2))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    return _finish(figure, axes, "freshness: quote produced -> aggregate on Kafka", "seconds", "UTC")


# --- history (warehouse marts) ------------------------------------------------------------------


def margins_section(settings: Settings) -> str:
    rows = _warehouse(
        settings,
        "SELECT league, season, bookmaker, mean_margin FROM marts.mart_bookmaker_margin "
        "WHERE market = 'h2h' AND phase = 'closing' AND price_source = 'history' "
        "ORDER BY league, season, bookmaker",
    )
    if not rows:
        return "<p>No closing h2h margins.</p>"
    seasons: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        seasons[r["league"]].add(r["season"])
    league = max(sorted(seasons), key=lambda name: len(seasons[name]))  # the longest history
    series: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in rows:
        if r["league"] == league and r["mean_margin"] is not None:
            series[r["bookmaker"]].append((r["season"], float(r["mean_margin"]) * 100))
    figure, axes = _figure()
    for book, points in sorted(series.items(), key=lambda kv: -len(kv[1]))[:8]:
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, label=book)
    axes.tick_params(axis="x", rotation=60)
    return _finish(
        figure, axes, f"{league}: bookmaker margin by season (1X2, closing)", "mean closing margin (%)"
    )


def elo_section(settings: Settings) -> str:
    rows = _warehouse(
        settings,
        "WITH latest AS (SELECT league, max(season) AS season FROM marts.mart_team_elo GROUP BY league "
        "ORDER BY league LIMIT 1) SELECT e.team_id, e.match_date, e.elo_post, e.league, e.season "
        "FROM marts.mart_team_elo e JOIN latest USING (league, season) ORDER BY e.match_date",
    )
    if not rows:
        return "<p>No Elo ratings.</p>"
    series: dict[str, list[tuple[Any, float]]] = defaultdict(list)
    for r in rows:
        series[r["team_id"]].append((r["match_date"], float(r["elo_post"])))
    leaders = sorted(series, key=lambda t: -series[t][-1][1])[:6]
    figure, axes = _figure()
    for team in leaders:
        axes.plot([p[0] for p in series[team]], [p[1] for p in series[team]], label=team.replace("-", " "))
    figure.autofmt_xdate()
    title = f"{rows[0]['league']} {rows[0]['season']}: Elo of the six best-rated teams"
    return _finish(figure, axes, title, "Elo after the match")


def calibration_section(settings: Settings) -> str:
    rows = _warehouse(
        settings,
        "SELECT bookmaker, mean_fair_probability AS p, realised_win_rate AS won, predictions "
        "FROM marts.mart_calibration WHERE phase = 'closing' ORDER BY bookmaker, bucket_index",
    )
    if not rows:
        return "<p>No calibration buckets.</p>"
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    volume: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["p"] is not None and r["won"] is not None:
            series[r["bookmaker"]].append((float(r["p"]), float(r["won"])))
            volume[r["bookmaker"]] += int(r["predictions"])
    figure, axes = _figure(width=6, height=5)
    axes.plot([0, 1], [0, 1], color="#999", linestyle="--", label="perfect")
    for book in sorted(volume, key=lambda b: -volume[b])[:4]:
        axes.plot([p[0] for p in series[book]], [p[1] for p in series[book]], marker="o", ms=3, label=book)
    return _finish(
        figure,
        axes,
        "calibration of closing prices",
        "realised win rate",
        "fair probability from the closing price",
    )


def clv_section(settings: Settings) -> str:
    rows = _warehouse(
        settings,
        "SELECT bookmaker, count(*) AS prices, avg(closing_line_value) AS mean_clv, "
        "avg(CASE WHEN beat_closing_line THEN 1.0 ELSE 0.0 END) AS beat_share "
        "FROM marts.mart_closing_line_value WHERE closing_line_value IS NOT NULL "
        "GROUP BY bookmaker ORDER BY prices DESC LIMIT 10",
    )
    if not rows:
        return "<p>No closing-line value (it needs Pinnacle's closing prices).</p>"
    figure, axes = _figure(height=3.0)
    axes.bar([r["bookmaker"] for r in rows], [float(r["mean_clv"]) * 100 for r in rows], color="#9467bd")
    axes.axhline(0, color="#333", linewidth=0.8)
    axes.tick_params(axis="x", rotation=45)
    chart = _finish(
        figure,
        axes,
        "closing-line value by bookmaker (against Pinnacle's close)",
        "mean CLV of the opening price (%)",
        legend=False,
    )
    for r in rows:
        r["mean_clv"] = round(float(r["mean_clv"]) * 100, 3)
        r["beat_share"] = round(float(r["beat_share"]) * 100, 1)
    table = _table(rows, ["bookmaker", "prices", "mean_clv", "beat_share"])
    return chart + table + "<p class='note'>mean_clv and beat_share in %.</p>"


# --- the file -----------------------------------------------------------------------------------


def _summary_section(summary: Summary) -> str:
    checks = [
        {
            "check": c.name,
            "counts": ", ".join(f"{k} {v:,}" for k, v in c.counts.items()),
            "ok": "yes" if c.ok else "NO",
        }
        for c in summary.checks
    ]
    stages = [
        {
            "stage": s.name,
            "seconds": s.seconds,
            "what it did": "; ".join(f"{k}: {v}" for k, v in s.facts.items()),
        }
        for s in summary.stages
    ]
    return _table(stages, ["stage", "seconds", "what it did"]) + _table(checks, ["check", "counts", "ok"])


def _section(title: str, build: Any, *args: Any) -> str:
    try:
        body = build(*args)
    except Exception as exc:  # a report section never hides the rest; it says what failed
        reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        body = f"<p class='bad'>This section failed: {html.escape(reason)}</p>"
    return f"<h2>{html.escape(title)}</h2>{body}"


def write_report(settings: Settings, summary: Summary) -> Path:
    """Write the report; returns its path (``<state>/reports/demo-<UTC time>.html``)."""
    from serving.api.live import LiveStore
    from serving.query import DruidQuery

    with DruidQuery(settings.druid.broker_url) as druid:
        live = LiveStore(druid)
        sections = [
            _section("Live odds board (Druid)", board_section, live),
            _section("Arbitrage windows (Druid)", arbitrage_section, live),
            _section("Pipeline freshness (Druid)", freshness_section, live),
        ]
    sections += [
        _section("Bookmaker margins by season (warehouse)", margins_section, settings),
        _section("Elo trajectories (warehouse)", elo_section, settings),
        _section("Calibration (warehouse)", calibration_section, settings),
        _section("Closing-line value (warehouse)", clv_section, settings),
    ]
    now = datetime.now(UTC)
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Betting lakehouse demo, {now:%Y-%m-%d %H:%M} UTC</title><style>{CSS}</style></head><body>"
        f"<h1>Betting lakehouse: the demo run of {now:%Y-%m-%d %H:%M} UTC</h1>"
        f"<h2>Stages and checks</h2>{_summary_section(summary)}{''.join(sections)}</body></html>"
    )
    path = settings.state_dir / "reports" / f"demo-{now:%Y%m%dT%H%M%SZ}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
