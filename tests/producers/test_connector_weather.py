"""OpenWeather and Open-Meteo connectors on bodies shaped like the providers' documented responses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.schemas import validate
from producers.base import Connector, HttpRequest, HttpResponse, PollContext
from producers.connectors import build_connector
from producers.connectors.weather import MissingApiKeyError, OpenMeteoForecast, OpenWeatherCurrent

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
FETCHED = datetime(2024, 3, 31, 15, 31, 5, tzinfo=UTC)
ETIHAD = {
    "game_id": "2024-03-31:manchester-city:arsenal",
    "sport": "soccer_epl",
    "commence_time": "2024-03-31T15:30:00.000000Z",
    "home_team": "Manchester City",
    "away_team": "Arsenal",
    "venue_name": "Etihad Stadium",
    "venue_city": "Manchester",
    "venue_lat": 53.4831,
    "venue_lon": -2.2004,
}
KEY = "test-openweather-key-0123456789"


def _ctx(*games: dict) -> PollContext:
    return PollContext(now=NOW, upcoming_games=games)


def _response(body: bytes | str, status: int = 200, content_type: str = "application/json") -> HttpResponse:
    data = body.encode() if isinstance(body, str) else body
    return HttpResponse(status=status, headers={"Content-Type": content_type}, body=data, fetched_at=FETCHED)


def _fixture(name: str) -> HttpResponse:
    return _response((FIXTURES / name).read_bytes())


def _meteo(temperature_at_16: float | None = None, **units: str) -> HttpResponse:
    """The Open-Meteo fixture with the 16:00 temperature or some units changed."""
    body = json.loads((FIXTURES / "open_meteo_forecast.json").read_text())
    if temperature_at_16 is not None:
        body["hourly"]["temperature_2m"][16] = temperature_at_16
    body["hourly_units"].update(units)
    return _response(json.dumps(body))


def _only_request(connector: Connector) -> HttpRequest:
    requests = connector.requests(_ctx(ETIHAD))
    assert len(requests) == 1
    return requests[0]


# --- OpenWeather -------------------------------------------------------------------------------


def test_openweather_builds_one_request_per_game_with_the_key_kept_secret() -> None:
    far = {**ETIHAD, "game_id": "later", "commence_time": "2024-04-06T14:00:00Z"}
    no_venue = {**ETIHAD, "game_id": "no-venue", "venue_lat": None}
    requests = OpenWeatherCurrent(KEY).requests(_ctx(ETIHAD, far, no_venue))

    assert [r.context["game_id"] for r in requests] == [ETIHAD["game_id"]]  # far and coordinate-less skipped
    (request,) = requests
    assert request.url == "https://api.openweathermap.org/data/2.5/weather"
    assert dict(request.params) == {"lat": "53.4831", "lon": "-2.2004", "units": "metric"}
    assert dict(request.secret_params) == {"appid": KEY}
    assert KEY not in repr(OpenWeatherCurrent(KEY))
    assert KEY not in str(request.params) + str(request.context)


def test_openweather_without_a_key_says_which_setting_to_fill() -> None:
    with pytest.raises(MissingApiKeyError, match="LAKEHOUSE_OPENWEATHER_KEY"):
        OpenWeatherCurrent(None).requests(_ctx(ETIHAD))


def test_openweather_current_conditions_become_one_valid_record() -> None:
    connector = OpenWeatherCurrent(KEY)
    result = connector.parse(_only_request(connector), _fixture("openweather_current.json"))

    assert result.rejects == []
    (record,) = result.events
    canonical = validate("weather", record)
    assert canonical == {
        "event_id": canonical["event_id"],
        "source": "openweather",
        "sport": "soccer_epl",
        "event_time": "2024-03-31T15:30:00.000000Z",
        "ingested_at": "2024-03-31T15:31:05.000000Z",
        "schema_version": 1,
        "game_id": "2024-03-31:manchester-city:arsenal",
        "location_name": "Etihad Stadium",
        "lat": 53.4831,
        "lon": -2.2004,
        "kind": "current",
        "valid_at": "2024-03-31T15:30:00.000000Z",
        "temperature_c": 9.84,
        "feels_like_c": 7.12,
        "humidity_pct": 81.0,
        "wind_speed_ms": 5.14,
        "wind_direction_deg": 230.0,
        "precipitation_mm": 0.42,
        "condition": "light rain",
    }
    assert KEY not in str(record)
    # the same observation polled again is the same event
    again = connector.parse(_only_request(connector), _fixture("openweather_current.json"))
    assert again.events[0]["event_id"] == record["event_id"]


def test_openweather_dry_weather_reads_as_no_precipitation() -> None:
    connector = OpenWeatherCurrent(KEY)
    body = (FIXTURES / "openweather_current.json").read_text().replace('"rain"', '"not_rain"')
    (record,) = connector.parse(_only_request(connector), _response(body)).events
    assert record["precipitation_mm"] == 0.0
    validate("weather", record)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (_fixture("openweather_error_401.json"), "OpenWeather error 401: Invalid API key"),
        (_response('{"coord": {"lon": -2.2', content_type="application/json"), "not valid JSON"),
        (_response("<html><body>502 Bad Gateway</body></html>", content_type="text/html"), "an HTML page"),
        (_response('{"cod": 200, "dt": 1711899000, "coord": {"lat": 1, "lon": 2}}'), "no 'main.temp'"),
        (
            _response('{"cod": 200, "main": {"temp": 9.1}, "coord": {"lat": 1, "lon": 2}}'),
            "no observation time",
        ),
        (
            _response(
                '{"cod": 200, "dt": 1711899000, "main": {"temp": 9.1}, "coord": {}, "weather": ["rain"]}'
            ),
            "malformed OpenWeather body: AttributeError",
        ),
    ],
)
def test_openweather_bad_bodies_are_single_rejects_with_reasons(response: HttpResponse, reason: str) -> None:
    connector = OpenWeatherCurrent(KEY)
    result = connector.parse(_only_request(connector), response)
    assert result.events == []
    (reject,) = result.rejects
    assert reason in reject.reason
    assert reject.source == "openweather"


# --- Open-Meteo --------------------------------------------------------------------------------


def test_open_meteo_asks_for_the_kick_off_date_in_metric_units() -> None:
    late = {**ETIHAD, "game_id": "late", "commence_time": "2024-04-02T23:30:00Z"}
    beyond = {**ETIHAD, "game_id": "beyond", "commence_time": (NOW + timedelta(days=20)).isoformat()}
    requests = OpenMeteoForecast().requests(_ctx(ETIHAD, late, beyond))

    assert [r.context["game_id"] for r in requests] == [ETIHAD["game_id"], "late"]
    params = dict(requests[0].params)
    assert requests[0].url == "https://api.open-meteo.com/v1/forecast"
    assert params["hourly"] == (
        "temperature_2m,apparent_temperature,relative_humidity_2m,precipitation,wind_speed_10m,wind_direction_10m"
    )
    assert params | {"hourly": "-"} == {
        "latitude": "53.4831",
        "longitude": "-2.2004",
        "hourly": "-",
        "wind_speed_unit": "ms",
        "timezone": "UTC",
        "start_date": "2024-03-31",
        "end_date": "2024-03-31",
    }
    assert requests[0].secret_params == {}
    # a 23:30 kick-off also asks for the next day, where its nearest hour may fall
    assert (requests[1].params["start_date"], requests[1].params["end_date"]) == ("2024-04-02", "2024-04-03")


def test_open_meteo_emits_the_hour_nearest_kick_off() -> None:
    connector = OpenMeteoForecast()
    result = connector.parse(_only_request(connector), _fixture("open_meteo_forecast.json"))

    assert result.rejects == []
    (record,) = result.events
    canonical = validate("weather", record)
    # 15:30 sits between 15:00 and 16:00: the tie goes to 16:00, inside the game
    assert canonical["valid_at"] == "2024-03-31T16:00:00.000000Z"
    assert canonical["kind"] == "forecast"
    assert canonical["game_id"] == "2024-03-31:manchester-city:arsenal"
    assert canonical["sport"] == "soccer_epl"
    assert canonical["location_name"] == "Etihad Stadium"
    assert (canonical["lat"], canonical["lon"]) == (53.48, -2.1999998)
    assert canonical["temperature_c"] == 11.4
    assert canonical["feels_like_c"] == 8.8
    assert canonical["humidity_pct"] == 62.0
    assert canonical["wind_speed_ms"] == 5.9
    assert canonical["wind_direction_deg"] == 252.0
    assert canonical["precipitation_mm"] == 0.4
    assert canonical["condition"] is None
    assert canonical["event_time"] == canonical["ingested_at"] == "2024-03-31T15:31:05.000000Z"


def test_open_meteo_converts_other_units_rather_than_misreading_them() -> None:
    connector = OpenMeteoForecast()
    (record,) = connector.parse(_only_request(connector), _meteo(wind_speed_10m="km/h")).events
    assert record["wind_speed_ms"] == round(5.9 / 3.6, 3)

    (reject,) = connector.parse(_only_request(connector), _meteo(wind_speed_10m="furlongs")).rejects
    assert "wind_speed_10m in 'furlongs'" in reject.reason


def test_open_meteo_unchanged_forecast_keeps_its_id_and_a_change_gets_a_new_one() -> None:
    connector = OpenMeteoForecast()
    request = _only_request(connector)
    first = connector.parse(request, _fixture("open_meteo_forecast.json")).events[0]
    second = connector.parse(request, _fixture("open_meteo_forecast.json")).events[0]
    third = connector.parse(request, _meteo(temperature_at_16=12.4)).events[0]
    assert first["event_id"] == second["event_id"] != third["event_id"]


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            _fixture("open_meteo_error.json"),
            "Open-Meteo error: Parameter 'start_date' is out of allowed range",
        ),
        (_response('{"latitude": 53.48, "hourly": {"time": ["2024-03-31T00:00"'), "not valid JSON"),
        (_response('{"latitude": 53.48, "longitude": -2.2}'), "no 'hourly.time' series"),
        (
            _response('{"latitude": 53.48, "longitude": -2.2, "hourly": {"time": ["2024-03-30T00:00"]}}'),
            "no hour near kick-off",
        ),
        (_response("Service unavailable", status=503, content_type="text/plain"), "HTTP 503"),
    ],
)
def test_open_meteo_bad_bodies_are_single_rejects_with_reasons(response: HttpResponse, reason: str) -> None:
    connector = OpenMeteoForecast()
    result = connector.parse(_only_request(connector), response)
    assert result.events == []
    (reject,) = result.rejects
    assert reason in reject.reason


def test_weather_connectors_are_discovered_by_name() -> None:
    assert isinstance(build_connector("openweather", {"api_key": KEY}), OpenWeatherCurrent)
    meteo = build_connector("open_meteo", {"horizon": 7 * 86400})  # YAML gives seconds
    assert meteo.horizon == timedelta(days=7)
    assert isinstance(meteo, OpenMeteoForecast) and isinstance(meteo, Connector)
    assert meteo.feed == "weather"
    with pytest.raises(ValueError, match="bad options for connector 'open_meteo'"):
        build_connector("open_meteo", {"api_key": KEY})
    with pytest.raises(KeyError, match="known: espn, gnews"):
        build_connector("darksky", {})
