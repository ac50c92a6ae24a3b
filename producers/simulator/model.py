"""The latent game model: the hidden "true" state every simulated bookmaker prices from.

Why a latent state: the books never look at each other. They all quote the same fair
probabilities, each with its own margin, noise and reaction delay, so cross-book effects
(best prices, short-lived arbitrages after a goal) emerge from staleness as in real markets
instead of being scripted.

Two scoring models, each the simplest one that prices h2h, spreads and totals consistently
from one state (current score, share of play left ``f`` and two drifting parameters):

* soccer: home and away goals are independent Poisson processes with rates ``exp(a_home)``
  and ``exp(a_away)`` goals per 90 minutes. Goals still to come are Poisson(rate * f), so
  win/draw/lose, Asian handicap (P(margin + line > 0)) and over/under (P(total > line)) are
  exact sums over Poisson probabilities. A goal changes the score, and as ``f`` shrinks the
  distribution of goals to come collapses on zero: time decay pushes toward the current result.
* two-way sports (NFL, NBA): points arrive as a compound Poisson process of scoring plays
  (NFL 3 or 7, NBA 1/2/3). Given the expected full-game margin ``m`` and total ``t``, what is
  still to come is approximately normal with mean ``m * f`` (``t * f``) and variance
  ``t * E[play²] / E[play] * f`` (the compound Poisson variance, the same for margin and
  total), so every market is a normal tail probability. Ties at full time go to overtime.

Drift: the two parameters (log goal rates, or ``m`` and ``t``) follow an Ornstein-Uhlenbeck
walk around their pre-match values, scaled so that the h2h log-odds move about
``volatility`` per square-root second, with a 30-minute mean reversion that keeps long runs
bounded. Lines (handicap, total) are the half-integer nearest to the expected outcome, kept
while within 0.75 of it, so they move with the game but do not flicker.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lakehouse.schemas import GameStatus, Market, Selection

DEFAULT_VOLATILITY = 0.005
"""Short-term drift of h2h log-odds per square-root second: about 0.04 over a minute."""

MEAN_REVERSION_S = 1800.0
"""Time constant of the parameter drift; the stationary spread is volatility * sqrt(900 s)."""

_LINE_HYSTERESIS = 0.75
_MIN_SD = 1e-6

H2H_3WAY = (Selection.HOME, Selection.DRAW, Selection.AWAY)
H2H_2WAY = (Selection.HOME, Selection.AWAY)
SPREAD = (Selection.HOME, Selection.AWAY)
TOTALS = (Selection.OVER, Selection.UNDER)


@dataclass(frozen=True)
class SportSpec:
    """How one sport is played and scored; ratings are log goal rates (soccer) or points."""

    family: str
    competition: str
    three_way: bool
    periods: int
    period_s: float
    halftime_s: float
    mean_total: float
    home_edge: float
    rating_sd: float
    total_sd: float
    plays: tuple[tuple[int, float], ...]
    overtime_s: float = 0.0
    sudden_death: bool = False
    countdown: bool = True

    @property
    def regulation_s(self) -> float:
        return self.periods * self.period_s

    @property
    def mean_play(self) -> float:
        return sum(size * p for size, p in self.plays)

    @property
    def variance_per_point(self) -> float:
        """Var(points) / E(points) of the compound Poisson scoring process: E[play²] / E[play]."""
        return sum(size * size * p for size, p in self.plays) / self.mean_play


SOCCER = SportSpec(
    family="soccer",
    competition="Soccer",
    three_way=True,
    periods=2,
    period_s=45 * 60.0,
    halftime_s=15 * 60.0,
    mean_total=2.7,
    home_edge=0.25,
    rating_sd=0.3,
    total_sd=0.1,
    plays=((1, 1.0),),
    countdown=False,
)
NFL = SportSpec(
    family="americanfootball",
    competition="NFL",
    three_way=False,
    periods=4,
    period_s=15 * 60.0,
    halftime_s=12 * 60.0,
    mean_total=45.0,
    home_edge=1.5,
    rating_sd=5.0,
    total_sd=3.0,
    plays=((3, 0.4), (7, 0.6)),
    overtime_s=10 * 60.0,
    sudden_death=True,
)
NBA = SportSpec(
    family="basketball",
    competition="NBA",
    three_way=False,
    periods=4,
    period_s=12 * 60.0,
    halftime_s=15 * 60.0,
    mean_total=225.0,
    home_edge=2.5,
    rating_sd=5.0,
    total_sd=6.0,
    plays=((1, 0.08), (2, 0.62), (3, 0.30)),
    overtime_s=5 * 60.0,
)
SPORT_FAMILIES = {spec.family: spec for spec in (SOCCER, NFL, NBA)}
COMPETITIONS = {
    "soccer_epl": "Premier League",
    "soccer_spain_la_liga": "La Liga",
    "soccer_germany_bundesliga": "Bundesliga",
    "soccer_italy_serie_a": "Serie A",
    "soccer_france_ligue_one": "Ligue 1",
    "americanfootball_nfl": "NFL",
    "basketball_nba": "NBA",
}


def sport_spec(sport_key: str) -> SportSpec:
    """The spec for an Odds API sport key (``soccer_*``, ``americanfootball_*``, ``basketball_*``)."""
    family = sport_key.split("_", 1)[0]
    if family not in SPORT_FAMILIES:
        raise ValueError(f"unsupported sport {sport_key!r} (families: {', '.join(SPORT_FAMILIES)})")
    spec = SPORT_FAMILIES[family]
    return replace(spec, competition=COMPETITIONS.get(sport_key, sport_key))


# --------------------------------------------------------------------------- teams


@dataclass(frozen=True)
class SimTeam:
    """The slice of a registry team the simulator needs."""

    team_id: str
    name: str
    venue_name: str | None = None
    venue_city: str | None = None
    venue_country: str | None = None
    venue_lat: float | None = None
    venue_lon: float | None = None


_FALLBACK_TEAMS = {
    "soccer": "Arsenal|Aston Villa|Bournemouth|Brentford|Brighton and Hove Albion|Chelsea|Crystal Palace"
    "|Everton|Fulham|Ipswich Town|Leicester City|Liverpool|Manchester City|Manchester United"
    "|Newcastle United|Nottingham Forest|Southampton|Tottenham Hotspur|West Ham United"
    "|Wolverhampton Wanderers",
    "americanfootball": "Arizona Cardinals|Atlanta Falcons|Baltimore Ravens|Buffalo Bills|Carolina Panthers"
    "|Chicago Bears|Cincinnati Bengals|Cleveland Browns|Dallas Cowboys|Denver Broncos|Detroit Lions"
    "|Green Bay Packers|Houston Texans|Indianapolis Colts|Jacksonville Jaguars|Kansas City Chiefs"
    "|Las Vegas Raiders|Los Angeles Chargers|Los Angeles Rams|Miami Dolphins|Minnesota Vikings"
    "|New England Patriots|New Orleans Saints|New York Giants|New York Jets|Philadelphia Eagles"
    "|Pittsburgh Steelers|San Francisco 49ers|Seattle Seahawks|Tampa Bay Buccaneers|Tennessee Titans"
    "|Washington Commanders",
    "basketball": "Atlanta Hawks|Boston Celtics|Brooklyn Nets|Charlotte Hornets|Chicago Bulls"
    "|Cleveland Cavaliers|Dallas Mavericks|Denver Nuggets|Detroit Pistons|Golden State Warriors"
    "|Houston Rockets|Indiana Pacers|Los Angeles Clippers|Los Angeles Lakers|Memphis Grizzlies|Miami Heat"
    "|Milwaukee Bucks|Minnesota Timberwolves|New Orleans Pelicans|New York Knicks|Oklahoma City Thunder"
    "|Orlando Magic|Philadelphia 76ers|Phoenix Suns|Portland Trail Blazers|Sacramento Kings"
    "|San Antonio Spurs|Toronto Raptors|Utah Jazz|Washington Wizards",
}


_FALLBACK_PREFIX = {"soccer": "", "americanfootball": "nfl-", "basketball": "nba-"}


def fallback_teams(family: str) -> tuple[SimTeam, ...]:
    """Built-in teams for a sport family (registry-style slug ids), for when the registry has none."""
    prefix = _FALLBACK_PREFIX[family]
    return tuple(
        SimTeam(prefix + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"), name)
        for name in _FALLBACK_TEAMS[family].split("|")
    )


def _venue(team: Any) -> dict[str, Any]:
    venue = getattr(team, "venue", None)
    if venue is None:
        return {}

    def get(*names: str) -> Any:
        for name in names:
            value = venue.get(name) if isinstance(venue, Mapping) else getattr(venue, name, None)
            if value is not None:
                return value
        return None

    if isinstance(venue, str):
        return {"venue_name": venue}
    return {
        "venue_name": get("name"),
        "venue_city": get("city"),
        "venue_country": get("country"),
        "venue_lat": get("lat", "latitude"),
        "venue_lon": get("lon", "longitude"),
    }


def load_teams(sport_key: str, registry: Any = None) -> tuple[SimTeam, ...]:
    """Teams of a competition from the team registry, or the built-in list if it has too few."""
    family = sport_spec(sport_key).family
    try:
        if registry is None:
            from lakehouse.teams import get_registry

            registry = get_registry()
        teams = registry.teams(sport=family, competition=sport_key)
        found = tuple(SimTeam(str(t.team_id), str(t.name), **_venue(t)) for t in teams)
    except Exception:  # registry missing or broken: the simulator must still run
        found = ()
    return found if len(found) >= 2 else fallback_teams(family)


def make_game_id(kickoff: str, home_team_id: str, away_team_id: str, sport: str | None = None) -> str:
    """The registry's canonical game id, or the same ``YYYY-MM-DD:home:away`` shape without it."""
    try:
        from lakehouse.teams import game_id
    except ImportError:
        return f"{kickoff[:10]}:{home_team_id}:{away_team_id}"
    return game_id(kickoff, home_team_id, away_team_id, sport=sport)


# --------------------------------------------------------------------------- fair markets


@dataclass(frozen=True, slots=True)
class MarketFair:
    """Fair probabilities of one market, in ``selections`` order.

    ``point`` is the home handicap for spreads (the away side gets ``-point``) and the line
    for totals; None for h2h.
    """

    market: Market
    point: float | None
    selections: tuple[Selection, ...]
    probs: tuple[float, ...]

    def prob(self, selection: Selection | str) -> float:
        return self.probs[self.selections.index(Selection(selection))]

    def point_for(self, selection: Selection) -> float | None:
        if self.point is None:
            return None
        return -self.point if self.market is Market.SPREADS and selection is Selection.AWAY else self.point


Snapshot = tuple[MarketFair, ...]
"""All markets of one game at one instant: h2h, spreads, totals."""


def _poisson_pmf(lam: float) -> list[float]:
    lam = max(lam, 0.0)
    size = int(lam + 8.0 * math.sqrt(lam) + 8.0)
    pmf = [math.exp(-lam)]
    for k in range(1, size):
        pmf.append(pmf[-1] * lam / k)
    return pmf


def _survival(pmf: Sequence[float]) -> list[float]:
    """``out[k] = P(X >= k)`` for k in 0..len(pmf)."""
    out = [0.0] * (len(pmf) + 1)
    for k in range(len(pmf) - 1, -1, -1):
        out[k] = out[k + 1] + pmf[k]
    return out


def _diff_above(sf_home: Sequence[float], pmf_away: Sequence[float], x: int) -> float:
    """P(H - A > x) for independent H (survival ``sf_home``) and A (pmf ``pmf_away``)."""
    total, top = 0.0, len(sf_home) - 1
    for j, pj in enumerate(pmf_away):
        k = x + j + 1
        total += pj * (1.0 if k <= 0 else sf_home[k] if k <= top else 0.0)
    return total


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _poisson_draw(rng: random.Random, lam: float) -> int:
    if lam <= 0.0:
        return 0
    if lam > 30.0:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _nearest_line(current: float | None, target: float, floor: float | None = None) -> float:
    """Half-integer line nearest ``target``; keeps ``current`` while it is close enough."""
    if (
        current is not None
        and abs(current - target) <= _LINE_HYSTERESIS
        and (floor is None or current > floor)
    ):
        return current
    line = math.floor(target) + 0.5
    if floor is not None and line <= floor:
        line = math.floor(floor) + 0.5
    return line


# --------------------------------------------------------------------------- the game


class GameModel:
    """One fixture's latent state: clock, score, drifting parameters and current lines."""

    def __init__(
        self,
        spec: SportSpec,
        home_rating: float,
        away_rating: float,
        rng: random.Random,
        volatility: float = DEFAULT_VOLATILITY,
    ) -> None:
        self.spec = spec
        self.rng = rng
        self.status = GameStatus.SCHEDULED
        self.period = 0
        self.period_elapsed = 0.0
        self.break_left = 0.0
        self.home_score = 0
        self.away_score = 0
        diff = home_rating - away_rating
        if spec.three_way:  # log goal rates per game
            base = math.log(spec.mean_total / 2.0) + rng.gauss(0.0, spec.total_sd)
            self.params = [base + (spec.home_edge + diff) / 2.0, base - (spec.home_edge + diff) / 2.0]
            self._param_vol = (volatility * 0.8, volatility * 0.8)
        else:  # expected full-game home margin and total, in points
            total = spec.mean_total + rng.gauss(0.0, spec.total_sd)
            self.params = [spec.home_edge + diff, total]
            sigma = math.sqrt(total * spec.variance_per_point)
            self._param_vol = (volatility * sigma / 1.7, volatility * sigma / 1.7)
        self.anchor = list(self.params)
        self.spread_line: float | None = None
        self.total_line: float | None = None

    # ---- clock and scoring

    @property
    def finished(self) -> bool:
        return self.status is GameStatus.FINAL

    @property
    def in_break(self) -> bool:
        return self.break_left > 0.0

    def _period_length(self) -> float:
        return self.spec.period_s if self.period <= self.spec.periods else self.spec.overtime_s

    def fraction_left(self) -> float:
        """Share of regulation play still to come (overtime counts against regulation length)."""
        spec = self.spec
        if self.status is GameStatus.SCHEDULED:
            return 1.0
        if self.finished:
            return 0.0
        left = self._period_length() - self.period_elapsed
        if self.period <= spec.periods:
            left += (spec.periods - self.period) * spec.period_s
        return max(left, 0.0) / spec.regulation_s

    def clock(self) -> str | None:
        """Game clock as a feed would display it: "67'" (soccer), "04:12" left in period, "HT"."""
        if self.status is GameStatus.SCHEDULED:
            return None
        if self.finished:
            return "FT" if not self.spec.countdown else "00:00"
        if self.in_break:
            return "HT"
        if self.spec.countdown:
            left = max(0, math.ceil(self._period_length() - self.period_elapsed))
            return f"{left // 60:02d}:{left % 60:02d}"
        minutes = (self.period - 1) * self.spec.period_s / 60.0 + self.period_elapsed / 60.0
        cap = self.period * self.spec.period_s / 60.0
        return f"{min(math.floor(minutes) + 1, int(cap))}'"

    def kick_off(self) -> None:
        if self.status is GameStatus.SCHEDULED:
            self.status, self.period, self.period_elapsed = GameStatus.LIVE, 1, 0.0

    def _rates(self) -> tuple[float, float]:
        """Scoring plays per game-second for home and away."""
        spec = self.spec
        if spec.three_way:
            return math.exp(self.params[0]) / spec.regulation_s, math.exp(self.params[1]) / spec.regulation_s
        margin, total = self.params
        home = max((total + margin) / 2.0, 0.02 * total)
        away = max((total - margin) / 2.0, 0.02 * total)
        per_play = spec.mean_play * spec.regulation_s
        return home / per_play, away / per_play

    def _play_size(self) -> int:
        u = self.rng.random()
        for size, p in self.spec.plays:
            u -= p
            if u < 0.0:
                return size
        return self.spec.plays[-1][0]

    def _score(self, seconds: float) -> bool:
        home_rate, away_rate = self._rates()
        if self.spec.sudden_death and self.period > self.spec.periods:
            total = home_rate + away_rate
            if self.rng.random() >= 1.0 - math.exp(-total * seconds):
                return False
            if self.rng.random() < home_rate / total:
                self.home_score += self._play_size()
            else:
                self.away_score += self._play_size()
            return True
        home = sum(self._play_size() for _ in range(_poisson_draw(self.rng, home_rate * seconds)))
        away = sum(self._play_size() for _ in range(_poisson_draw(self.rng, away_rate * seconds)))
        self.home_score += home
        self.away_score += away
        return bool(home or away)

    def _end_period(self) -> None:
        spec = self.spec
        tied = self.home_score == self.away_score
        if self.period == spec.periods // 2 and spec.halftime_s > 0:
            self.break_left = spec.halftime_s  # the period moves on when the break is over
        elif self.period < spec.periods or (
            tied and spec.overtime_s > 0 and (not spec.sudden_death or self.period == spec.periods)
        ):
            self.period, self.period_elapsed = self.period + 1, 0.0
        else:
            self.status = GameStatus.FINAL

    def play(self, game_seconds: float) -> bool:
        """Run the clock for ``game_seconds``; True when score, period or status changed."""
        changed = False
        remaining = game_seconds
        while remaining > 1e-9 and self.status is GameStatus.LIVE:
            if self.in_break:
                step = min(remaining, self.break_left)
                self.break_left = 0.0 if step >= self.break_left - 1e-9 else self.break_left - step
                remaining -= step
                if not self.in_break:
                    self.period, self.period_elapsed, changed = self.period + 1, 0.0, True
                continue
            step = min(remaining, self._period_length() - self.period_elapsed)
            changed = self._score(step) or changed
            self.period_elapsed += step
            remaining -= step
            overtime = self.period > self.spec.periods
            if overtime and self.spec.sudden_death and self.home_score != self.away_score:
                self.status = GameStatus.FINAL
                return True
            if self.period_elapsed >= self._period_length() - 1e-9:
                self._end_period()
                changed = True
        return changed

    def drift(self, seconds: float) -> None:
        """Advance the parameters' mean-reverting random walk by ``seconds`` of simulated time."""
        decay = math.exp(-seconds / MEAN_REVERSION_S)
        shock = math.sqrt((1.0 - decay * decay) * MEAN_REVERSION_S / 2.0)
        for i, vol in enumerate(self._param_vol):
            self.params[i] = self.anchor[i] + (self.params[i] - self.anchor[i]) * decay
            self.params[i] += self.rng.gauss(0.0, vol * shock)

    # ---- pricing

    def price(self) -> Snapshot:
        """Fair h2h, spreads and totals now; also moves the lines when the game has moved away."""
        f = self.fraction_left()
        lead = self.home_score - self.away_score
        scored = self.home_score + self.away_score
        if self.spec.three_way:
            return self._price_poisson(f, lead, scored)
        return self._price_normal(f, lead, scored)

    def _price_poisson(self, f: float, lead: int, scored: int) -> Snapshot:
        lam_home = math.exp(self.params[0]) * f
        lam_away = math.exp(self.params[1]) * f
        pmf_home, pmf_away = _poisson_pmf(lam_home), _poisson_pmf(lam_away)
        sf_home = _survival(pmf_home)
        win = _diff_above(sf_home, pmf_away, -lead)
        not_lose = _diff_above(sf_home, pmf_away, -lead - 1)
        self.spread_line = _nearest_line(self.spread_line, -(lead + lam_home - lam_away))
        self.total_line = _nearest_line(self.total_line, scored + lam_home + lam_away, floor=scored)
        # home covers line h when lead + D + h > 0, i.e. D > -lead - h (h is a half-integer)
        cover = _diff_above(sf_home, pmf_away, math.floor(-lead - self.spread_line))
        sf_total = _survival(_poisson_pmf(lam_home + lam_away))
        need = math.floor(self.total_line - scored) + 1
        over = sf_total[need] if need < len(sf_total) else 0.0
        return (
            MarketFair(Market.H2H, None, H2H_3WAY, (win, not_lose - win, 1.0 - not_lose)),
            MarketFair(Market.SPREADS, self.spread_line, SPREAD, (cover, 1.0 - cover)),
            MarketFair(Market.TOTALS, self.total_line, TOTALS, (over, 1.0 - over)),
        )

    def _price_normal(self, f: float, lead: int, scored: int) -> Snapshot:
        margin, total = self.params
        sd = max(math.sqrt(max(total, 1.0) * self.spec.variance_per_point * f), _MIN_SD)
        mean_margin = lead + margin * f
        mean_total = scored + total * f
        self.spread_line = _nearest_line(self.spread_line, -mean_margin)
        self.total_line = _nearest_line(self.total_line, mean_total, floor=scored)
        win = _normal_cdf(mean_margin / sd)
        cover = _normal_cdf((mean_margin + self.spread_line) / sd)
        over = _normal_cdf((mean_total - self.total_line) / sd)
        return (
            MarketFair(Market.H2H, None, H2H_2WAY, (win, 1.0 - win)),
            MarketFair(Market.SPREADS, self.spread_line, SPREAD, (cover, 1.0 - cover)),
            MarketFair(Market.TOTALS, self.total_line, TOTALS, (over, 1.0 - over)),
        )
