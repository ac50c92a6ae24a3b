"""Venue weather for tracked games: OpenWeather current conditions and Open-Meteo forecasts.

Both connectors ask about the venues of the games in `PollContext.upcoming_games`, one request
per game, and carry the game in the request context so every record keeps its `game_id`.
Venue coordinates come from the games feed (and the team registry behind it); a game without
coordinates is skipped, since a city-name lookup could pick the wrong place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from lakehouse.schemas import WeatherKind, format_timestamp
from producers.base import HttpRequest, HttpResponse, ParseResult, PollContext, Reject
from producers.connectors._common import (
    UNKNOWN_SPORT,
    MissingApiKeyError,
    body_reject,
    duration,
    load_json_body,
    parse_timestamp,
    stable_id,
)

SCHEMA_VERSION = 1
OPENWEATHER_URL = "https://api.openweathermap.org/data/2.5/weather"
OPEN_METEO_URL = "https://api.open-meteo.com/v1/forecast"
OPEN_METEO_HOURLY = (
    "temperature_2m",
    "apparent_temperature",
    "relative_humidity_2m",
    "precipitation",
    "wind_speed_10m",
    "wind_direction_10m",
)
# The request asks for °C, m/s and mm; a response in other units is converted, never misread.
_UNITS: dict[str, tuple[str, dict[str, Callable[[float], float]]]] = {
    # variable: (unit assumed when hourly_units is silent, unit -> converter to ours)
    "temperature_2m": ("°C", {"°C": lambda v: v, "°F": lambda v: (v - 32.0) * 5.0 / 9.0}),
    "apparent_temperature": ("°C", {"°C": lambda v: v, "°F": lambda v: (v - 32.0) * 5.0 / 9.0}),
    "relative_humidity_2m": ("%", {"%": lambda v: v}),
    "precipitation": ("mm", {"mm": lambda v: v, "inch": lambda v: v * 25.4}),
    "wind_speed_10m": (
        "m/s",
        {
            "m/s": lambda v: v,
            "km/h": lambda v: v / 3.6,
            "mp/h": lambda v: v * 0.44704,
            "kn": lambda v: v * 0.514444,
        },
    ),
    "wind_direction_10m": ("°", {"°": lambda v: v}),
}
_GAME_FIELDS = ("game_id", "sport", "venue_name", "venue_city", "commence_time")


class _BodyError(ValueError):
    """The body cannot become a record; the message is the reject reason."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _kickoff(game: Mapping[str, Any]) -> datetime | None:
    value = game.get("commence_time")
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    return parse_timestamp(value)


def games_with_venue(
    ctx: PollContext, earliest: timedelta, latest: timedelta
) -> list[tuple[Mapping[str, Any], float, float]]:
    """Upcoming games with venue coordinates whose kick-off is in [now - earliest, now + latest].

    A game with no kick-off time is kept: it is still upcoming as far as the feed knows.
    """
    out = []
    for game in ctx.upcoming_games:
        lat, lon = _number(game.get("venue_lat")), _number(game.get("venue_lon"))
        if lat is None or lon is None:
            continue
        kickoff = _kickoff(game)
        if kickoff is not None and not (ctx.now - earliest <= kickoff <= ctx.now + latest):
            continue
        out.append((game, lat, lon))
    return out


def _game_context(game: Mapping[str, Any], lat: float, lon: float) -> dict[str, Any]:
    context = {key: game.get(key) for key in _GAME_FIELDS}
    kickoff = _kickoff(game)
    context["commence_time"] = format_timestamp(kickoff) if kickoff else None
    return {**context, "venue_lat": lat, "venue_lon": lon}


def _location_name(context: Mapping[str, Any], fallback: Any, lat: float, lon: float) -> str:
    for value in (context.get("venue_name"), context.get("venue_city"), fallback):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return f"{lat:.4f},{lon:.4f}"


def _envelope(
    source: str, event_id: str, context: Mapping[str, Any], event_time: str, ingested: str
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "source": source,
        "sport": context.get("sport") or UNKNOWN_SPORT,
        "event_time": event_time,
        "ingested_at": ingested,
        "schema_version": SCHEMA_VERSION,
        "game_id": context.get("game_id"),
    }


def _single_record(
    source: str,
    provider: str,
    build: Callable[[Any, Mapping[str, Any], str], dict[str, Any]],
    request: HttpRequest,
    response: HttpResponse,
) -> ParseResult:
    """One body, one record: any problem becomes a single reject that says what was wrong."""
    body, error = load_json_body(response, provider)
    if error:
        return body_reject(error, response, source, request)
    try:
        record = build(body, request.context, format_timestamp(response.fetched_at))
    except _BodyError as exc:
        return ParseResult(rejects=[Reject(str(exc), body, source)])
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as exc:  # unforeseen shape
        return ParseResult(
            rejects=[Reject(f"malformed {provider} body: {type(exc).__name__}: {exc}", body, source)]
        )
    return ParseResult(events=[record])


class OpenWeatherCurrent:
    """OpenWeather current conditions at each venue of a game starting within `lookahead`.

    Current conditions only matter near kick-off, and the free plan allows 1,000 calls a day,
    so games further out are left to the forecast connector.  The key goes in
    `secret_params` and is never stored in a record or repr.  Durations are timedeltas, or
    seconds when they come from the YAML schedule.
    """

    name = "openweather"
    feed = "weather"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = OPENWEATHER_URL,
        lookahead: timedelta | float = timedelta(hours=24),
        in_play: timedelta | float = timedelta(hours=4),
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url
        self.lookahead = duration(lookahead)  # kick-off at most this far ahead
        self.in_play = duration(in_play)  # ... or at most this long ago (the game may be on)

    def __repr__(self) -> str:
        return f"OpenWeatherCurrent(api_key={'***' if self._api_key else None}, lookahead={self.lookahead})"

    def requests(self, ctx: PollContext) -> list[HttpRequest]:
        if not self._api_key:
            raise MissingApiKeyError("OpenWeather needs an API key: set LAKEHOUSE_OPENWEATHER_KEY")
        return [
            HttpRequest(
                url=self.base_url,
                params={"lat": f"{lat:.4f}", "lon": f"{lon:.4f}", "units": "metric"},
                secret_params={"appid": self._api_key},
                context=_game_context(game, lat, lon),
            )
            for game, lat, lon in games_with_venue(ctx, self.in_play, self.lookahead)
        ]

    def parse(self, request: HttpRequest, response: HttpResponse) -> ParseResult:
        return _single_record(self.name, "OpenWeather", self._record, request, response)

    def _record(self, body: Any, context: Mapping[str, Any], ingested: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _BodyError(f"OpenWeather body is a {type(body).__name__}, not an object")
        if str(body.get("cod", "200")) != "200":  # errors: {"cod": 401, "message": "Invalid API key..."}
            raise _BodyError(f"OpenWeather error {body.get('cod')}: {body.get('message', 'no message')}")
        main, observed_at = body.get("main"), body.get("dt")
        if not isinstance(main, dict) or _number(main.get("temp")) is None:
            raise _BodyError("OpenWeather body has no 'main.temp'")
        observed_s = _number(observed_at)
        if observed_s is None:
            raise _BodyError(f"OpenWeather body has no observation time 'dt' (got {observed_at!r})")
        coord = body.get("coord") or {}
        lat = _number(coord.get("lat"))
        lon = _number(coord.get("lon"))
        lat = context.get("venue_lat") if lat is None else lat
        lon = context.get("venue_lon") if lon is None else lon
        if lat is None or lon is None:
            raise _BodyError("OpenWeather body has no 'coord' and the request named no venue")
        wind = body.get("wind") or {}
        # OpenWeather omits `rain`/`snow` when nothing fell, so absence means 0 mm, not unknown.
        fallen = [_number((body.get(k) or {}).get("1h")) for k in ("rain", "snow")]
        weather = body.get("weather")
        condition = weather[0].get("description") if isinstance(weather, list) and weather else None
        valid_at = format_timestamp(datetime.fromtimestamp(observed_s, UTC))
        return {
            **_envelope(
                self.name,
                stable_id(self.name, context.get("game_id"), lat, lon, observed_at),
                context,
                valid_at,
                ingested,
            ),
            "location_name": _location_name(context, body.get("name"), lat, lon),
            "lat": lat,
            "lon": lon,
            "kind": WeatherKind.CURRENT.value,
            "valid_at": valid_at,
            "temperature_c": _number(main.get("temp")),
            "feels_like_c": _number(main.get("feels_like")),
            "humidity_pct": _number(main.get("humidity")),
            "wind_speed_ms": _number(wind.get("speed")),
            "wind_direction_deg": _number(wind.get("deg")),
            "precipitation_mm": float(sum(v for v in fallen if v is not None)),
            "condition": condition if isinstance(condition, str) else None,
        }


class OpenMeteoForecast:
    """Open-Meteo hourly forecast at each venue, reduced to the hour nearest kick-off.

    Keyless and free, so it covers every game up to `horizon` (Open-Meteo forecasts 16 days).
    The request asks only for the kick-off date(s), so responses stay small; a record's id
    hashes its values, so an unchanged forecast polled again deduplicates.
    """

    name = "open_meteo"
    feed = "weather"

    def __init__(
        self,
        *,
        base_url: str = OPEN_METEO_URL,
        horizon: timedelta | float = timedelta(days=16),
        max_offset: timedelta | float = timedelta(minutes=90),
    ) -> None:
        self.base_url = base_url
        self.horizon = duration(horizon)
        self.max_offset = duration(max_offset)  # the farthest forecast hour still "at kick-off"

    def __repr__(self) -> str:
        return f"OpenMeteoForecast(horizon={self.horizon})"

    def requests(self, ctx: PollContext) -> list[HttpRequest]:
        out = []
        for game, lat, lon in games_with_venue(ctx, timedelta(hours=3), self.horizon):
            kickoff = _kickoff(game)
            if kickoff is None:  # nothing to aim the forecast at
                continue
            out.append(
                HttpRequest(
                    url=self.base_url,
                    params={
                        "latitude": f"{lat:.4f}",
                        "longitude": f"{lon:.4f}",
                        "hourly": ",".join(OPEN_METEO_HOURLY),
                        "wind_speed_unit": "ms",
                        "timezone": "UTC",
                        # the dates around kick-off, so a 23:30 start still sees midnight
                        "start_date": (kickoff - timedelta(hours=1)).astimezone(UTC).date().isoformat(),
                        "end_date": (kickoff + timedelta(hours=1)).astimezone(UTC).date().isoformat(),
                    },
                    context=_game_context(game, lat, lon),
                )
            )
        return out

    def parse(self, request: HttpRequest, response: HttpResponse) -> ParseResult:
        return _single_record(self.name, "Open-Meteo", self._record, request, response)

    def _record(self, body: Any, context: Mapping[str, Any], ingested: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _BodyError(f"Open-Meteo body is a {type(body).__name__}, not an object")
        if body.get("error"):  # errors: {"error": true, "reason": "..."}
            raise _BodyError(f"Open-Meteo error: {body.get('reason', 'no reason given')}")
        kickoff = parse_timestamp(context.get("commence_time"))
        if kickoff is None:
            raise _BodyError("Open-Meteo request carries no kick-off time to pick the forecast hour")
        hourly = body.get("hourly")
        if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list) or not hourly["time"]:
            raise _BodyError("Open-Meteo body has no 'hourly.time' series")
        offset = timedelta(seconds=_number(body.get("utc_offset_seconds")) or 0.0)
        times = [_hour(t, offset) for t in hourly["time"]]
        # (gap, -index): on a tie (a half-past kick-off) the later hour wins, as it falls inside the game
        candidates = [(abs(t - kickoff), -i, t) for i, t in enumerate(times) if t is not None]
        if not candidates:
            raise _BodyError("Open-Meteo 'hourly.time' holds no readable times")
        gap, negative_index, hour = min(candidates)
        index = -negative_index
        if gap > self.max_offset:
            raise _BodyError(
                f"Open-Meteo forecast has no hour near kick-off {context['commence_time']} "
                f"(nearest is {format_timestamp(hour)})"
            )
        units = body.get("hourly_units") or {}
        values = {name: _value_at(hourly, units, name, index) for name in OPEN_METEO_HOURLY}
        lat = _number(body.get("latitude"))
        lon = _number(body.get("longitude"))
        lat = context.get("venue_lat") if lat is None else lat
        lon = context.get("venue_lon") if lon is None else lon
        if lat is None or lon is None:
            raise _BodyError("Open-Meteo body has no latitude/longitude and the request named no venue")
        valid_at = format_timestamp(hour)
        payload = {
            "location_name": _location_name(context, None, lat, lon),
            "lat": lat,
            "lon": lon,
            "kind": WeatherKind.FORECAST.value,
            "valid_at": valid_at,
            "temperature_c": values["temperature_2m"],
            "feels_like_c": values["apparent_temperature"],
            "humidity_pct": values["relative_humidity_2m"],
            "wind_speed_ms": values["wind_speed_10m"],
            "wind_direction_deg": values["wind_direction_10m"],
            "precipitation_mm": values["precipitation"],
            "condition": None,  # Open-Meteo sends WMO codes only; we do not invent the words
        }
        event_id = stable_id(self.name, context.get("game_id"), *payload.values())
        # Open-Meteo does not say when the forecast was issued, so the fetch time stands in.
        return {**_envelope(self.name, event_id, context, ingested, ingested), **payload}


def _hour(value: Any, offset: timedelta) -> datetime | None:
    """Open-Meteo times are local 'YYYY-MM-DDTHH:MM' in the requested zone (UTC here)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) - offset if parsed.tzinfo is None else parsed


def _value_at(hourly: Mapping[str, Any], units: Mapping[str, Any], name: str, index: int) -> float | None:
    """One variable at one hour, in our unit; a missing variable is unknown, not a reason to drop the rest."""
    assumed, converters = _UNITS[name]
    unit = units.get(name, assumed)
    if unit not in converters:
        raise _BodyError(f"Open-Meteo sent {name} in {unit!r}; expected one of {sorted(converters)}")
    series = hourly.get(name)
    value = _number(series[index]) if isinstance(series, list) and index < len(series) else None
    return None if value is None else round(converters[unit](value), 3)
