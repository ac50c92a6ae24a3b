"""The simulator's event loop: a simulated clock producing canonical ``odds`` and ``games`` records.

Each tick (``tick_seconds`` of simulated time) the loop

1. advances every game: parameter drift, then, once kicked off, the match clock at
   ``game_speed`` game-seconds per simulated second (scoring, periods, full time);
2. emits a ``games`` record at time t for every kick-off, score, period change, full time,
   and every ``game_update_s`` as a clock heartbeat while live;
3. prices every open game once (its latent snapshot goes into a short history);
4. lets bookmakers re-price: a book reads the snapshot as it was ``delay_s`` ago (whole
   ticks, so a delay below one tick still lags one tick) and emits one ``odds`` record per
   selection whose (price, point) changed, with ``previous_price``. Re-quotes of one
   (book, game) share a ``last_update`` and are spread over the tick, so event times never
   go backwards.

Which books re-price when:

* by default each (book, game) re-prices every ``requote_s`` of that book (+-50% jitter);
* with ``target_rate`` R, a quote budget of R * tick is spent each tick on a round-robin
  over all (book, game) pairs, so the run produces R quotes per simulated second (to within
  one re-quote per tick) as long as the games in play can supply them.
  ``Simulator.for_rate`` sizes the pool of games (and keeps it full with ``rolling`` fixtures)
  so supply is about 1.5 times the target.

A finished game gets no more quotes. Event ids are ``sim-<seed>-<config hash>-<sequence>``:
the same seed and parameters give the same records, ids included.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from lakehouse.odds import Arbitrage, arbitrage
from lakehouse.records import game_event, odds_quote
from lakehouse.schemas import GameStatus, Market, Selection, format_timestamp
from producers.simulator.bookmakers import Bookmaker, evolve_tilt, quote, resolve_bookmakers
from producers.simulator.model import (
    DEFAULT_VOLATILITY,
    GameModel,
    SimTeam,
    Snapshot,
    SportSpec,
    load_teams,
    make_game_id,
    sport_spec,
)

SOURCE = "simulator"
SCHEMA_VERSION = 1
DEFAULT_SPORTS = ("soccer_epl", "americanfootball_nfl", "basketball_nba")
DEFAULT_START = datetime(2025, 1, 4, 15, 0, tzinfo=UTC)
QUOTES_PER_GAME_S = 25.0
"""Quotes per simulated second one game supplies when re-quoted continuously (about 28 measured
with the default books, drift and tick); ``for_rate`` provisions 1.5 times the target from it."""

Record = dict[str, Any]
T = TypeVar("T")


@dataclass
class _Slot:
    """One bookmaker's book on one game: its tilt per market and last prices per selection."""

    book: Bookmaker
    next_quote_s: float
    tilt: dict[Market, list[float]] = field(default_factory=dict)
    last: dict[tuple[Market, Selection], tuple[float, float | None]] = field(default_factory=dict)


@dataclass
class _Game:
    sport: str
    spec: SportSpec
    home: SimTeam
    away: SimTeam
    game_id: str
    source_game_id: str
    kickoff_s: float
    commence_time: str
    model: GameModel
    rng: random.Random
    slots: list[_Slot]
    history: deque[tuple[float, Snapshot]]
    next_heartbeat_s: float = 0.0

    def view(self, at_s: float) -> Snapshot:
        """The latest snapshot taken at or before ``at_s`` (the oldest one if none is)."""
        for taken, snapshot in reversed(self.history):
            if taken <= at_s + 1e-9:
                return snapshot
        return self.history[0][1]


class Simulator:
    """A seeded live market: games from the team registry, latent prices, several bookmakers.

    ``games_per_sport`` fixtures per sport key kick off ``first_kickoff_s`` after ``start``,
    then every ``kickoff_interval_s`` (sports interleaved, no team twice while it can be
    avoided). ``game_speed`` is match-clock seconds per simulated second (1: a soccer match
    takes 105 simulated minutes with half-time; 60: under two). ``volatility`` is the
    drift of the latent h2h log-odds per square-root second. ``target_rate`` switches
    re-quoting to a fixed quote budget (see the module docstring); ``rolling`` replaces each
    finished game with a new fixture kicking off ``first_kickoff_s`` later. ``registry`` is a
    ``lakehouse.teams`` registry (default: the packaged one); sports it has no teams for use a
    built-in list.
    """

    def __init__(
        self,
        seed: int = 42,
        sports: Sequence[str] = DEFAULT_SPORTS,
        games_per_sport: int = 4,
        bookmakers: Sequence[Bookmaker | str] | None = None,
        start: datetime = DEFAULT_START,
        tick_seconds: float = 1.0,
        *,
        first_kickoff_s: float = 60.0,
        kickoff_interval_s: float = 60.0,
        game_speed: float = 1.0,
        volatility: float = DEFAULT_VOLATILITY,
        target_rate: float | None = None,
        rolling: bool = False,
        game_update_s: float = 60.0,
        registry: Any = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if tick_seconds <= 0 or games_per_sport < 1 or game_speed <= 0:
            raise ValueError("tick_seconds, games_per_sport and game_speed must be positive")
        if target_rate is not None and target_rate <= 0:
            raise ValueError("target_rate must be positive")
        self.seed = seed
        self.sports = tuple(sports)
        self.books = resolve_bookmakers(bookmakers)
        self.start = start.astimezone(UTC)
        self.tick_seconds = tick_seconds
        self.first_kickoff_s = first_kickoff_s
        self.game_speed = game_speed
        self.volatility = volatility
        self.target_rate = target_rate
        self.rolling = rolling
        self.game_update_s = game_update_s
        config: tuple[object, ...] = (
            *(seed, self.sports, games_per_sport, self.books, self.start, tick_seconds, first_kickoff_s),
            *(kickoff_interval_s, game_speed, volatility, target_rate, rolling, game_update_s),
        )
        self._run_key = hashlib.sha1(repr(config).encode()).hexdigest()[:8]
        self._rng = random.Random(f"{seed}:schedule")
        self._tick = 0
        self._seq = 0
        self._budget = 0.0
        self._cursor = 0
        self._game_count = 0
        self._history_len = math.ceil(max(b.delay_s for b in self.books) / tick_seconds) + 2
        self._teams = {sport: load_teams(sport, registry) for sport in self.sports}
        self._ratings = {
            team.team_id: self._rng.gauss(0.0, sport_spec(sport).rating_sd)
            for sport in self.sports
            for team in self._teams[sport]
        }
        self._fixtures = {sport: self._fixture_list(sport) for sport in self.sports}
        self._used_ids: set[str] = set()
        self.games: dict[str, _Game] = {}
        """Games still open (scheduled or live), by game id."""
        self._pending: list[_Game] = []
        for i in range(games_per_sport):
            for sport in self.sports:
                self._add_game(sport, first_kickoff_s + i * kickoff_interval_s)

    @classmethod
    def for_rate(cls, rate_per_s: float, *, seed: int = 42, **kwargs: Any) -> Simulator:
        """A simulator emitting ``rate_per_s`` odds quotes per simulated second.

        Provisions games for 1.5 times the target supply (``QUOTES_PER_GAME_S`` each), replaces
        finished games (``rolling``) and spends the quote budget round-robin. The pool is
        bounded by the distinct fixtures per date (about 3,900 for the default sports), so
        the ceiling is roughly 100k quotes per simulated second, above what one process makes.
        """
        sports = tuple(kwargs.pop("sports", DEFAULT_SPORTS))
        books = resolve_bookmakers(kwargs.get("bookmakers"))
        per_game = QUOTES_PER_GAME_S * len(books) / 8.0
        games = max(1, math.ceil(1.5 * rate_per_s / (per_game * len(sports))))
        kwargs.setdefault("games_per_sport", games)
        kwargs.setdefault("rolling", True)
        return cls(seed=seed, sports=sports, target_rate=rate_per_s, **kwargs)

    # ------------------------------------------------------------------ public

    @property
    def now(self) -> datetime:
        """Simulated time of the next tick."""
        return self.start + timedelta(seconds=self._tick * self.tick_seconds)

    def fair(self, game_id: str, ago_s: float = 0.0) -> Snapshot:
        """Latent fair markets of an open game ``ago_s`` before the last tick (KeyError once final)."""
        game = self.games[game_id]
        return game.view(game.history[-1][0] - ago_s)

    def run(self, duration_s: float) -> Iterator[tuple[str, Record]]:
        """(feed, record) pairs for the next ``duration_s`` simulated seconds, in time order.

        Runs as fast as it can; successive calls continue the same simulated clock.
        """
        end = self._tick + math.ceil(duration_s / self.tick_seconds - 1e-9)
        while self._tick < end:
            yield from self._step()
            self._tick += 1

    # ------------------------------------------------------------------ schedule

    def _fixture_list(self, sport: str) -> deque[tuple[SimTeam, SimTeam]]:
        """A double round robin (circle method): each block of n/2 fixtures has no team twice."""
        teams: list[SimTeam | None] = list(self._teams[sport])
        self._rng.shuffle(teams)
        if len(teams) % 2:
            teams.append(None)  # a bye
        n = len(teams)
        rounds = []
        for r in range(n - 1):
            pairs = [(teams[k], teams[n - 1 - k]) for k in range(n // 2)]
            rounds.append([(a, b) if r % 2 else (b, a) for a, b in pairs if a and b])
            teams.insert(1, teams.pop())
        first = [p for rnd in rounds for p in rnd]
        return deque(first + [(b, a) for a, b in first])

    def _next_fixture(self, sport: str, kickoff: str) -> tuple[SimTeam, SimTeam, str] | None:
        fixtures = self._fixtures[sport]
        busy = {t for g in self.games.values() for t in (g.home.team_id, g.away.team_id)}
        fallback = None
        for i, (home, away) in enumerate(fixtures):
            gid = make_game_id(kickoff, home.team_id, away.team_id, sport)
            if gid in self._used_ids:
                continue
            if home.team_id not in busy and away.team_id not in busy:
                fallback = i, gid
                break
            if fallback is None:
                fallback = i, gid
        if fallback is None:
            return None
        i, gid = fallback
        home, away = fixtures[i]
        del fixtures[i]
        fixtures.append((home, away))  # fixtures recur, on another date
        return home, away, gid

    def _add_game(self, sport: str, kickoff_s: float) -> _Game | None:
        spec = sport_spec(sport)
        commence = format_timestamp(self.start + timedelta(seconds=kickoff_s))
        picked = self._next_fixture(sport, commence)
        if picked is None:
            return None
        home, away, gid = picked
        index = self._game_count
        self._game_count += 1
        rng = random.Random(f"{self.seed}:game:{index}")
        ratings = self._ratings[home.team_id], self._ratings[away.team_id]
        model = GameModel(spec, *ratings, rng, self.volatility)
        now_s = self._tick * self.tick_seconds
        game = _Game(
            sport=sport,
            spec=spec,
            home=home,
            away=away,
            game_id=gid,
            source_game_id=f"sim-{self.seed}-{index}",
            kickoff_s=kickoff_s,
            commence_time=commence,
            model=model,
            rng=random.Random(f"{self.seed}:books:{index}"),
            slots=[_Slot(book, now_s) for book in self.books],
            history=deque(maxlen=self._history_len),
        )
        markets = model.price()
        for slot in game.slots:
            for mf in markets:
                slot.tilt[mf.market] = [game.rng.gauss(0.0, slot.book.noise) for _ in mf.selections]
        self._used_ids.add(gid)
        self.games[gid] = game
        self._pending.append(game)
        return game

    # ------------------------------------------------------------------ the loop

    def _step(self) -> Iterator[tuple[str, Record]]:
        now_s = self._tick * self.tick_seconds
        events: list[Record] = []
        for game in self._pending:
            events.append(self._game_record(game))
        self._pending.clear()
        for game in list(self.games.values()):
            if self._advance(game, now_s):
                events.append(self._game_record(game))
            if game.model.finished:
                del self.games[game.game_id]
                if self.rolling:
                    new = self._add_game(game.sport, now_s + self.first_kickoff_s)
                    if new is not None:
                        events.append(self._game_record(new))
                        self._pending.remove(new)
        for game in self.games.values():
            game.history.append((now_s, game.model.price()))
        groups = self._requote(now_s)
        micros = round(now_s * 1e6)
        stamp = self._stamp(micros)
        for record in events:
            yield "games", self._envelope(record, stamp)
        tick_us = round(self.tick_seconds * 1e6)
        for i, group in enumerate(groups):
            stamp = self._stamp(micros + tick_us * (i + 1) // (len(groups) + 1))
            for record in group:
                record["last_update"] = stamp
                yield "odds", self._envelope(record, stamp)

    def _advance(self, game: _Game, now_s: float) -> bool:
        """Drift and play one tick; True when the game state changed enough to report."""
        model = game.model
        changed = False
        if self._tick > 0:
            model.drift(self.tick_seconds)
            if model.status is GameStatus.LIVE:
                changed = model.play(self.tick_seconds * self.game_speed)
        if model.status is GameStatus.SCHEDULED and now_s >= game.kickoff_s - 1e-9:
            model.kick_off()
            changed = True
        if changed:
            game.next_heartbeat_s = now_s + self.game_update_s
        elif model.status is GameStatus.LIVE and now_s >= game.next_heartbeat_s - 1e-9:
            game.next_heartbeat_s = now_s + self.game_update_s
            changed = True
        return changed

    def _requote(self, now_s: float) -> list[list[Record]]:
        groups: list[list[Record]] = []
        if self.target_rate is None:
            for game in self.games.values():
                for slot in game.slots:
                    if now_s >= slot.next_quote_s - 1e-9:
                        slot.next_quote_s = now_s + slot.book.requote_s * game.rng.uniform(0.5, 1.5)
                        if group := self._reprice(game, slot, now_s):
                            groups.append(group)
            return groups
        self._budget += self.target_rate * self.tick_seconds
        ring = [(game, slot) for game in self.games.values() for slot in game.slots]
        for _ in range(len(ring)):
            if self._budget <= 0:
                break
            game, slot = ring[self._cursor % len(ring)]
            self._cursor += 1
            if group := self._reprice(game, slot, now_s):
                groups.append(group)
                self._budget -= len(group)
        self._budget = min(self._budget, self.target_rate * self.tick_seconds)  # no catch-up bursts
        return groups

    def _reprice(self, game: _Game, slot: _Slot, now_s: float) -> list[Record]:
        book = slot.book
        out = []
        for mf in game.view(now_s - book.delay_s):
            tilt = slot.tilt[mf.market]
            evolve_tilt(tilt, book.noise, game.rng)
            for selection, price in zip(mf.selections, quote(book, mf.probs, tilt), strict=True):
                point = mf.point_for(selection)
                key = (mf.market, selection)
                previous = slot.last.get(key)
                if previous == (price, point):
                    continue
                slot.last[key] = (price, point)
                out.append(self._quote_record(game, book, mf.market, selection, price, point, previous))
        return out

    # ------------------------------------------------------------------ records

    def _stamp(self, micros: int) -> str:
        return format_timestamp(self.start + timedelta(microseconds=micros))

    def _envelope(self, record: Record, stamp: str) -> Record:
        self._seq += 1
        record["event_id"] = f"sim-{self.seed}-{self._run_key}-{self._seq}"
        record["event_time"] = record["ingested_at"] = stamp
        return record

    @staticmethod
    def _identity(game: _Game) -> dict[str, Any]:
        """The fields every record of a game shares; times and id are stamped on emit (``_envelope``)."""
        return {
            "event_id": "",
            "source": SOURCE,
            "sport": game.sport,
            "event_time": "",
            "ingested_at": "",
            "schema_version": SCHEMA_VERSION,
            "game_id": game.game_id,
            "source_game_id": game.source_game_id,
        }

    def _quote_record(
        self,
        game: _Game,
        book: Bookmaker,
        market: Market,
        selection: Selection,
        price: float,
        point: float | None,
        previous: tuple[float, float | None] | None,
    ) -> Record:
        name = {
            Selection.HOME: game.home.name,
            Selection.AWAY: game.away.name,
            Selection.DRAW: "Draw",
            Selection.OVER: "Over",
            Selection.UNDER: "Under",
        }[selection]
        return odds_quote(
            **self._identity(game),
            bookmaker=book.key,
            bookmaker_title=book.title,
            market=market.value,
            selection=selection.value,
            selection_name=name,
            price=price,
            point=point,
            is_exchange=book.is_exchange,
            last_update="",
            previous_price=previous[0] if previous else None,
            home_team=game.home.name,
            away_team=game.away.name,
            commence_time=game.commence_time,
        )

    def _game_record(self, game: _Game) -> Record:
        model = game.model
        started = model.status is not GameStatus.SCHEDULED
        return game_event(
            **self._identity(game),
            competition=game.spec.competition,
            home_team=game.home.name,
            away_team=game.away.name,
            home_team_id=game.home.team_id,
            away_team_id=game.away.team_id,
            commence_time=game.commence_time,
            status=model.status.value,
            period=model.period if started else None,
            clock=model.clock(),
            home_score=model.home_score if started else None,
            away_score=model.away_score if started else None,
            venue_name=game.home.venue_name,
            venue_city=game.home.venue_city,
            venue_country=game.home.venue_country,
            venue_lat=game.home.venue_lat,
            venue_lon=game.home.venue_lon,
        )


# ---------------------------------------------------------------------- pacing


def paced(
    records: Iterable[T],
    rate_per_s: float,
    *,
    burst: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[T]:
    """Re-emit ``records`` at ``rate_per_s`` in real time (token bucket).

    Tokens accrue at the rate up to ``burst`` (default: 50 ms worth, at least 1), so a
    stalled consumer gets at most that many records at once, never a catch-up burst; the
    bucket starts with one token. Sleeps are batched: one sleep per missing token deficit.
    """
    if rate_per_s <= 0:
        raise ValueError("rate_per_s must be positive")
    capacity = burst if burst is not None else max(1.0, rate_per_s * 0.05)
    tokens = 1.0
    last = clock()
    for item in records:
        while tokens < 1.0 - 1e-9:  # the tolerance stops float dust from asking for 1e-20 s sleeps
            sleep((1.0 - tokens) / rate_per_s)
            now = clock()
            tokens = min(capacity, tokens + (now - last) * rate_per_s)
            last = now
        tokens -= 1.0
        yield item


def restamped(
    stream: Iterable[tuple[str, Record]], now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Iterator[tuple[str, Record]]:
    """Set ``ingested_at`` to wall time as each record passes: real-time mode for ``paced`` output."""
    for feed, record in stream:
        yield feed, {**record, "ingested_at": format_timestamp(now())}


# ---------------------------------------------------------------------- arbitrage


@dataclass(frozen=True)
class OpenArbitrage:
    """Best prices across books on one (game, market, line) that sum below 100% implied."""

    game_id: str
    market: str
    point: float | None
    arbitrage: Arbitrage
    bookmakers: dict[str, tuple[str, ...]]


class QuoteBoard:
    """The latest quote of every (game, book, market, selection) seen on a record stream.

    A quote at a new point replaces the book's quote at the old one, like the platform's
    change detector; a game's quotes are dropped when its ``games`` record says final.
    """

    def __init__(self) -> None:
        self._quotes: dict[tuple[str, str], dict[tuple[str, str], tuple[float, float | None]]] = {}

    def apply(self, feed: str, record: Record) -> None:
        if feed == "odds":
            key = (record["game_id"], record["market"])
            self._quotes.setdefault(key, {})[(record["bookmaker"], record["selection"])] = (
                record["price"],
                record["point"],
            )
        elif feed == "games" and record["status"] == GameStatus.FINAL:
            for key in [k for k in self._quotes if k[0] == record["game_id"]]:
                del self._quotes[key]

    def games(self) -> list[str]:
        """Ids of the games with quotes on the board."""
        return sorted({game_id for game_id, _ in self._quotes})

    def prices(self, game_id: str, market: str) -> dict[str, dict[str, tuple[float, float | None]]]:
        """{bookmaker: {selection: (price, point)}} for one market of one game."""
        out: dict[str, dict[str, tuple[float, float | None]]] = {}
        for (book, selection), value in self._quotes.get((game_id, market), {}).items():
            out.setdefault(book, {})[selection] = value
        return out

    def open_arbitrages(self) -> list[OpenArbitrage]:
        """Every (game, market, line) whose best prices across books are an arbitrage now."""
        found = []
        for (game_id, market), quotes in self._quotes.items():
            lines: dict[float | None, dict[str, dict[str, float]]] = {}
            selections = set()
            for (book, selection), (price, point) in quotes.items():
                away_spread = market == Market.SPREADS and selection == Selection.AWAY
                line = -point if away_spread and point is not None else point
                lines.setdefault(line, {}).setdefault(selection, {})[book] = price
                selections.add(selection)
            for line, by_selection in lines.items():
                if len(by_selection) < len(selections):
                    continue
                best = {s: max(books.values()) for s, books in sorted(by_selection.items())}
                arb = arbitrage(best)
                if arb.is_arbitrage:
                    books = {
                        s: tuple(sorted(b for b, p in by_selection[s].items() if p == best[s])) for s in best
                    }
                    found.append(OpenArbitrage(game_id, market, line, arb, books))
        return found


@dataclass
class ArbitrageWindow:
    """A stretch of simulated time during which one (game, market, line) was an arbitrage."""

    game_id: str
    market: str
    point: float | None
    opened: datetime
    closed: datetime | None = None
    best_return: float = 0.0

    @property
    def duration_s(self) -> float | None:
        return None if self.closed is None else (self.closed - self.opened).total_seconds()


def arbitrage_windows(
    stream: Iterable[tuple[str, Record]], sample_s: float = 1.0
) -> tuple[list[ArbitrageWindow], QuoteBoard]:
    """Windows of cross-book arbitrage on a record stream, sampling the board every ``sample_s``.

    The board is checked just before each sample boundary of event time; a window closes at
    the first sample where that (game, market, line) is no longer an arbitrage (still-open
    windows at the end have ``closed`` None). Resolution is one sample.
    """
    board = QuoteBoard()
    windows: list[ArbitrageWindow] = []
    open_: dict[tuple[str, str, float | None], ArbitrageWindow] = {}
    step = timedelta(seconds=sample_s)
    boundary: datetime | None = None

    def sample(at: datetime) -> None:
        current = {(a.game_id, a.market, a.point): a for a in board.open_arbitrages()}
        for key, arb in current.items():
            window = open_.get(key)
            if window is None:
                window = open_[key] = ArbitrageWindow(*key, opened=at)
                windows.append(window)
            window.best_return = max(window.best_return, arb.arbitrage.guaranteed_return)
        for key in [k for k in open_ if k not in current]:
            open_.pop(key).closed = at

    for feed, record in stream:
        at = datetime.fromisoformat(record["event_time"])
        if boundary is None:
            boundary = at + step
        while at >= boundary:
            sample(boundary)
            boundary += step
        board.apply(feed, record)
    return windows, board
