"""The Aliyun SMS backend: the signature, the request it sends, how it reads
Aliyun's answers (recorded ones, then the local fake gateway), and the
parsers for Aliyun's delivery-report and reply pushes. No database."""

import base64
import datetime
import hashlib
import hmac
import json
import logging
import pathlib
import re
import socket
import threading
import urllib.parse
import uuid
from zoneinfo import ZoneInfo

import httpx
import pytest

from care.messaging.aliyun import (
    AliyunSmsBackend,
    DeliveryReport,
    Reply,
    parse_delivery_reports,
    parse_replies,
    sign,
)
from care.messaging.base import OutgoingMessage, PermanentError, SendResult, TemporaryError
from tests.care.fake_gateway import FakeAliyunGateway

RECORDED = pathlib.Path(__file__).parent / "recorded"
SH = ZoneInfo("Asia/Shanghai")


def reminder(id=1042, recipient="13912345678", template_code="SMS_153055065", **changes) -> OutgoingMessage:
    fields = {
        "id": id,
        "channel": "sms",
        "recipient": recipient,
        "body": "【上海浦东4S店】李雷您好，您的沪AD12345将于3月5日到期保养。",
        "template_code": template_code,
        "params": (("name", "李雷"), ("date", "3月5日"), ("plate", "沪AD12345")),
        "sign_name": "上海浦东4S店",
    }
    return OutgoingMessage(**{**fields, **changes})


def replying(status: int, body) -> httpx.MockTransport:
    """A transport that answers every request with ``body`` (a dict or raw text)."""
    if isinstance(body, str):
        return httpx.MockTransport(lambda request: httpx.Response(status, text=body))
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"aliyun_{name}.json").read_text(encoding="utf-8"))


def signature_by_hand(fields: dict[str, str], secret: str, method: str) -> str:
    """Aliyun's documented steps, written out apart from the code under test."""

    def encode(text: str) -> str:
        return urllib.parse.quote(text, safe="~")  # RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are

    pairs = sorted((name, value) for name, value in fields.items() if name != "Signature")
    canonicalized = "&".join(encode(name) + "=" + encode(value) for name, value in pairs)
    to_sign = method + "&" + encode("/") + "&" + encode(canonicalized)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


# --- Signing -------------------------------------------------------------------


def test_sign_reproduces_the_sendsms_example_in_aliyuns_documentation():
    # The worked example of Aliyun's SMS signature page (a GET request).
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }

    assert sign(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_sign_reproduces_the_describeregions_example_of_aliyuns_rpc_signature_page():
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }

    assert sign(params, "testsecret", "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_sign_encodes_space_as_percent_20_star_as_percent_2a_and_keeps_tilde():
    # Worked out by hand: "a b*c~" -> a%20b%2Ac~ in the query, then encoded again.
    to_sign = "POST&%2F&A%3Da%2520b%252Ac~%26Z%3D1"
    expected = base64.b64encode(hmac.new(b"s&", to_sign.encode(), hashlib.sha1).digest()).decode()

    assert sign({"Z": "1", "A": "a b*c~"}, "s") == expected


def test_sign_leaves_an_existing_signature_parameter_out():
    params = {"Action": "SendSms", "Version": "2017-05-25"}

    assert sign({**params, "Signature": "stale"}, "s") == sign(params, "s")


# --- The request ----------------------------------------------------------------


def test_send_posts_a_signed_sendsms_form_with_the_template_params_in_order():
    captured = []

    def gateway(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json=recorded("success"))

    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=httpx.MockTransport(gateway))
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    backend.send(reminder())

    (request,) = captured
    assert request.method == "POST"
    assert str(request.url) == "https://dysmsapi.aliyuncs.com/"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = dict(urllib.parse.parse_qsl(request.content.decode(), keep_blank_values=True, strict_parsing=True))
    fresh_each_time = ("Signature", "SignatureNonce", "Timestamp")
    assert {name: value for name, value in fields.items() if name not in fresh_each_time} == {
        "AccessKeyId": "LTAI-test",
        "Action": "SendSms",
        "Format": "JSON",
        "OutId": "1042",
        "PhoneNumbers": "13912345678",
        "RegionId": "cn-hangzhou",
        "SignName": "上海浦东4S店",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_153055065",
        "TemplateParam": '{"name":"李雷","date":"3月5日","plate":"沪AD12345"}',
        "Version": "2017-05-25",
    }
    assert uuid.UUID(fields["SignatureNonce"]).version == 4
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields["Timestamp"])
    sent_at = datetime.datetime.strptime(fields["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    assert before <= sent_at <= before + datetime.timedelta(seconds=60)
    assert fields["Signature"] == signature_by_hand(fields, "test-secret", "POST")


def test_each_send_signs_with_a_fresh_nonce():
    nonces = []

    def gateway(request: httpx.Request) -> httpx.Response:
        nonces.append(dict(urllib.parse.parse_qsl(request.content.decode()))["SignatureNonce"])
        return httpx.Response(200, json=recorded("success"))

    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=httpx.MockTransport(gateway))

    backend.send(reminder())
    backend.send(reminder())

    assert len(set(nonces)) == 2


def test_a_template_without_variables_sends_no_template_param():
    captured = []

    def gateway(request: httpx.Request) -> httpx.Response:
        captured.append(dict(urllib.parse.parse_qsl(request.content.decode())))
        return httpx.Response(200, json=recorded("success"))

    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=httpx.MockTransport(gateway))

    backend.send(reminder(params=()))

    assert "TemplateParam" not in captured[0]


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"template_code": ""}, "template_missing"), ({"sign_name": ""}, "sign_missing")],
)
def test_a_message_without_template_or_signature_fails_permanently_without_a_request(changes, code):
    requests = []
    backend = AliyunSmsBackend(
        "LTAI-test", "test-secret", transport=httpx.MockTransport(lambda request: requests.append(request))
    )

    with pytest.raises(PermanentError) as raised:
        backend.send(reminder(**changes))

    assert raised.value.code == code
    assert requests == []


# --- Reading Aliyun's answers -------------------------------------------------------


def test_the_recorded_success_returns_the_biz_id():
    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=replying(200, recorded("success")))

    assert backend.send(reminder()) == SendResult(gateway_message_id="862417393812045268^0")


@pytest.mark.parametrize(
    ("name", "status", "error", "code"),
    [
        ("rate_limited", 200, TemporaryError, "isv.BUSINESS_LIMIT_CONTROL"),
        ("invalid_number", 200, PermanentError, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("template_illegal", 200, PermanentError, "isv.SMS_TEMPLATE_ILLEGAL"),
        ("signature_mismatch", 400, PermanentError, "SignatureDoesNotMatch"),
    ],
)
def test_each_recorded_refusal_raises_its_error_class_with_aliyuns_code(name, status, error, code):
    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=replying(status, recorded(name)))

    with pytest.raises(error) as raised:
        backend.send(reminder())

    assert type(raised.value) is error
    assert raised.value.code == code
    assert raised.value.message == recorded(name)["Message"]


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("isv.DAY_LIMIT_CONTROL", 200, TemporaryError),
        ("isv.AMOUNT_NOT_ENOUGH", 200, TemporaryError),
        ("isv.OUT_OF_SERVICE", 200, TemporaryError),
        ("isp.SYSTEM_ERROR", 200, TemporaryError),
        ("isp.GATEWAY_ERROR", 200, TemporaryError),
        ("SignatureNonceUsed", 400, TemporaryError),
        ("Throttling.User", 400, TemporaryError),
        ("Throttling", 400, TemporaryError),
        ("isv.SMS_SIGNATURE_ILLEGAL", 200, PermanentError),
        ("isv.TEMPLATE_MISSING_PARAMETERS", 200, PermanentError),
        ("isv.INVALID_PARAMETERS", 200, PermanentError),
        ("isv.BLACK_KEY_CONTROL_LIMIT", 200, PermanentError),
        ("isv.PARAM_LENGTH_LIMIT", 200, PermanentError),
        ("isv.MOBILE_COUNT_OVER_LIMIT", 200, PermanentError),
        ("InvalidAccessKeyId.NotFound", 404, PermanentError),
        ("isp.RAM_PERMISSION_DENY", 200, PermanentError),
    ],
)
def test_aliyun_codes_are_classified_as_worth_retrying_or_not(code, status, error):
    body = {"Message": "…", "RequestId": "9F1C2B3A-0000-4000-8000-000000000001", "Code": code}
    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=replying(status, body))

    with pytest.raises(error) as raised:
        backend.send(reminder())

    assert type(raised.value) is error
    assert raised.value.code == code


def test_an_unknown_code_is_permanent_keeps_the_code_and_is_logged(caplog):
    body = {"Message": "新的错误", "RequestId": "9F1C2B3A-0000-4000-8000-000000000002", "Code": "isv.SOMETHING_NEW"}
    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=replying(200, body))

    with caplog.at_level(logging.WARNING, logger="care.messaging.aliyun"), pytest.raises(PermanentError) as raised:
        backend.send(reminder())

    assert (raised.value.code, raised.value.message) == ("isv.SOMETHING_NEW", "新的错误")
    assert "isv.SOMETHING_NEW" in caplog.text


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_an_http_5xx_is_temporary(status):
    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=replying(status, "<html>Bad Gateway</html>"))

    with pytest.raises(TemporaryError) as raised:
        backend.send(reminder())

    assert raised.value.code == f"http_{status}"


def test_a_non_aliyun_answer_on_a_wrong_endpoint_is_permanent():
    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=replying(404, "<html>Not Found</html>"))

    with pytest.raises(PermanentError) as raised:
        backend.send(reminder())

    assert raised.value.code == "http_404"


def test_connection_refused_is_temporary():
    # A port nobody listens on: bound for a moment, then released.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = AliyunSmsBackend("LTAI-test", "test-secret", endpoint=f"http://127.0.0.1:{port}/")

    with pytest.raises(TemporaryError) as raised:
        backend.send(reminder())

    assert raised.value.code == "ConnectError"
    backend.close()


def test_a_timeout_is_temporary():
    def gateway(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    backend = AliyunSmsBackend("LTAI-test", "test-secret", transport=httpx.MockTransport(gateway))

    with pytest.raises(TemporaryError) as raised:
        backend.send(reminder())

    assert raised.value.code == "ReadTimeout"


# --- End to end against the fake gateway -------------------------------------------


@pytest.fixture
def gateway():
    with FakeAliyunGateway() as gateway:
        yield gateway


@pytest.fixture
def backend(gateway):
    backend = AliyunSmsBackend(gateway.access_key_id, gateway.secret, endpoint=gateway.url)
    yield backend
    backend.close()


def test_fake_gateway_accepts_a_signed_message_and_records_it(gateway, backend):
    result = backend.send(reminder())

    assert result == SendResult(gateway_message_id="1^0")
    assert gateway.requests == [
        {
            "phone": "13912345678",
            "template_code": "SMS_153055065",
            "template_param": {"name": "李雷", "date": "3月5日", "plate": "沪AD12345"},
            "sign_name": "上海浦东4S店",
            "out_id": "1042",
            "code": "OK",
            "biz_id": "1^0",
        }
    ]
    assert gateway.sent_out_ids() == ["1042"]


def test_fake_gateway_refuses_a_wrong_secret_as_aliyun_does(gateway):
    backend = AliyunSmsBackend(gateway.access_key_id, "not-the-secret", endpoint=gateway.url)

    with pytest.raises(PermanentError) as raised:
        backend.send(reminder())

    assert raised.value.code == "SignatureDoesNotMatch"
    assert gateway.requests == []
    backend.close()


def test_fake_gateway_refuses_an_invalid_number(gateway, backend):
    gateway.invalid_numbers.add("13900000000")

    with pytest.raises(PermanentError) as raised:
        backend.send(reminder(recipient="13900000000"))

    assert raised.value.code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert gateway.sent_out_ids() == []


def test_fake_gateway_refuses_an_unapproved_template(gateway, backend):
    gateway.unapproved_templates.add("SMS_000000001")

    with pytest.raises(PermanentError) as raised:
        backend.send(reminder(template_code="SMS_000000001"))

    assert raised.value.code == "isv.SMS_TEMPLATE_ILLEGAL"


def test_fake_gateway_refuses_template_params_that_are_not_a_json_object(gateway):
    params = {
        "AccessKeyId": gateway.access_key_id,
        "Action": "SendSms",
        "OutId": "7",
        "PhoneNumbers": "13912345678",
        "SignName": "上海浦东4S店",
        "SignatureNonce": "n-1",
        "TemplateCode": "SMS_153055065",
        "TemplateParam": "name=李雷",
    }
    params["Signature"] = signature_by_hand(params, gateway.secret, "POST")

    answer = httpx.post(gateway.url, data=params).json()

    assert answer["Code"] == "isv.INVALID_JSON_PARAM"
    assert gateway.requests[0]["template_param"] is None


def test_fake_gateway_rate_limits_the_next_request_then_accepts_the_retry(gateway, backend):
    gateway.rate_limit_next(1)

    with pytest.raises(TemporaryError) as raised:
        backend.send(reminder())
    result = backend.send(reminder())

    assert raised.value.code == "isv.BUSINESS_LIMIT_CONTROL"
    assert result.gateway_message_id == "1^0"
    assert [request["code"] for request in gateway.requests] == ["isv.BUSINESS_LIMIT_CONTROL", "OK"]


def test_fake_gateway_down_is_temporary_and_sending_resumes_when_it_is_back(gateway, backend):
    gateway.down = True
    with pytest.raises(TemporaryError) as raised:
        backend.send(reminder())

    gateway.down = False
    backend.send(reminder())

    assert raised.value.code == "http_503"
    assert gateway.sent_out_ids() == ["1042"]


def test_a_gateway_slower_than_the_timeout_is_temporary(gateway):
    gateway.delay = 0.5
    backend = AliyunSmsBackend(gateway.access_key_id, gateway.secret, endpoint=gateway.url, timeout=0.1)

    with pytest.raises(TemporaryError) as raised:
        backend.send(reminder())

    assert raised.value.code == "ReadTimeout"
    backend.close()


def test_one_backend_shared_by_eight_threads_sends_each_message_exactly_once(gateway, backend):
    failures = []

    def send_fifty(first_id: int) -> None:
        for message_id in range(first_id, first_id + 50):
            try:
                backend.send(reminder(id=message_id))
            except Exception as exc:  # any failure fails the test below, with its reason
                failures.append(exc)

    threads = [threading.Thread(target=send_fifty, args=(thread * 50,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    out_ids = gateway.sent_out_ids()
    assert len(out_ids) == 400
    assert sorted(out_ids, key=int) == [str(message_id) for message_id in range(400)]
    assert len({request["biz_id"] for request in gateway.requests}) == 400


# --- Pushed delivery reports and replies ---------------------------------------------


def test_a_recorded_smsreport_push_becomes_delivery_reports_in_beijing_time():
    payload = json.loads((RECORDED / "aliyun_sms_report_push.json").read_text(encoding="utf-8"))

    reports, errors = parse_delivery_reports(payload)

    assert errors == []
    assert reports == [
        DeliveryReport(
            phone_number="13912345678",
            send_time=datetime.datetime(2026, 3, 2, 9, 30, 0, tzinfo=SH),
            report_time=datetime.datetime(2026, 3, 2, 9, 30, 5, tzinfo=SH),
            success=True,
            err_code="DELIVERED",
            err_msg="用户接收成功",
            sms_size=1,
            biz_id="862417393812045268^0",
            out_id="1042",
        ),
        DeliveryReport(
            phone_number="13812345678",
            send_time=datetime.datetime(2026, 3, 2, 9, 30, 1, tzinfo=SH),
            report_time=datetime.datetime(2026, 3, 2, 9, 31, 12, tzinfo=SH),
            success=False,
            err_code="UNDELIV",
            err_msg="用户接收失败",
            sms_size=2,
            biz_id="862417393812045269^0",
            out_id="1043",
        ),
    ]
    # 09:30 in Beijing is 01:30 UTC.
    assert reports[0].send_time.astimezone(datetime.UTC) == datetime.datetime(2026, 3, 2, 1, 30, tzinfo=datetime.UTC)


def test_a_recorded_smsup_push_becomes_replies():
    payload = json.loads((RECORDED / "aliyun_sms_up_push.json").read_text(encoding="utf-8"))

    replies, errors = parse_replies(payload)

    assert errors == []
    assert replies == [
        Reply(
            phone_number="13912345678",
            send_time=datetime.datetime(2026, 3, 2, 10, 2, 17, tzinfo=SH),
            content="好的，周六上午到店",
            sign_name="上海浦东4S店",
            dest_code="2188",
            sequence_id="1234567890",
        ),
        # Newer pushes leave sign_name out and send sequence_id as text.
        Reply(
            phone_number="13812345678",
            send_time=datetime.datetime(2026, 3, 2, 23, 59, 59, tzinfo=SH),
            content="TD",
            sign_name="",
            dest_code="2188",
            sequence_id="1234567891",
        ),
    ]


def test_malformed_report_items_are_skipped_and_each_is_reported():
    good = json.loads((RECORDED / "aliyun_sms_report_push.json").read_text(encoding="utf-8"))[0]
    payload = [
        good,
        {key: value for key, value in good.items() if key != "report_time"},
        "not an object",
        {**good, "success": "true"},
        {**good, "send_time": "2026/03/02 09:30"},
        {**good, "sms_size": "one"},
    ]

    reports, errors = parse_delivery_reports(payload)

    assert [report.biz_id for report in reports] == ["862417393812045268^0"]
    assert errors == [
        "item 1: report_time is missing",
        "item 2: is a str, not an object",
        "item 3: success is 'true', not true or false",
        "item 4: send_time '2026/03/02 09:30' is not a time like 2017-02-02 22:23:24",
        "item 5: sms_size is 'one', not a number",
    ]


def test_malformed_reply_items_are_skipped_and_each_is_reported():
    payload = [
        {"phone_number": "13912345678", "send_time": "2026-03-02 10:02:17", "dest_code": "2188", "sequence_id": 1},
        {"phone_number": "13912345678", "send_time": "2026-03-02 10:02:17", "content": ["TD"], "sequence_id": 2},
        {"phone_number": "13912345678", "send_time": "2026-03-02 10:02:17", "content": "TD", "sequence_id": 3},
    ]

    replies, errors = parse_replies(payload)

    assert [reply.sequence_id for reply in replies] == ["3"]
    assert errors == ["item 0: content is missing", "item 1: content is ['TD'], not text"]


def test_a_push_that_is_not_a_list_is_one_error():
    assert parse_delivery_reports({"phone_number": "13912345678"}) == ([], ["payload is a dict, not a list"])
