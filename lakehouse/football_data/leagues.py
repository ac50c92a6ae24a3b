"""The leagues football-data.co.uk publishes, as the platform names them.

A football-data division code (``E0``, ``SP1``, ...) maps to a sport key in The Odds API style
(the key every feed and table partitions on), the competition's name, its country and the time
zone the files' ``Time`` column is written in (football-data states kick-offs in UK time for
every league: https://www.football-data.co.uk/notes.txt, "Time = Time of match kick off").

The extra leagues (https://www.football-data.co.uk/all_new_data.php) are keyed by the country
code of their one file per country (``ARG`` for ``new/ARG.csv``); their competition is the
country's top flight, which a file may split into several cups of one season (Argentina's
"Copa" and "Torneo"), all loaded under the one league.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = ["LEAGUES", "UK_TIME", "League", "get_league"]

UK_TIME = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class League:
    """One football-data division."""

    code: str  # football-data's division code, e.g. "E0"
    sport: str  # sport key, e.g. "soccer_epl"
    competition: str  # display name
    country: str
    tz: ZoneInfo = UK_TIME  # zone of the files' Time column
    extra: bool = False  # the extra-leagues format: one file per country, every season in it

    def __str__(self) -> str:
        return f"{self.code} ({self.competition})"


def _league(code: str, sport: str, competition: str, country: str) -> League:
    return League(code, sport, competition, country)


def _extra(code: str, sport: str, competition: str, country: str) -> League:
    return League(code, sport, competition, country, extra=True)


LEAGUES: dict[str, League] = {
    league.code: league
    for league in (
        # England, to the fifth tier
        _league("E0", "soccer_epl", "English Premier League", "England"),
        _league("E1", "soccer_efl_champ", "English Championship", "England"),
        _league("E2", "soccer_england_league1", "English League One", "England"),
        _league("E3", "soccer_england_league2", "English League Two", "England"),
        _league("EC", "soccer_england_national_league", "English National League", "England"),
        # Scotland
        _league("SC0", "soccer_spl", "Scottish Premiership", "Scotland"),
        _league("SC1", "soccer_scotland_championship", "Scottish Championship", "Scotland"),
        _league("SC2", "soccer_scotland_league_one", "Scottish League One", "Scotland"),
        _league("SC3", "soccer_scotland_league_two", "Scottish League Two", "Scotland"),
        # Germany, Italy, Spain, France
        _league("D1", "soccer_germany_bundesliga", "German Bundesliga", "Germany"),
        _league("D2", "soccer_germany_bundesliga2", "German 2. Bundesliga", "Germany"),
        _league("I1", "soccer_italy_serie_a", "Italian Serie A", "Italy"),
        _league("I2", "soccer_italy_serie_b", "Italian Serie B", "Italy"),
        _league("SP1", "soccer_spain_la_liga", "Spanish La Liga", "Spain"),
        _league("SP2", "soccer_spain_segunda_division", "Spanish Segunda Division", "Spain"),
        _league("F1", "soccer_france_ligue_one", "French Ligue 1", "France"),
        _league("F2", "soccer_france_ligue_two", "French Ligue 2", "France"),
        # Netherlands, Belgium, Portugal, Turkey, Greece
        _league("N1", "soccer_netherlands_eredivisie", "Dutch Eredivisie", "Netherlands"),
        _league("B1", "soccer_belgium_first_div", "Belgian First Division A", "Belgium"),
        _league("P1", "soccer_portugal_primeira_liga", "Portuguese Primeira Liga", "Portugal"),
        _league("T1", "soccer_turkey_super_league", "Turkish Super Lig", "Turkey"),
        _league("G1", "soccer_greece_super_league", "Greek Super League", "Greece"),
        # the extra leagues, one file per country
        _extra("ARG", "soccer_argentina_primera_division", "Argentine Primera Division", "Argentina"),
        _extra("AUT", "soccer_austria_bundesliga", "Austrian Bundesliga", "Austria"),
        _extra("BRA", "soccer_brazil_campeonato", "Brazilian Serie A", "Brazil"),
        _extra("CHN", "soccer_china_superleague", "Chinese Super League", "China"),
        _extra("DNK", "soccer_denmark_superliga", "Danish Superliga", "Denmark"),
        _extra("FIN", "soccer_finland_veikkausliiga", "Finnish Veikkausliiga", "Finland"),
        _extra("IRL", "soccer_league_of_ireland", "League of Ireland Premier Division", "Ireland"),
        _extra("JPN", "soccer_japan_j_league", "Japanese J1 League", "Japan"),
        _extra("MEX", "soccer_mexico_ligamx", "Mexican Liga MX", "Mexico"),
        _extra("NOR", "soccer_norway_eliteserien", "Norwegian Eliteserien", "Norway"),
        _extra("POL", "soccer_poland_ekstraklasa", "Polish Ekstraklasa", "Poland"),
        _extra("ROU", "soccer_romania_liga_1", "Romanian Liga I", "Romania"),
        _extra("RUS", "soccer_russia_premier_league", "Russian Premier League", "Russia"),
        _extra("SWE", "soccer_sweden_allsvenskan", "Swedish Allsvenskan", "Sweden"),
        _extra("SWZ", "soccer_switzerland_superleague", "Swiss Super League", "Switzerland"),
        _extra("USA", "soccer_usa_mls", "Major League Soccer", "USA"),
    )
}
"""Division or country code -> league, for every league football-data publishes."""


def get_league(code: str) -> League:
    """The league of a division code, or a ValueError that lists the known codes."""
    try:
        return LEAGUES[code]
    except KeyError:
        raise ValueError(f"unknown football-data league {code!r} (known: {', '.join(LEAGUES)})") from None
