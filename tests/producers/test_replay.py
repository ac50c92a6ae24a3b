"""Replay of the real captures into the real broker."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.football_data import classify_columns
from producers.app import replay
from producers.replay import football_data_timeline, paced

CAPTURE = Path("odds-api") / "soccer_epl_odds_2024-03-27.json"


def _capture_quote_keys(path: Path) -> Counter:
    keys: Counter = Counter()
    for event in json.loads(path.read_text()):
        for book in event["bookmakers"]:
            for market in book["markets"]:
                for outcome in market["outcomes"]:
                    keys[(event["id"], book["key"], market["key"], outcome["name"])] += 1
    return keys


@pytest.mark.integration
def test_odds_api_replay_once_per_quote_then_nothing_new(
    lake_settings: Settings, shared_data: Path, topic_reader, tmp_path: Path
) -> None:
    settings = lake_settings.model_copy(update={"state_dir": tmp_path})  # fresh change-detection state
    expected = _capture_quote_keys(shared_data / CAPTURE)
    assert sum(expected.values()) == len(expected) == 1281

    start = topic_reader.end_offsets("odds.quotes")
    first = replay(settings, "odds-api")
    assert first["sent"] == {"odds": 1281} and first["dead_lettered"] == 0
    got = [r["value"] for r in topic_reader.read("odds.quotes", start)]
    keys = Counter((r["source_game_id"], r["bookmaker"], r["market"], r["selection_name"]) for r in got)
    assert keys == expected  # exactly one record per (event, bookmaker, market, selection)
    assert {r["game_id"] for r in got} == {k for k in {r["game_id"] for r in got} if k.count(":") == 2}
    assert len({r["game_id"] for r in got}) == 30

    middle = topic_reader.end_offsets("odds.quotes")
    second = replay(settings, "odds-api")
    assert second["sent"] == {"odds": 0}
    assert second["stats"]["unchanged"] == {"odds": 1281}
    assert topic_reader.read("odds.quotes", middle, idle_s=1.0) == []


def test_football_data_timeline_is_opening_then_closing_then_result(shared_data: Path) -> None:
    path = shared_data / "football-data" / "E0_2324.csv"
    timeline, rejects = football_data_timeline(path)
    assert rejects == []
    with path.open(encoding="latin-1") as fh:
        rows = list(csv.DictReader(fh))
        odds_cols = [c for c in classify_columns(rows[0].keys())[0] if c.kind != "composite"]
    cells = sum(1 for row in rows for c in odds_cols if (row[c.column] or "").strip())
    feeds = Counter(t.feed for t in timeline)
    assert feeds == {"odds": cells, "games": 2 * len(rows)}  # scheduled + final per match
    assert [t.at for t in timeline] == sorted(t.at for t in timeline)

    # Newcastle v West Ham, 30/03/2024 12:30 UK: still GMT (BST began on 31 March), so 12:30 UTC.
    game = [t for t in timeline if t.record["game_id"] == "2024-03-30:newcastle-united:west-ham-united"]
    statuses = [t.record["status"] for t in game if t.feed == "games"]
    assert statuses == ["scheduled", "final"]
    final = next(t.record for t in game if t.feed == "games" and t.record["status"] == "final")
    assert (final["home_score"], final["away_score"], final["commence_time"]) == (
        4,
        3,
        "2024-03-30T12:30:00.000000Z",
    )
    b365 = {
        (t.record["selection"], t.record["event_time"][11:16]): t.record["price"]
        for t in game
        if t.feed == "odds" and t.record["bookmaker"] == "bet365" and t.record["market"] == "h2h"
    }
    row = next(r for r in rows if r["HomeTeam"] == "Newcastle" and r["Date"] == "30/03/2024")
    assert b365[("home", "12:30")] == float(row["B365H"])  # opening, two days before
    assert b365[("home", "12:25")] == float(row["B365CH"])  # closing, five minutes before
    last_odds = max(t.at for t in game if t.feed == "odds")
    assert last_odds < next(t.at for t in game if t.feed == "games" and t.record["status"] == "final")


def test_bad_rows_are_rejected_with_reasons_and_nothing_valid_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "E0_2324.csv"
    path.write_text(
        "Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,B365H,B365D,B365A\n"
        "E0,30/03/2024,12:30,Newcastle,West Ham,4,3,1.8,4.0,4.2\n"
        "E0,31/02/2024,15:00,Arsenal,Luton,2,0,1.2,7,13\n"
        "E0,30/03/2024,15:00,Narnia Town,Luton,1,1,2,3,4\n"
        "E0,30/03/2024,15:00,Chelsea,Burnley,2,2,1.3,abc,9\n"
        ",,,,,,,,,\n"
    )
    timeline, rejects = football_data_timeline(path)
    # The same rows, for the same reasons, as the batch loader (one shared reader): the blank
    # line is a counted reject too, never a silent skip.
    assert [(r.feed, r.reason) for r in rejects] == [
        ("games", "E0_2324.csv row 2: bad date '31/02/2024'"),
        ("games", "E0_2324.csv row 3: unknown team 'Narnia Town'"),
        ("games", "E0_2324.csv row 5: empty row"),
        ("odds", "price is not a number: B365D='abc'"),
    ]
    assert rejects[0].raw["Date"] == "31/02/2024"  # the raw row, by column name
    prices = Counter(t.record["game_id"].split(":", 1)[1] for t in timeline if t.feed == "odds")
    assert prices == {"newcastle-united:west-ham-united": 3, "chelsea:burnley": 2}


def test_paced_replay_follows_the_timeline_at_the_requested_speed() -> None:
    from datetime import UTC, datetime, timedelta

    from producers.replay import TimedRecord

    t0 = datetime(2024, 3, 30, tzinfo=UTC)
    items = [TimedRecord("odds", {}, t0 + timedelta(seconds=s)) for s in (0, 60, 60, 180)]
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    out = list(paced(items, speed=60, clock=lambda: now[0], sleep=sleep))
    assert out == items
    assert slept == pytest.approx([1.0, 2.0])  # 60 s at 60x = 1 s; then 120 s more = 2 s


@pytest.mark.integration
def test_football_data_replay_dead_letters_bad_rows_by_feed(
    lake_settings: Settings, topic_reader, tmp_path: Path
) -> None:
    path = tmp_path / "E0_2324.csv"
    path.write_text(
        "Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,B365H,B365D,B365A\n"
        "E0,30/03/2024,12:30,Newcastle,West Ham,4,3,1.8,4.0,4.2\n"
        "E0,30/03/2024,15:00,Narnia Town,Luton,1,1,2,3,4\n"
        "E0,30/03/2024,15:00,Chelsea,Burnley,2,2,1.3,abc,9\n"
    )
    settings = lake_settings.model_copy(update={"state_dir": tmp_path})
    starts = {t: topic_reader.end_offsets(t) for t in ("odds.quotes.dlq", "games.events.dlq")}
    summary = replay(settings, "football-data", files=[path])
    assert summary["sent"] == {"games": 4, "odds": 5} and summary["dead_lettered"] == 2
    odds_dead = [r["value"] for r in topic_reader.read("odds.quotes.dlq", starts["odds.quotes.dlq"])]
    games_dead = [r["value"] for r in topic_reader.read("games.events.dlq", starts["games.events.dlq"])]
    assert [d["reason"] for d in odds_dead] == ["price is not a number: B365D='abc'"]
    assert len(games_dead) == 1 and "Narnia Town" in games_dead[0]["reason"]
    assert games_dead[0]["raw"]["HomeTeam"] == "Narnia Town"


def test_replay_and_the_batch_loader_accept_the_same_matches(shared_data: Path) -> None:
    """One reader for the format: every real season file gives the same games to both layers."""
    from batch.football_data import SeasonFile, parse_season

    for path in sorted((shared_data / "football-data").glob("*.csv")):
        timeline, rejects = football_data_timeline(path)
        replayed = {t.record["game_id"] for t in timeline if t.feed == "games"}
        loaded = parse_season(path.read_bytes(), SeasonFile.from_name(path.name))
        assert replayed == set(loaded.matches["match_id"].to_pylist()), path.name
        assert len([r for r in rejects if r.feed == "games"]) == loaded.counts.rejected_rows, path.name


def test_an_extra_league_file_replays_every_season(shared_data: Path, tmp_path: Path) -> None:
    """``USA.csv`` holds every MLS season: the replay reads each one, as the backfill does."""
    lines = (shared_data / "football-data-extra" / "USA.csv").read_text(encoding="utf-8-sig").splitlines()
    picked = [line for line in lines[1:] if ",2013," in line][:3] + [
        line for line in lines[1:] if ",2025," in line
    ][-2:]
    path = tmp_path / "new" / "USA.csv"
    path.parent.mkdir()
    path.write_text("\n".join([lines[0], *picked]) + "\n")
    timeline, rejects = football_data_timeline(path)
    assert rejects == []
    games = {t.record["game_id"] for t in timeline if t.feed == "games"}
    assert len(games) == 5 and {g[:4] for g in games} == {"2013", "2025"}
    books = Counter(t.record["bookmaker"] for t in timeline if t.feed == "odds")
    # Pinnacle's, Betfair's and (in 2025) Bet365's closing prices; the Max/Avg composites are not books.
    expected = Counter()
    for line in picked:
        cells = dict(zip(lines[0].split(","), line.split(","), strict=True))
        for code, book in (("PSC", "pinnacle"), ("BFEC", "betfair_ex"), ("B365C", "bet365")):
            expected[book] += sum(bool(cells.get(f"{code}{s}", "").strip()) for s in "HD") + bool(
                cells.get("B36CA" if code == "B365C" else f"{code}A", "").strip()
            )
    assert books == +expected and "market_max" not in books
    with pytest.raises(ValueError, match="is not a football-data season file"):
        football_data_timeline(tmp_path / "notes.csv")
