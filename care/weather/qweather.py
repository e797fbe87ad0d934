"""QWeather (和风天气): official warnings from the Weather Alert API, daily forecasts from v7.

Warnings come from ``/weatheralert/v1/current/{lat}/{lon}``, which replaces
the ``/v7/warning/now`` endpoint QWeather is shutting down. Requests carry a
JWT signed with the project's Ed25519 key (QWeather's "JSON Web Token"
authentication); the token is built here by hand with ``cryptography`` so
the project needs no JWT library.

``parse_alerts`` and ``parse_daily`` turn QWeather's JSON into our values;
the fixture provider runs recorded responses through the same functions.
"""

import base64
import datetime
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from .base import COLOURS, Alert, DailyForecast, Location, WeatherError, WeatherProvider

logger = logging.getLogger(__name__)

# QWeather allows a token to live up to 24 hours; 15 minutes keeps a leaked one short-lived.
TOKEN_LIFETIME = 900
# iat slightly in the past, as QWeather advises, so a server clock a little ahead still accepts it.
TOKEN_BACKDATE = 30
# Renew this long before expiry, so a token never expires on its way to the server.
TOKEN_RENEW_MARGIN = 60

# QWeather's unified event codes (Alert Event List, dev.qweather.com/docs/api/warning/alert-events/).
# Only events a car owner should hear about are mapped; the rest become "other".
EVENTS_BY_CODE = {
    "1001": "typhoon",  # 台风
    "1049": "typhoon",  # 台风暴雨
    "1003": "rainstorm",  # 暴雨
    "1038": "rainstorm",  # 强降雨
    "1063": "rainstorm",  # 短历时强降水
    "1064": "rainstorm",  # 短时强降雨
    "1004": "snow",  # 暴雪
    "1033": "snow",  # 大雪
    "1040": "snow",  # 雪灾
    "1005": "cold_wave",  # 寒潮
    "1034": "cold_wave",  # 寒冷
    "1039": "cold_wave",  # 强降温
    "1048": "cold_wave",  # 降温
    "1050": "cold_wave",  # 严寒
    "1056": "cold_wave",  # 低温
    "1059": "cold_wave",  # 持续低温
    "1006": "gale",  # 大风
    "1007": "sandstorm",  # 沙尘暴
    "1047": "sandstorm",  # 春季沙尘天气
    "1051": "sandstorm",  # 沙尘
    "1009": "heat",  # 高温
    "1010": "heat",  # 热浪
    "1024": "heat",  # 高温中暑
    "1014": "thunderstorm",  # 雷电
    "1020": "thunderstorm",  # 雷雨大风
    "1031": "thunderstorm",  # 强对流
    "1043": "thunderstorm",  # 雷暴
    "1058": "thunderstorm",  # 雷暴大风
    "1085": "thunderstorm",  # 雷雨强风
    "1015": "hail",  # 冰雹
    "1016": "frost",  # 霜冻
    "1017": "fog",  # 大雾
    "1019": "haze",  # 霾
    "1021": "road_icing",  # 道路结冰
    "1057": "road_icing",  # 道路冰雪
}
# For a code the table above does not know (QWeather says the list may change): the Chinese name.
EVENTS_BY_NAME = {
    "台风": "typhoon",
    "暴雨": "rainstorm",
    "暴雪": "snow",
    "寒潮": "cold_wave",
    "低温": "cold_wave",
    "大风": "gale",
    "沙尘暴": "sandstorm",
    "高温": "heat",
    "雷电": "thunderstorm",
    "雷暴大风": "thunderstorm",
    "雷雨大风": "thunderstorm",
    "冰雹": "hail",
    "霜冻": "frost",
    "大雾": "fog",
    "霾": "haze",
    "道路结冰": "road_icing",
}
SEVERITIES = ("minor", "moderate", "severe", "extreme")
MESSAGE_TYPES = ("alert", "update", "cancel")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _load_private_key(private_key_pem: str) -> Ed25519PrivateKey:
    # A PEM pasted into an environment variable often arrives with its newlines escaped.
    pem = private_key_pem.strip().replace("\\n", "\n").encode()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the QWeather private key is not an Ed25519 key")
    return key


def make_jwt(project_id: str, key_id: str, private_key_pem: str, now: int) -> str:
    """A QWeather JWT valid from 30 s before ``now`` (Unix seconds) for 15 minutes.

    Raises ``ValueError`` when the key is not an unencrypted Ed25519 PEM.
    """
    header = {"alg": "EdDSA", "kid": key_id}
    payload = {"sub": project_id, "iat": now - TOKEN_BACKDATE, "exp": now + TOKEN_LIFETIME}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    ).encode("ascii")
    signature = _load_private_key(private_key_pem).sign(signing_input)
    return f"{signing_input.decode('ascii')}.{_b64url(signature)}"


def event_for(code: str, name: str) -> str:
    """Our EVENTS value for QWeather's event code, else its Chinese name, else "other"."""
    return EVENTS_BY_CODE.get(code) or EVENTS_BY_NAME.get(name.strip()) or "other"


def _parse_time(value: Any) -> datetime.datetime | None:
    """QWeather's ``2026-07-14T16:20+08:00`` (or ``…Z``) as an aware datetime; None when absent."""
    if not value:
        return None
    parsed = datetime.datetime.fromisoformat(value)
    if timezone.is_naive(parsed):
        # QWeather always sends an offset; should one be missing, local time is the safer guess.
        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    return parsed


def _parse_alert(item: dict[str, Any]) -> Alert | None:
    alert_id = str(item["id"])
    message = item.get("messageType") or {}
    message_type = message.get("code") or "alert"
    if message_type not in MESSAGE_TYPES:
        logger.warning("QWeather alert %s: unknown message type %r, skipped", alert_id, message_type)
        return None
    event_type = item.get("eventType") or {}
    event_name = event_type.get("name") or ""
    colour = ((item.get("color") or {}).get("code") or "").lower()
    severity = (item.get("severity") or "").lower()
    issued_at = _parse_time(item.get("issuedTime"))
    # "expireTime" in the API; QWeather's Chinese guide spells it "expiredTime", so accept both.
    expires_at = _parse_time(item.get("expireTime") or item.get("expiredTime"))
    effective_at = _parse_time(item.get("effectiveTime")) or _parse_time(item.get("onsetTime")) or issued_at
    if effective_at is None:
        raise WeatherError(f"QWeather alert {alert_id} has no effective, onset or issued time")
    return Alert(
        id=alert_id,
        event=event_for(str(event_type.get("code") or ""), event_name),
        event_name=event_name,
        message_type=message_type,
        severity=severity if severity in SEVERITIES else "unknown",
        colour=colour if colour in COLOURS else "",
        headline=item.get("headline") or "",
        description=item.get("description") or "",
        instruction=item.get("instruction") or "",
        effective_at=effective_at,
        expires_at=expires_at,
        issued_at=issued_at,
        supersedes=tuple(str(alert_id) for alert_id in message.get("supersedes") or ()),
    )


def parse_alerts(body: Any) -> list[Alert]:
    """The alerts of a Weather Alert API (``/weatheralert/v1/current``) response body."""
    try:
        if (body.get("metadata") or {}).get("zeroResult"):
            return []
        alerts = [_parse_alert(item) for item in body.get("alerts") or ()]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise WeatherError(f"QWeather alert response not understood: {exc!r}") from exc
    return [alert for alert in alerts if alert is not None]


def parse_daily(body: Any) -> list[DailyForecast]:
    """The days of a ``/v7/weather/{n}d`` response body, today first."""
    try:
        code = str(body.get("code"))
        if code != "200":
            raise WeatherError(f"QWeather forecast answered code {code}")
        days = [
            DailyForecast(
                date=datetime.date.fromisoformat(day["fxDate"]),
                temp_max=float(day["tempMax"]),
                temp_min=float(day["tempMin"]),
                text=day.get("textDay") or "",
            )
            for day in body.get("daily") or ()
        ]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise WeatherError(f"QWeather forecast response not understood: {exc!r}") from exc
    return sorted(days, key=lambda day: day.date)


def _error_reason(response: httpx.Response) -> str:
    """What QWeather said went wrong, from an error body in either of its two formats."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # error format v2: {"error": {"status", "type", "title", "detail"}}
        return ": ".join(str(error[k]) for k in ("title", "detail") if error.get(k)) or str(error)
    if isinstance(body, dict) and "code" in body:  # error format v1: {"code": "401"}
        return f"code {body['code']}"
    return str(body)[:200]


class QWeatherProvider(WeatherProvider):
    name = "qweather"

    def __init__(
        self,
        api_host: str = "",
        project_id: str = "",
        key_id: str = "",
        private_key: str = "",
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ):
        # The console shows the host bare ("abc1234xyz.def.qweatherapi.com"); accept a pasted URL too.
        self.api_host = api_host.strip().removeprefix("https://").removeprefix("http://").strip("/")
        self.project_id = project_id
        self.key_id = key_id
        self.private_key = private_key
        self.clock = clock
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._token = ""
        self._token_expires = 0

    def close(self) -> None:
        self._client.close()

    def token(self) -> str:
        """The current JWT, made anew only when the cached one is within a minute of expiry."""
        now = int(self.clock())
        if not self._token or now >= self._token_expires - TOKEN_RENEW_MARGIN:
            missing = [
                setting
                for setting, value in (
                    ("CRM_QWEATHER_PROJECT_ID", self.project_id),
                    ("CRM_QWEATHER_KEY_ID", self.key_id),
                    ("CRM_QWEATHER_PRIVATE_KEY", self.private_key),
                )
                if not value
            ]
            if missing:
                raise WeatherError(f"QWeather is not configured: {', '.join(missing)} empty")
            try:
                self._token = make_jwt(self.project_id, self.key_id, self.private_key, now)
            except ValueError as exc:
                raise WeatherError(f"QWeather private key unusable: {exc}") from exc
            self._token_expires = now + TOKEN_LIFETIME
        return self._token

    def _get(self, path: str, params: dict[str, str]) -> Any:
        if not self.api_host:
            raise WeatherError("QWeather is not configured: CRM_QWEATHER_API_HOST empty")
        url = f"https://{self.api_host}{path}"
        try:
            response = self._client.get(url, params=params, headers={"Authorization": f"Bearer {self.token()}"})
        except httpx.TimeoutException as exc:
            raise WeatherError(f"QWeather timed out: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise WeatherError(f"QWeather unreachable: {exc!r}") from exc
        if response.is_error:
            raise WeatherError(f"QWeather HTTP {response.status_code}: {_error_reason(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise WeatherError(f"QWeather sent bad JSON: {exc}") from exc

    def alerts(self, location: Location) -> list[Alert]:
        path = f"/weatheralert/v1/current/{location.latitude:.2f}/{location.longitude:.2f}"
        return parse_alerts(self._get(path, {"localTime": "true", "lang": "zh"}))

    def daily_forecast(self, location: Location) -> list[DailyForecast]:
        where = location.provider_id or f"{location.longitude:.2f},{location.latitude:.2f}"
        return parse_daily(self._get("/v7/weather/7d", {"location": where, "lang": "zh"}))
