"""Aliyun (阿里云) SMS: the ``SendSms`` call of Dysmsapi 2017-05-25, and
parsers for the delivery reports and replies Aliyun pushes back over HTTP.

No Aliyun SDK: the RPC call is one signed form POST, and the SDK would pull
in a dependency tree for that. The signature is Aliyun's RPC signature
version 1.0 (HMAC-SHA1), reproduced by ``sign`` and tested against the
example in Aliyun's documentation.
"""

import base64
import dataclasses
import datetime
import hashlib
import hmac
import json
import logging
import re
import urllib.parse
import uuid
from zoneinfo import ZoneInfo

import httpx

from care.messaging.base import MessageBackend, OutgoingMessage, PermanentError, SendResult, TemporaryError

logger = logging.getLogger(__name__)

API_VERSION = "2017-05-25"

# Aliyun answers these when trying again later can succeed: flow control,
# an empty balance topped up, its own faults, a nonce clash.
TEMPORARY_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # per-number flow control (per minute, hour or day)
        "isv.DAY_LIMIT_CONTROL",
        "isv.AMOUNT_NOT_ENOUGH",  # account balance; someone tops it up
        "isv.OUT_OF_SERVICE",  # account suspended for arrears
        "isp.SYSTEM_ERROR",
        "isp.GATEWAY_ERROR",
        "SignatureNonceUsed",  # a fresh nonce on the next attempt fixes it
    }
)
# Codes that stay wrong until someone changes the data or the configuration.
# Unknown codes are treated the same way (see ``_error_for``); the list
# documents the ones we expect.
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",  # template not approved, or not found
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_PARAMETERS",
        "isv.INVALID_JSON_PARAM",  # TemplateParam is not a JSON object of strings
        "isv.BLACK_KEY_CONTROL_LIMIT",  # the text contains a blacklisted word
        "isv.PARAM_LENGTH_LIMIT",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "InvalidAccessKeyId.NotFound",
        "SignatureDoesNotMatch",
        "isp.RAM_PERMISSION_DENY",
    }
)


# --- Signing -----------------------------------------------------------------


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's signature wants it: only A-Z a-z 0-9 - _ . ~
    stay as they are, so a space is %20 (not +) and ``*`` is %2A."""
    # Most names and values are plain tokens; skipping quote() for them
    # halves the signing time, which the fake gateway pays on every request.
    if _UNRESERVED.fullmatch(value):
        return value
    return urllib.parse.quote(value, safe="~")


def string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    """``METHOD&%2F&<canonicalized query, percent-encoded again>``; ``Signature``
    itself is never signed."""
    canonicalized = "&".join(
        f"{percent_encode(name)}={percent_encode(value)}"
        for name, value in sorted(params.items())
        if name != "Signature"
    )
    # The canonicalized string holds only unreserved characters and "%", "&",
    # "=", so encoding it again is exactly these three replacements ("%" first),
    # and much cheaper than quote() over a long string.
    encoded = canonicalized.replace("%", "%25").replace("&", "%26").replace("=", "%3D")
    return f"{method}&%2F&{encoded}"


def sign(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Aliyun RPC signature 1.0: base64(HMAC-SHA1(secret + "&", string to sign))."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# --- Sending -----------------------------------------------------------------


class AliyunSmsBackend(MessageBackend):
    """Sends each message as one ``SendSms`` call with its approved template
    and signature; the Outbox id travels as ``OutId`` so delivery reports
    can be matched back."""

    name = "aliyun"

    def __init__(
        self,
        access_key_id: str = "",
        access_key_secret: str = "",
        endpoint: str = "https://dysmsapi.aliyuncs.com/",
        region_id: str = "cn-hangzhou",
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.endpoint = endpoint
        self.region_id = region_id
        # One client per backend: its connection pool keeps the TLS sessions
        # alive between messages, and httpx.Client may be shared by threads.
        self.client = httpx.Client(timeout=timeout, transport=transport)

    def send(self, message: OutgoingMessage) -> SendResult:
        # Without these Aliyun refuses the call anyway; not asking saves a round trip.
        if not message.template_code:
            raise PermanentError("template_missing", f"outbox #{message.id} has no template code")
        if not message.sign_name:
            raise PermanentError("sign_missing", f"outbox #{message.id} has no SMS signature")
        params = self.request_params(message)
        params["Signature"] = sign(params, self.access_key_secret, "POST")
        try:
            response = self.client.post(self.endpoint, content=form_body(params), headers=_FORM_HEADERS)
        except httpx.TransportError as exc:
            # A time-out after the request left may mean Aliyun sent the SMS:
            # retrying can duplicate it, which beats losing a reminder. The
            # OutId lets the delivery report settle which attempt arrived.
            raise TemporaryError(type(exc).__name__, str(exc)) from exc
        return result_from_response(response)

    def request_params(self, message: OutgoingMessage) -> dict[str, str]:
        """The unsigned ``SendSms`` parameters; a fresh nonce and time on every call."""
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": str(message.id),
            "PhoneNumbers": message.recipient,
            "RegionId": self.region_id,
            "SignName": message.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": message.template_code,
            "Timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        # A template without variables takes no TemplateParam at all.
        if message.params:
            params["TemplateParam"] = template_param(message.params)
        return params

    def close(self) -> None:
        self.client.close()


_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def form_body(params: dict[str, str]) -> bytes:
    """The form body, encoded the way the signature was computed (a space is
    %20, as application/x-www-form-urlencoded readers accept); cheaper than
    httpx's own form encoding, which the sender pays per message."""
    return "&".join(f"{percent_encode(name)}={percent_encode(value)}" for name, value in params.items()).encode()


def template_param(params: tuple[tuple[str, str], ...]) -> str:
    """``{"name": "value", ...}`` in the template's order; Chinese stays
    readable (and shorter) instead of becoming \\u escapes."""
    return json.dumps(dict(params), ensure_ascii=False, separators=(",", ":"))


def result_from_response(response: httpx.Response) -> SendResult:
    """Aliyun's answer as a result, or the error that says whether to retry."""
    if response.status_code >= 500:
        # Whatever the body says, a 5xx is Aliyun (or a proxy) failing, not our message.
        raise TemporaryError(f"http_{response.status_code}", response.text[:200])
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "Code" not in body:
        if response.status_code == 429:
            raise TemporaryError("http_429", response.text[:200])
        # Not Aliyun talking (a wrong endpoint, a captive proxy): retrying will not fix it.
        raise PermanentError(f"http_{response.status_code}", response.text[:200])
    code = str(body["Code"])
    if code == "OK":
        return SendResult(gateway_message_id=str(body.get("BizId", "")))
    raise _error_for(code, str(body.get("Message", "")))


def _error_for(code: str, message: str) -> TemporaryError | PermanentError:
    if code in TEMPORARY_CODES or code.startswith("Throttling"):
        return TemporaryError(code, message)
    if code not in PERMANENT_CODES:
        # Permanent so a misconfiguration does not retry forever; logged so
        # someone decides whether the new code belongs in TEMPORARY_CODES.
        logger.warning("Unknown Aliyun SMS code %s (%s), treated as permanent", code, message)
    return PermanentError(code, message)


# --- Pushed callbacks (HTTP batch push mode) -----------------------------------

ALIYUN_TIME_ZONE = ZoneInfo("Asia/Shanghai")
# Aliyun pushes Beijing local time without a zone; older documents show the compact form.
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S")


@dataclasses.dataclass(frozen=True)
class DeliveryReport:
    """One item of an ``SmsReport`` push: what the carrier said about one message."""

    phone_number: str
    send_time: datetime.datetime
    report_time: datetime.datetime
    success: bool
    err_code: str  # "DELIVERED" on success, else the carrier's code (e.g. "MK:0001")
    err_msg: str
    sms_size: int  # billed parts: a long message is split
    biz_id: str  # SendSms's BizId
    out_id: str  # our Outbox id, as sent in OutId ("" when none was sent)


@dataclasses.dataclass(frozen=True)
class Reply:
    """One item of an ``SmsUp`` push: a customer's text back to us."""

    phone_number: str
    send_time: datetime.datetime
    content: str
    sign_name: str  # the signature the customer replied to ("" when Aliyun leaves it out)
    dest_code: str  # extension number Aliyun assigned to that signature
    sequence_id: str  # Aliyun sends a number or a string; kept as text for de-duplication


class _Malformed(ValueError):
    pass


def parse_delivery_reports(payload: list[dict]) -> tuple[list[DeliveryReport], list[str]]:
    """The reports in an ``SmsReport`` push, and one readable error per item
    that could not be read (the others still count: Aliyun does not resend
    a push we answered with 200)."""
    return _parse_items(payload, _delivery_report)


def parse_replies(payload: list[dict]) -> tuple[list[Reply], list[str]]:
    """The replies in an ``SmsUp`` push, and one readable error per bad item."""
    return _parse_items(payload, _reply)


def _parse_items(payload, parse_item):
    if not isinstance(payload, list):
        return [], [f"payload is a {type(payload).__name__}, not a list"]
    items, errors = [], []
    for index, item in enumerate(payload):
        try:
            if not isinstance(item, dict):
                raise _Malformed(f"is a {type(item).__name__}, not an object")
            items.append(parse_item(item))
        except _Malformed as exc:
            errors.append(f"item {index}: {exc}")
    return items, errors


def _delivery_report(item: dict) -> DeliveryReport:
    success = _required(item, "success")
    if not isinstance(success, bool):
        raise _Malformed(f"success is {success!r}, not true or false")
    sms_size = _text(item, "sms_size", default="1")
    if not sms_size.isdigit():
        raise _Malformed(f"sms_size is {sms_size!r}, not a number")
    return DeliveryReport(
        phone_number=_text(item, "phone_number"),
        send_time=_time(item, "send_time"),
        report_time=_time(item, "report_time"),
        success=success,
        err_code=_text(item, "err_code", default=""),
        err_msg=_text(item, "err_msg", default=""),
        sms_size=int(sms_size),
        biz_id=_text(item, "biz_id"),
        out_id=_text(item, "out_id", default=""),
    )


def _reply(item: dict) -> Reply:
    return Reply(
        phone_number=_text(item, "phone_number"),
        send_time=_time(item, "send_time"),
        content=_text(item, "content"),
        sign_name=_text(item, "sign_name", default=""),
        dest_code=_text(item, "dest_code", default=""),
        sequence_id=_text(item, "sequence_id"),
    )


_REQUIRED = object()


def _required(item: dict, key: str):
    if key not in item or item[key] is None:
        raise _Malformed(f"{key} is missing")
    return item[key]


def _text(item: dict, key: str, default=_REQUIRED) -> str:
    if default is not _REQUIRED and item.get(key) is None:
        return default
    value = _required(item, key)
    # Numbers are accepted as text (sequence_id, sms_size come either way); a bool is not a number here.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Malformed(f"{key} is {value!r}, not text")
    return str(value)


def _time(item: dict, key: str) -> datetime.datetime:
    value = _text(item, key)
    for time_format in _TIME_FORMATS:
        try:
            return datetime.datetime.strptime(value, time_format).replace(tzinfo=ALIYUN_TIME_ZONE)
        except ValueError:
            continue
    raise _Malformed(f"{key} {value!r} is not a time like 2017-02-02 22:23:24")
