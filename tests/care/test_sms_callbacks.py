"""What the gateway pushes back: opt-out replies and delivery reports, through
the webhook URLs, in Aliyun's push format."""

import datetime
import json
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from care.messaging.services import is_opt_out_reply, outbox_send
from care.models import Outbox
from customers.models import ConsentChange, Customer
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory

SH = ZoneInfo("Asia/Shanghai")
TOKEN = "push-token-123"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.CRM_SMS_WEBHOOK_TOKEN = TOKEN


def post(client, name, payload, token=TOKEN):
    return client.post(
        reverse(f"care:aliyun-sms-{name}", args=[token]), data=json.dumps(payload), content_type="application/json"
    )


def reply(phone, content, when="2026-05-01 10:15:30"):
    return {
        "phone_number": phone,
        "send_time": when,
        "content": content,
        "sign_name": "浦东4S店",
        "dest_code": "1234",
        "sequence_id": 1234567,
    }


@pytest.mark.parametrize("text", ["TD", "td", "T", "退订", "回T退订", " N ", "STOP", "我要退订短信"])
def test_opt_out_replies_are_recognised(text):
    assert is_opt_out_reply(text)


@pytest.mark.parametrize("text", ["好的", "谢谢", "明天上午到店", "TDD", "1"])
def test_other_replies_are_not_opt_outs(text):
    assert not is_opt_out_reply(text)


def test_a_td_reply_withdraws_marketing_consent_with_time_and_source(client, dealership, other_dealership):
    here = CustomerFactory(dealership=dealership, phone="13800005555", marketing_consent=True)
    there = CustomerFactory(dealership=other_dealership, phone="13800005555", marketing_consent=True)
    someone_else = CustomerFactory(dealership=dealership, phone="13800006666", marketing_consent=True)

    response = post(client, "reply", [reply("13800005555", "TD")])
    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "成功"}

    received = datetime.datetime(2026, 5, 1, 10, 15, 30, tzinfo=SH)
    for customer in (here, there):
        customer.refresh_from_db()
        assert (customer.marketing_consent, customer.marketing_consent_at) == (False, received)
        change = ConsentChange.objects.get(customer=customer)
        assert (change.granted, change.source, change.detail, change.changed_at) == (False, "sms_reply", "TD", received)
    assert Customer.objects.get(pk=someone_else.pk).marketing_consent is True
    # A second "TD" changes nothing and records nothing new.
    post(client, "reply", [reply("13800005555", "退订", when="2026-05-02 09:00:00")])
    assert ConsentChange.objects.count() == 2


def test_an_ordinary_reply_changes_nothing(client, dealership):
    customer = CustomerFactory(dealership=dealership, phone="13800005555", marketing_consent=True)
    assert post(client, "reply", [reply("13800005555", "好的，明天到")]).status_code == 200
    customer.refresh_from_db()
    assert customer.marketing_consent is True
    assert not ConsentChange.objects.exists()


def test_after_an_opt_out_the_queued_greeting_is_suppressed(client, dealership, advisor, generate, scripted):
    CareRuleFactory(kind="birthday", channel="sms", lead_days=0, expiry_days=0, message_template="{name}生日快乐")
    CustomerFactory(
        dealership=dealership,
        advisor=advisor,
        phone="13800005555",
        birthday=datetime.date(1980, 5, 1),
        marketing_consent=True,
    )
    generate(datetime.date(2026, 5, 1))
    post(client, "reply", [reply("13800005555", "TD", when="2026-05-01 07:30:00")])
    outbox_send(now=datetime.datetime(2026, 5, 1, 8, tzinfo=SH))
    message = Outbox.objects.get()
    assert (message.status, message.suppression_reason) == ("suppressed", "no_consent")
    assert scripted.sent == []


def test_wrong_token_is_404_and_a_bad_body_is_400(client, dealership, settings):
    assert post(client, "reply", [reply("13800005555", "TD")], token="guess").status_code == 404
    bad = client.post(reverse("care:aliyun-sms-reply", args=[TOKEN]), data="not json", content_type="application/json")
    assert bad.status_code == 400
    assert post(client, "report", {"not": "a list"}).status_code == 400
    settings.CRM_SMS_WEBHOOK_TOKEN = ""  # not configured: the endpoints do not exist
    assert post(client, "reply", [reply("13800005555", "TD")]).status_code == 404


def test_delivery_reports_mark_messages_delivered_or_failed(client, dealership, advisor, generate, scripted):
    CareRuleFactory(kind="birthday", channel="sms", lead_days=0, expiry_days=0, message_template="{name}生日快乐")
    for phone in ("13800007001", "13800007002"):
        CustomerFactory(
            dealership=dealership,
            advisor=advisor,
            phone=phone,
            birthday=datetime.date(1980, 5, 1),
            marketing_consent=True,
        )
    generate(datetime.date(2026, 5, 1))
    outbox_send(now=datetime.datetime(2026, 5, 1, 8, tzinfo=SH))
    first, second = Outbox.objects.order_by("recipient")
    reports = [
        {
            "phone_number": "13800007001",
            "send_time": "2026-05-01 08:00:01",
            "report_time": "2026-05-01 08:00:09",
            "success": True,
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
            "biz_id": first.gateway_message_id,
            "out_id": str(first.pk),
        },
        {
            "phone_number": "13800007002",
            "send_time": "2026-05-01 08:00:01",
            "report_time": "2026-05-01 08:00:12",
            "success": False,
            "err_code": "MK:0001",
            "err_msg": "空号",
            "sms_size": "1",
            "biz_id": "unknown-biz",
            "out_id": str(second.pk),
        },
    ]
    assert post(client, "report", reports).status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.delivered_at) == ("delivered", datetime.datetime(2026, 5, 1, 8, 0, 9, tzinfo=SH))
    assert (second.status, second.error_code) == ("failed", "MK:0001")
