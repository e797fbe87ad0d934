"""Weather providers: the QWeather adapter against recorded responses, sudden
changes from a forecast, and the fixture provider. No network, no database.

Hand-worked values used below:

- The fake clock starts at T0 = 1_795_000_000; a token made then has
  iat = T0 - 30 = 1_794_999_970 and exp = T0 + 900 = 1_795_000_900, and is
  renewed from T0 + 840 (a minute before exp) on.
- qweather_7d_drop.json (Shanghai, from 2026-11-23): lows/highs 11/18, 11/17,
  2/9, 1/8 … From 24 to 25 November the low falls 11 → 2 = 9 °C and the high
  17 → 9 = 8 °C, so the cold arrives on 25 November with a 9 °C fall.
- qweather_7d_heat.json (from 2026-07-19): highs 34, 37, 34, 33, 33, 36, 34;
  only 20 July (37) is ≥ 35 in the four-day window; 24 July (36) is outside it.
"""

import base64
import datetime
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import care.weather
from care.weather.base import Alert, DailyForecast, Location, WeatherError
from care.weather.changes import sudden_changes
from care.weather.fixture import FixtureProvider
from care.weather.qweather import QWeatherProvider, event_for, make_jwt, parse_alerts, parse_daily
from demo.data import STORES

SH = ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC
RECORDED = Path(__file__).parent / "recorded"
DEMO_JSON = Path(care.weather.__file__).parent / "demo.json"
T0 = 1_795_000_000
HOST = "abc1234xyz.def.qweatherapi.com"

SHANGHAI = Location(key="7", city="上海", district="", latitude=31.2304, longitude=121.4737)
PUDONG = Location(key="8", city="上海", district="浦东新区", latitude=31.2215, longitude=121.5447)
MINHANG = Location(key="9", city="上海", district="闵行区", latitude=31.1129, longitude=121.3817)


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture(scope="module")
def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def private_pem(private_key) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A MockTransport handler answering with one recorded body, keeping every request."""

    def __init__(self, body=None, status: int = 200, content: bytes | None = None):
        self.requests: list[httpx.Request] = []
        self.body, self.status, self.content = body, status, content

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.content is not None:
            return httpx.Response(self.status, content=self.content)
        return httpx.Response(self.status, json=self.body)


def provider(handler, private_pem: str, clock=None) -> QWeatherProvider:
    return QWeatherProvider(
        api_host=HOST,
        project_id="3A5BC7D9EF",
        key_id="KX4M7P2Q9R",
        private_key=private_pem,
        transport=httpx.MockTransport(handler),
        clock=clock or FakeClock(T0),
    )


# --- JWT -----------------------------------------------------------------------------------


def test_jwt_has_eddsa_header_project_payload_and_a_signature_the_public_key_verifies(private_key, private_pem):
    token = make_jwt("3A5BC7D9EF", "KX4M7P2Q9R", private_pem, now=T0)

    header, payload, signature = token.split(".")
    assert "=" not in token
    assert b64url_json(header) == {"alg": "EdDSA", "kid": "KX4M7P2Q9R"}
    assert b64url_json(payload) == {"sub": "3A5BC7D9EF", "iat": 1_794_999_970, "exp": 1_795_000_900}
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    private_key.public_key().verify(raw_signature, f"{header}.{payload}".encode())  # raises if forged
    with pytest.raises(InvalidSignature):
        private_key.public_key().verify(raw_signature, f"{header}.{payload}x".encode())


def test_jwt_accepts_a_pem_whose_newlines_came_escaped_from_the_environment(private_key, private_pem):
    token = make_jwt("3A5BC7D9EF", "KX4M7P2Q9R", private_pem.replace("\n", "\\n"), now=T0)
    header, payload, signature = token.split(".")
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    private_key.public_key().verify(raw_signature, f"{header}.{payload}".encode())


def test_a_token_is_reused_until_a_minute_before_expiry_then_made_anew(private_pem):
    clock = FakeClock(T0)
    handler = Recorder(recorded("qweather_alerts_zero"))
    weather = provider(handler, private_pem, clock)

    weather.alerts(SHANGHAI)
    clock.now = T0 + 839
    weather.alerts(SHANGHAI)
    clock.now = T0 + 840
    weather.alerts(SHANGHAI)

    tokens = [request.headers["Authorization"].removeprefix("Bearer ") for request in handler.requests]
    assert tokens[0] == tokens[1] != tokens[2]
    assert b64url_json(tokens[0].split(".")[1])["iat"] == 1_794_999_970
    # Renewed at T0 + 840: iat = T0 + 810, exp = T0 + 1740.
    assert b64url_json(tokens[2].split(".")[1]) == {"sub": "3A5BC7D9EF", "iat": 1_795_000_810, "exp": 1_795_001_740}


def test_an_unusable_private_key_is_a_weather_error():
    not_a_key = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    with pytest.raises(WeatherError, match="private key"):
        provider(Recorder({}), not_a_key).alerts(SHANGHAI)


def test_missing_configuration_is_a_weather_error_naming_the_setting(private_pem):
    weather = QWeatherProvider(api_host="", project_id="p", key_id="k", private_key=private_pem)
    with pytest.raises(WeatherError, match="CRM_QWEATHER_API_HOST"):
        weather.alerts(SHANGHAI)
    weather = QWeatherProvider(api_host=HOST, key_id="k", private_key=private_pem)
    with pytest.raises(WeatherError, match="CRM_QWEATHER_PROJECT_ID"):
        weather.alerts(SHANGHAI)


# --- Requests ------------------------------------------------------------------------------


def test_alerts_are_asked_for_by_latitude_and_longitude_with_two_decimals_in_local_time(private_pem):
    handler = Recorder(recorded("qweather_alerts_zero"))

    provider(handler, private_pem).alerts(SHANGHAI)

    (request,) = handler.requests
    assert request.method == "GET"
    assert str(request.url) == f"https://{HOST}/weatheralert/v1/current/31.23/121.47?localTime=true&lang=zh"
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert b64url_json(token.split(".")[0]) == {"alg": "EdDSA", "kid": "KX4M7P2Q9R"}


def test_a_pasted_host_url_is_reduced_to_the_host(private_pem):
    handler = Recorder(recorded("qweather_alerts_zero"))
    weather = QWeatherProvider(
        api_host=f"https://{HOST}/",
        project_id="3A5BC7D9EF",
        key_id="KX4M7P2Q9R",
        private_key=private_pem,
        transport=httpx.MockTransport(handler),
    )
    weather.alerts(SHANGHAI)
    assert handler.requests[0].url.host == HOST


def test_forecast_is_asked_for_by_location_id_when_known_else_by_longitude_and_latitude(private_pem):
    handler = Recorder(recorded("qweather_7d_drop"))
    weather = provider(handler, private_pem)

    weather.daily_forecast(Location("1", "上海", "", 31.2304, 121.4737, provider_id="101020100"))
    weather.daily_forecast(SHANGHAI)

    assert [str(request.url) for request in handler.requests] == [
        f"https://{HOST}/v7/weather/7d?location=101020100&lang=zh",
        f"https://{HOST}/v7/weather/7d?location=121.47%2C31.23&lang=zh",
    ]
    assert all(request.headers["Authorization"].startswith("Bearer ey") for request in handler.requests)


# --- Alerts --------------------------------------------------------------------------------


def test_recorded_alerts_are_parsed_field_by_field(private_pem):
    alerts = provider(Recorder(recorded("qweather_alerts")), private_pem).alerts(SHANGHAI)

    update, heat, cancel = alerts
    assert update == Alert(
        id="202607141620004518200931",
        event="rainstorm",
        event_name="暴雨",
        message_type="update",
        severity="severe",
        colour="orange",
        headline="上海中心气象台更新暴雨黄色预警为暴雨橙色预警[Ⅱ级/严重]",
        description=(
            "上海中心气象台2026年7月14日16时20分将暴雨黄色预警信号更新为暴雨橙色预警信号：受强降水云团影响，"
            "预计未来3小时内本市中心城区、浦东新区和闵行区将出现50毫米以上的降水，并伴有雷电和7～8级短时大风。"
        ),
        instruction=(
            "1.政府及相关部门按照职责做好防暴雨应急工作；2.切断有危险的室外电源，暂停户外作业；"
            "3.处于危险地带的单位应当停课、停业，采取专门措施保护已到校学生、幼儿和其他上班人员的安全；"
            "4.做好城市、农田的排涝，注意防范可能引发的山洪、滑坡、泥石流等灾害。"
        ),
        effective_at=datetime.datetime(2026, 7, 14, 16, 20, tzinfo=SH),
        expires_at=datetime.datetime(2026, 7, 15, 16, 20, tzinfo=SH),
        issued_at=datetime.datetime(2026, 7, 14, 16, 20, tzinfo=SH),
        supersedes=("202607141305003377106214",),
    )
    assert (heat.id, heat.event, heat.event_name, heat.message_type, heat.severity, heat.colour) == (
        "202607141100002291847365",
        "heat",
        "高温",
        "alert",
        "moderate",
        "yellow",
    )
    assert heat.supersedes == ()
    assert heat.effective_at == datetime.datetime(2026, 7, 14, 11, 0, tzinfo=SH)
    assert heat.headline == "上海中心气象台发布高温黄色预警[Ⅲ级/较重]"
    assert (cancel.event, cancel.message_type, cancel.colour, cancel.supersedes) == (
        "thunderstorm",
        "cancel",
        "yellow",
        ("202607141450001187364520",),
    )
    # QWeather keeps a cancellation for an hour after it is issued.
    assert cancel.expires_at - cancel.issued_at == datetime.timedelta(hours=1)
    assert cancel.headline == "上海中心气象台解除雷电黄色预警"
    for alert in alerts:
        assert alert.effective_at.utcoffset() == datetime.timedelta(hours=8)
        assert alert.expires_at.utcoffset() == datetime.timedelta(hours=8)


def test_zero_result_means_no_alerts(private_pem):
    assert provider(Recorder(recorded("qweather_alerts_zero")), private_pem).alerts(SHANGHAI) == []


def test_times_in_utc_are_aware_and_equal_to_local_ones():
    body = recorded("qweather_alerts")
    item = body["alerts"][0]
    item.update(issuedTime="2026-07-14T08:20Z", effectiveTime="2026-07-14T08:20Z", expireTime="2026-07-15T08:20Z")

    alert = parse_alerts(body)[0]

    assert alert.effective_at == datetime.datetime(2026, 7, 14, 16, 20, tzinfo=SH)
    assert alert.effective_at.tzinfo is not None


def test_white_or_unknown_colour_is_none_and_unknown_severity_is_unknown():
    body = recorded("qweather_alerts")
    body["alerts"][0]["color"]["code"] = "white"
    body["alerts"][1]["color"] = {"code": "purple", "red": 128, "green": 0, "blue": 128, "alpha": 1}
    body["alerts"][2]["color"] = None
    body["alerts"][0]["severity"] = "unknown"
    body["alerts"][1]["severity"] = "catastrophic"

    alerts = parse_alerts(body)

    assert [a.colour for a in alerts] == ["", "", ""]
    assert [a.severity for a in alerts[:2]] == ["unknown", "unknown"]


def test_an_unknown_message_type_is_skipped():
    body = recorded("qweather_alerts")
    body["alerts"][1]["messageType"] = {"code": "ack", "supersedes": []}
    assert [a.id for a in parse_alerts(body)] == ["202607141620004518200931", "202607141730006610293847"]


@pytest.mark.parametrize(
    ("code", "name", "event"),
    [
        ("1001", "台风", "typhoon"),
        ("1003", "暴雨", "rainstorm"),
        ("1004", "暴雪", "snow"),
        ("1005", "寒潮", "cold_wave"),
        ("1056", "低温", "cold_wave"),
        ("1006", "大风", "gale"),
        ("1007", "沙尘暴", "sandstorm"),
        ("1009", "高温", "heat"),
        ("1014", "雷电", "thunderstorm"),
        ("1058", "雷暴大风", "thunderstorm"),
        ("1020", "雷雨大风", "thunderstorm"),
        ("1015", "冰雹", "hail"),
        ("1016", "霜冻", "frost"),
        ("1017", "大雾", "fog"),
        ("1019", "霾", "haze"),
        ("1021", "道路结冰", "road_icing"),
        ("1025", "森林火险", "other"),
        # A code the table does not know falls back to the Chinese name.
        ("9901", "雷雨大风", "thunderstorm"),
        ("", "暴雪", "snow"),
        ("2551", "wind", "other"),
    ],
)
def test_qweather_events_map_to_ours_by_code_then_by_name(code, name, event):
    assert event_for(code, name) == event


def test_an_event_with_an_unknown_code_is_mapped_by_its_name_when_parsed():
    body = recorded("qweather_alerts")
    body["alerts"][0]["eventType"] = {"name": "道路结冰", "code": "9999"}
    assert parse_alerts(body)[0].event == "road_icing"


# --- Errors --------------------------------------------------------------------------------


def test_401_is_a_weather_error_with_qweathers_reason(private_pem):
    handler = Recorder(recorded("qweather_error_401"), status=401)
    with pytest.raises(WeatherError, match=r"HTTP 401: Unauthorized: Authentication failed"):
        provider(handler, private_pem).alerts(SHANGHAI)


def test_a_server_error_without_json_is_a_weather_error(private_pem):
    handler = Recorder(status=502, content=b"<html>Bad Gateway</html>")
    with pytest.raises(WeatherError, match="HTTP 502"):
        provider(handler, private_pem).daily_forecast(SHANGHAI)


def test_a_timeout_is_a_weather_error(private_pem):
    def time_out(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(WeatherError, match="timed out"):
        provider(time_out, private_pem).alerts(SHANGHAI)


def test_a_connection_failure_is_a_weather_error(private_pem):
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(WeatherError, match="unreachable"):
        provider(refuse, private_pem).daily_forecast(SHANGHAI)


def test_bad_json_is_a_weather_error(private_pem):
    handler = Recorder(content=b'{"metadata": {"zeroResult": fa')
    with pytest.raises(WeatherError, match="bad JSON"):
        provider(handler, private_pem).alerts(SHANGHAI)


def test_json_of_the_wrong_shape_is_a_weather_error(private_pem):
    with pytest.raises(WeatherError, match="not understood"):
        provider(Recorder({"alerts": [{"messageType": {"code": "alert"}}]}), private_pem).alerts(SHANGHAI)
    with pytest.raises(WeatherError, match="not understood"):
        provider(Recorder(["not", "an", "object"]), private_pem).daily_forecast(SHANGHAI)


def test_a_forecast_code_other_than_200_is_a_weather_error(private_pem):
    with pytest.raises(WeatherError, match="code 402"):
        provider(Recorder({"code": "402"}), private_pem).daily_forecast(SHANGHAI)


# --- Forecast ------------------------------------------------------------------------------


def test_recorded_forecast_is_parsed_into_days_today_first(private_pem):
    days = provider(Recorder(recorded("qweather_7d_drop")), private_pem).daily_forecast(SHANGHAI)

    assert days == [
        DailyForecast(datetime.date(2026, 11, 23), 18.0, 11.0, "多云"),
        DailyForecast(datetime.date(2026, 11, 24), 17.0, 11.0, "小雨"),
        DailyForecast(datetime.date(2026, 11, 25), 9.0, 2.0, "中雨"),
        DailyForecast(datetime.date(2026, 11, 26), 8.0, 1.0, "阴"),
        DailyForecast(datetime.date(2026, 11, 27), 10.0, 2.0, "晴"),
        DailyForecast(datetime.date(2026, 11, 28), 12.0, 4.0, "晴"),
        DailyForecast(datetime.date(2026, 11, 29), 13.0, 6.0, "多云"),
    ]


# --- Sudden changes ------------------------------------------------------------------------


def days(*temps: tuple[float, float], start=datetime.date(2026, 11, 23)) -> list[DailyForecast]:
    """Consecutive days from ``start``, each given as (max, min)."""
    return [
        DailyForecast(start + datetime.timedelta(days=n), temp_max, temp_min)
        for n, (temp_max, temp_min) in enumerate(temps)
    ]


def changes(forecast):
    return sudden_changes(SHANGHAI, forecast, drop=8, heat=35, tz=SH)


def test_a_fall_of_exactly_the_threshold_in_the_low_is_a_cold_wave_alert():
    (alert,) = changes(days((15, 10), (14, 2), (15, 3)))

    assert alert == Alert(
        id="forecast:7:2026-11-24:cold_wave",
        event="cold_wave",
        event_name="气温骤降",
        message_type="alert",
        severity="moderate",
        colour="yellow",
        headline="预计11月24日气温骤降8℃（最低2℃）",
        description="11月23日最低10℃、最高15℃，11月24日最低2℃、最高14℃。",
        instruction=alert.instruction,
        effective_at=datetime.datetime(2026, 11, 24, 0, 0, tzinfo=SH),
        expires_at=datetime.datetime(2026, 11, 25, 0, 0, tzinfo=SH),
    )
    assert "胎压" in alert.instruction


def test_a_fall_of_one_degree_less_is_nothing():
    assert changes(days((15, 10), (14, 3), (15, 3))) == []


def test_a_fall_in_the_high_alone_counts_too():
    (alert,) = changes(days((20, 10), (11, 8)))
    assert alert.headline == "预计11月24日气温骤降9℃（最低8℃）"


def test_a_fall_after_the_third_day_is_not_reported():
    # Falls into 27 November (index 4), one day past the window of today + 3.
    assert changes(days((15, 10), (15, 10), (15, 10), (15, 10), (5, 0))) == []
    (alert,) = changes(days((15, 10), (15, 10), (15, 10), (5, 0)))
    assert alert.id == "forecast:7:2026-11-26:cold_wave"


def test_half_degrees_are_shown_as_such():
    (alert,) = changes(days((15, 10.5), (14, 2)))
    assert alert.headline == "预计11月24日气温骤降8.5℃（最低2℃）"


def test_a_high_of_exactly_the_heat_threshold_is_a_heat_alert():
    (alert,) = changes(days((33, 26), (35, 27), start=datetime.date(2026, 7, 19)))

    assert (alert.id, alert.event, alert.colour, alert.message_type) == (
        "forecast:7:2026-07-20:heat",
        "heat",
        "yellow",
        "alert",
    )
    assert alert.headline == "预计7月20日最高气温35℃"
    assert alert.effective_at == datetime.datetime(2026, 7, 20, 0, 0, tzinfo=SH)
    assert alert.expires_at == datetime.datetime(2026, 7, 21, 0, 0, tzinfo=SH)


def test_a_high_one_degree_below_the_heat_threshold_is_nothing():
    assert changes(days((33, 26), (34, 27), start=datetime.date(2026, 7, 19))) == []


def test_sudden_changes_in_the_recorded_forecasts():
    drop = parse_daily(recorded("qweather_7d_drop"))
    heat = parse_daily(recorded("qweather_7d_heat"))

    assert [(a.id, a.headline) for a in changes(drop)] == [
        ("forecast:7:2026-11-25:cold_wave", "预计11月25日气温骤降9℃（最低2℃）")
    ]
    assert [(a.id, a.headline) for a in changes(heat)] == [("forecast:7:2026-07-20:heat", "预计7月20日最高气温37℃")]


def test_a_second_poll_of_the_same_forecast_gives_the_same_ids():
    forecast = parse_daily(recorded("qweather_7d_drop"))
    assert changes(forecast) == changes(forecast)
    assert [a.id for a in changes(forecast)] == ["forecast:7:2026-11-25:cold_wave"]


def test_the_day_runs_from_local_midnight_to_local_midnight_in_the_given_zone():
    (alert,) = sudden_changes(SHANGHAI, days((15, 10), (14, 2)), drop=8, heat=35, tz=UTC)
    assert alert.effective_at == datetime.datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert alert.expires_at == datetime.datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


# --- Fixture provider ----------------------------------------------------------------------


def fixture_alert(alert_id: str, headline: str) -> dict:
    return {
        "metadata": {"tag": "t", "zeroResult": False, "attributions": []},
        "alerts": [
            {
                "id": alert_id,
                "senderName": "上海中心气象台",
                "issuedTime": "-2h",
                "messageType": {"code": "alert", "supersedes": []},
                "eventType": {"name": "大风", "code": "1006"},
                "severity": "minor",
                "color": {"code": "blue", "red": 0, "green": 0, "blue": 255, "alpha": 1},
                "effectiveTime": "+0h",
                "onsetTime": "+1h",
                "expireTime": "+24h",
                "headline": headline,
                "description": "",
                "instruction": "",
            }
        ],
    }


@pytest.fixture
def fixture_file(tmp_path) -> Path:
    path = tmp_path / "weather.json"
    path.write_text(
        json.dumps(
            {
                "locations": [
                    {
                        "city": "上海",
                        "district": "",
                        "alerts": fixture_alert("city-gale", "上海大风蓝色预警"),
                        "daily": {
                            "code": "200",
                            "updateTime": "+0h",
                            "daily": [
                                {"fxDate": "+0d", "tempMax": "15", "tempMin": "9", "textDay": "多云"},
                                {"fxDate": "+1d", "tempMax": "14", "tempMin": "8", "textDay": "小雨"},
                            ],
                        },
                    },
                    {
                        "city": "上海",
                        "district": "浦东新区",
                        "alerts": fixture_alert("pudong-gale", "浦东大风蓝色预警"),
                    },
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def test_relative_times_resolve_against_now_floored_to_the_hour(fixture_file):
    # 02:37 UTC is 10:37 in Shanghai; floored to 10:00.
    weather = FixtureProvider(fixture_file, clock=lambda: datetime.datetime(2026, 11, 23, 2, 37, tzinfo=UTC))

    (alert,) = weather.alerts(SHANGHAI)
    forecast = weather.daily_forecast(SHANGHAI)

    assert alert.issued_at == datetime.datetime(2026, 11, 23, 8, 0, tzinfo=SH)
    assert alert.effective_at == datetime.datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    assert alert.expires_at == datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    assert (alert.event, alert.colour) == ("gale", "blue")
    assert forecast == [
        DailyForecast(datetime.date(2026, 11, 23), 15.0, 9.0, "多云"),
        DailyForecast(datetime.date(2026, 11, 24), 14.0, 8.0, "小雨"),
    ]


def test_relative_dates_are_local_dates(fixture_file):
    # 16:30 UTC on the 22nd is already 00:30 on the 23rd in Shanghai.
    weather = FixtureProvider(fixture_file, clock=lambda: datetime.datetime(2026, 11, 22, 16, 30, tzinfo=UTC))
    assert [day.date for day in weather.daily_forecast(SHANGHAI)] == [
        datetime.date(2026, 11, 23),
        datetime.date(2026, 11, 24),
    ]


def test_a_district_entry_wins_over_its_city_and_other_districts_fall_back_to_the_city(fixture_file):
    weather = FixtureProvider(fixture_file, clock=lambda: datetime.datetime(2026, 11, 23, 10, 0, tzinfo=SH))

    assert [a.id for a in weather.alerts(PUDONG)] == ["pudong-gale"]
    assert [a.id for a in weather.alerts(MINHANG)] == ["city-gale"]
    assert [a.id for a in weather.alerts(SHANGHAI)] == ["city-gale"]
    # The Pudong entry has no forecast of its own.
    assert weather.daily_forecast(PUDONG) == []
    assert len(weather.daily_forecast(MINHANG)) == 2


def test_an_unknown_city_has_no_alerts_and_no_forecast(fixture_file):
    weather = FixtureProvider(fixture_file)
    guangzhou = Location(key="99", city="广州", district="天河区", latitude=23.13, longitude=113.26)
    assert weather.alerts(guangzhou) == []
    assert weather.daily_forecast(guangzhou) == []


def test_the_file_is_read_again_only_when_its_mtime_changes(fixture_file):
    weather = FixtureProvider(fixture_file)
    assert [a.id for a in weather.alerts(SHANGHAI)] == ["city-gale"]
    stat = fixture_file.stat()
    changed = {"locations": [{"city": "上海", "district": "", "alerts": fixture_alert("new-gale", "新预警")}]}

    # Same mtime: the cached copy answers.
    fixture_file.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    os.utime(fixture_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert [a.id for a in weather.alerts(SHANGHAI)] == ["city-gale"]

    # A new mtime: read again.
    os.utime(fixture_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert [a.id for a in weather.alerts(SHANGHAI)] == ["new-gale"]


def test_a_missing_or_broken_fixture_is_a_weather_error(tmp_path):
    with pytest.raises(WeatherError, match="unusable"):
        FixtureProvider(tmp_path / "missing.json").alerts(SHANGHAI)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(WeatherError, match="unusable"):
        FixtureProvider(broken).alerts(SHANGHAI)


def test_the_demo_fixture_has_one_current_rainstorm_warning_for_the_main_demo_city():
    main_city = max({store.city for store in STORES}, key=lambda c: sum(s.weight for s in STORES if s.city == c))
    assert main_city == "上海"
    now = datetime.datetime(2026, 11, 23, 10, 37, tzinfo=SH)
    weather = FixtureProvider(DEMO_JSON, clock=lambda: now)
    pudong = Location(key="1", city=main_city, district="浦东新区", latitude=31.22, longitude=121.54)

    (alert,) = weather.alerts(pudong)

    assert (alert.event, alert.event_name, alert.colour, alert.message_type) == ("rainstorm", "暴雨", "yellow", "alert")
    assert alert.effective_at <= now < alert.expires_at
    assert alert.headline == "上海中心气象台发布暴雨黄色预警[Ⅲ级/较重]"
    assert alert.description and alert.instruction


def test_the_demo_fixture_covers_every_demo_city_with_a_mild_week():
    now = datetime.datetime(2026, 11, 23, 10, 37, tzinfo=SH)
    weather = FixtureProvider(DEMO_JSON, clock=lambda: now)
    for city in sorted({store.city for store in STORES} | {"北京", "杭州"}):
        location = Location(key=city, city=city, district="", latitude=0, longitude=0)
        forecast = weather.daily_forecast(location)
        assert [day.date for day in forecast] == [datetime.date(2026, 11, 23 + n) for n in range(7)], city
        assert sudden_changes(location, forecast, drop=8, heat=35, tz=SH) == [], city
        if city != "上海":
            assert weather.alerts(location) == [], city
