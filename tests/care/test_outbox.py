"""Message touches through the outbox: rendering, every suppression reason,
quiet hours, the marketing cap, retries, and the day -1 / day 0 cadence.

Times are Shanghai local; expected texts and times are written out by hand."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from care.messaging.base import PermanentError, TemporaryError
from care.messaging.services import outbox_enqueue, outbox_resend, outbox_send, quiet_hours_release
from care.models import CareOptOut, CareTask, MessagingProfile, Outbox
from care.workspace.selectors import QueueFilters, care_queue
from customers.models import Customer
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
BIRTHDAY = D(2026, 3, 12)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def birthday_rule(**kwargs):
    return CareRuleFactory(
        **{
            "kind": "birthday",
            "channel": "sms",
            "lead_days": 0,
            "expiry_days": 0,
            "message_template": "【{dealership}】{name}{title}，今天是您的生日，祝您生日快乐！",
            "gateway_template_code": "SMS_100001",
            **kwargs,
        }
    )


def birthday_customer(dealership, advisor, **kwargs):
    return CustomerFactory(
        **{
            "dealership": dealership,
            "advisor": advisor,
            "name": "韩梅梅",
            "gender": Customer.Gender.FEMALE,
            "phone": "13800001111",
            "birthday": D(1990, 3, 12),
            "marketing_consent": True,
            **kwargs,
        }
    )


def only_message() -> Outbox:
    (message,) = Outbox.objects.all()
    return message


# --- Rendering and queueing -------------------------------------------------------------


def test_a_message_touch_is_queued_rendered_with_its_template_code_and_ordered_params(
    dealership, advisor, generate, scripted
):
    birthday_rule()
    customer = birthday_customer(dealership, advisor)
    generate(BIRTHDAY)

    assert outbox_enqueue(now=at(BIRTHDAY, 6)) == 1
    message = only_message()
    assert message.body == "【浦东4S店】韩梅梅女士，今天是您的生日，祝您生日快乐！"
    assert message.template_code == "SMS_100001"
    assert message.params == [["dealership", "浦东4S店"], ["name", "韩梅梅"], ["title", "女士"]]
    assert (message.customer_id, message.recipient, message.channel) == (customer.pk, "13800001111", "sms")
    assert (message.kind, message.purpose, message.status) == ("birthday", "marketing", "queued")
    # Queued at 06:00, inside the quiet hours: held until 08:00.
    assert message.send_after == at(BIRTHDAY, 8)
    assert message.expires_at == at(BIRTHDAY, 21)
    # Queueing again creates nothing: one message per touch.
    assert outbox_enqueue(now=at(BIRTHDAY, 6, 30)) == 0
    assert Outbox.objects.count() == 1


def test_birthday_greeting_goes_out_at_eight_before_half_past(dealership, advisor, generate, scripted):
    birthday_rule()
    birthday_customer(dealership, advisor)
    generate(BIRTHDAY)  # the 06:00 morning run

    early = outbox_send(now=at(BIRTHDAY, 6, 1))
    assert (early.sent, scripted.sent) == (0, [])
    assert outbox_send(now=at(BIRTHDAY, 7, 59)).sent == 0

    report = outbox_send(now=at(BIRTHDAY, 8))
    assert report.sent == 1
    message = only_message()
    assert message.status == "sent" and message.sent_at == at(BIRTHDAY, 8)
    assert message.sent_at < at(BIRTHDAY, 8, 30)
    assert [m.recipient for m in scripted.sent] == ["13800001111"]
    assert scripted.sent[0].sign_name == "浦东4S店"  # no messaging profile: the store's name
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("done", "sent")
    # A second run sends nothing more.
    assert outbox_send(now=at(BIRTHDAY, 8, 1)).sent == 0
    assert len(scripted.sent) == 1


def test_the_dealership_signature_and_email_sender_come_from_its_messaging_profile(
    dealership, advisor, generate, scripted
):
    MessagingProfile.objects.create(dealership=dealership, sms_sign_name="浦东大众", email_from="care@pudong.example")
    birthday_rule()
    birthday_customer(dealership, advisor)
    generate(BIRTHDAY)
    outbox_send(now=at(BIRTHDAY, 9))
    assert scripted.sent[0].sign_name == "浦东大众"
    assert scripted.sent[0].sender == "care@pudong.example"


# --- Quiet hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "released"),
    [
        (at(D(2026, 5, 1), 20, 59), at(D(2026, 5, 1), 20, 59)),
        (at(D(2026, 5, 1), 21, 0), at(D(2026, 5, 2), 8, 0)),
        (at(D(2026, 5, 1), 23, 30), at(D(2026, 5, 2), 8, 0)),
        (at(D(2026, 5, 2), 0, 30), at(D(2026, 5, 2), 8, 0)),
        (at(D(2026, 5, 2), 7, 59), at(D(2026, 5, 2), 8, 0)),
        (at(D(2026, 5, 2), 8, 0), at(D(2026, 5, 2), 8, 0)),
        (at(D(2026, 12, 31), 22, 0), at(D(2027, 1, 1), 8, 0)),  # across the year's end
    ],
)
def test_quiet_hours_run_across_midnight(settings, moment, released):
    assert quiet_hours_release(moment) == released
    # In UTC too: 23:30 Shanghai is 15:30 UTC the same day.
    assert quiet_hours_release(moment.astimezone(datetime.UTC)) == released


def test_quiet_hours_can_be_set_within_one_day(settings):
    settings.CRM_MESSAGE_QUIET_START, settings.CRM_MESSAGE_QUIET_END = "12:00", "14:00"
    assert quiet_hours_release(at(D(2026, 5, 1), 12, 30)) == at(D(2026, 5, 1), 14)
    assert quiet_hours_release(at(D(2026, 5, 1), 23, 0)) == at(D(2026, 5, 1), 23, 0)


def test_nothing_is_sent_in_quiet_hours_whatever_the_backend(dealership, advisor, generate, scripted, settings):
    settings.CRM_MESSAGE_BACKENDS = {**settings.CRM_MESSAGE_BACKENDS, "sms": "care.messaging.backends.ConsoleBackend"}
    birthday_rule(expiry_days=1)
    birthday_customer(dealership, advisor)
    generate(BIRTHDAY)
    # Queued at 20:50, the sender's next run is at 21:00: held until 08:00 the next day.
    outbox_enqueue(now=at(BIRTHDAY, 20, 50))
    assert outbox_send(now=at(BIRTHDAY, 21, 0)).claimed == 0
    assert outbox_send(now=at(BIRTHDAY + datetime.timedelta(days=1), 0, 30)).claimed == 0
    assert only_message().status == "queued"
    assert outbox_send(now=at(BIRTHDAY + datetime.timedelta(days=1), 8, 0)).sent == 1
    assert only_message().backend == "console"


# --- Suppressions ------------------------------------------------------------------------


def suppression(message: Outbox) -> tuple[str, str]:
    return message.status, message.suppression_reason


def test_no_marketing_without_consent(dealership, advisor, generate, scripted):
    birthday_rule()
    birthday_customer(dealership, advisor, marketing_consent=False)
    generate(BIRTHDAY)
    outbox_send(now=at(BIRTHDAY, 9))
    assert suppression(only_message()) == ("suppressed", "no_consent")
    assert scripted.sent == []
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("cancelled", "suppressed")


def test_consent_withdrawn_while_the_message_waits_is_honoured(dealership, advisor, generate, scripted):
    birthday_rule()
    customer = birthday_customer(dealership, advisor)
    generate(BIRTHDAY)
    outbox_enqueue(now=at(BIRTHDAY, 6))
    assert only_message().status == "queued"
    Customer.objects.filter(pk=customer.pk).update(marketing_consent=False)
    outbox_send(now=at(BIRTHDAY, 8))
    assert suppression(only_message()) == ("suppressed", "no_consent")
    assert scripted.sent == []


def insurance_message_rule(**kwargs):
    return CareRuleFactory(
        **{
            "kind": "insurance",
            "channel": "sms",
            "lead_days": 30,
            "expiry_days": 0,
            "message_template": "【{dealership}】{name}{title}，您的爱车{plate}的车险将于{due_date}到期。",
            **kwargs,
        }
    )


def test_service_reminders_need_no_consent_but_follow_the_customers_turn_offs(dealership, advisor, generate, scripted):
    insurance_message_rule()
    expiry = D(2026, 6, 30)
    keeps = CustomerFactory(dealership=dealership, advisor=advisor, phone="13800000001", marketing_consent=False)
    no_sms = CustomerFactory(dealership=dealership, advisor=advisor, phone="13800000002")
    no_insurance = CustomerFactory(dealership=dealership, advisor=advisor, phone="13800000003")
    for owner in (keeps, no_sms, no_insurance):
        VehicleFactory(customer=owner, insurance_expiry_date=expiry)
    day = expiry - datetime.timedelta(days=30)
    generate(day)
    # Turned off after the touches were made: the sender still honours it.
    CareOptOut.objects.create(customer=no_sms, kind="", channel="sms", reason="不要短信")
    CareOptOut.objects.create(customer=no_insurance, kind="insurance", channel="", reason="在别处续保")

    outbox_send(now=at(day, 10))
    outcome = {m.customer_id: suppression(m) for m in Outbox.objects.all()}
    assert outcome == {
        keeps.pk: ("sent", ""),
        no_sms.pk: ("suppressed", "opted_out"),
        no_insurance.pk: ("suppressed", "opted_out"),
    }
    assert only_sent_to(scripted) == ["13800000001"]


def only_sent_to(scripted) -> list[str]:
    return sorted(m.recipient for m in scripted.sent)


def test_no_address_and_inactive_customers_are_suppressed(dealership, advisor, generate, scripted):
    insurance_message_rule()
    expiry = D(2026, 6, 30)
    emailed = CustomerFactory(dealership=dealership, advisor=advisor, preferred_channel="email", email="")
    inactive = CustomerFactory(dealership=dealership, advisor=advisor)
    CareRuleFactory(
        kind="insurance",
        name="insurance by e-mail",
        channel="email",
        lead_days=30,
        expiry_days=0,
        message_template="{name}您好，车险将于{due_date}到期。",
        target_tiers="ABCD",
    )
    VehicleFactory(customer=emailed, insurance_expiry_date=expiry)
    VehicleFactory(customer=inactive, insurance_expiry_date=expiry)
    day = expiry - datetime.timedelta(days=30)
    generate(day)
    Customer.objects.filter(pk=inactive.pk).update(status=Customer.Status.MOVED)

    outbox_enqueue(now=at(day, 10))
    reasons = {(m.customer_id, m.channel): suppression(m) for m in Outbox.objects.all()}
    assert reasons[(emailed.pk, "email")] == ("suppressed", "no_address")
    assert reasons[(emailed.pk, "sms")] == ("queued", "")
    assert reasons[(inactive.pk, "sms")] == ("suppressed", "inactive")
    assert reasons[(inactive.pk, "email")] == ("suppressed", "inactive")


def test_a_touch_closed_before_sending_and_a_message_too_late_are_not_sent(dealership, advisor, generate, scripted):
    birthday_rule()
    first = birthday_customer(dealership, advisor)
    second = birthday_customer(dealership, advisor, name="李华", phone="13800002222")
    generate(BIRTHDAY)
    outbox_enqueue(now=at(BIRTHDAY, 6))
    CareTask.objects.filter(customer=first).update(status="cancelled", outcome="inapplicable")
    # The gateway was paused all day: at 21:00 a birthday greeting is too late.
    MessagingProfile.objects.create(dealership=dealership, paused=True)
    assert outbox_send(now=at(BIRTHDAY, 12)).claimed == 0  # paused: held, not suppressed
    assert set(Outbox.objects.values_list("status", flat=True)) == {"queued"}
    MessagingProfile.objects.filter(dealership=dealership).update(paused=False)
    outbox_send(now=at(BIRTHDAY + datetime.timedelta(days=1), 8))
    reasons = {m.customer_id: suppression(m) for m in Outbox.objects.all()}
    assert reasons == {first.pk: ("suppressed", "touch_closed"), second.pk: ("suppressed", "expired")}
    assert scripted.sent == []


def test_at_most_one_marketing_message_per_customer_per_seven_days(dealership, advisor, generate, scripted):
    birthday_rule()
    customer = birthday_customer(dealership, advisor)
    holiday = CareRuleFactory(
        kind="holiday",
        channel="sms",
        lead_days=0,
        expiry_days=0,
        message_template="{name}{title}，{item}快乐！",
    )
    generate(BIRTHDAY)
    outbox_send(now=at(BIRTHDAY, 8))
    assert Outbox.objects.get().status == "sent"

    def greeting(day):
        task = CareTask.objects.create(
            dealership=dealership,
            customer=customer,
            rule=holiday,
            kind="holiday",
            channel="sms",
            occasion=f"holiday:{day}",
            event_date=day,
            due_date=day,
            expires_on=day,
            created_on=day,
            assigned_to=advisor,
            subject="节日",
        )
        outbox_send(now=at(day, 9))
        return Outbox.objects.get(task=task)

    # Six days later: capped. Seven days later (the window is 7 × 24 h from 08:00): sent.
    assert suppression(greeting(BIRTHDAY + datetime.timedelta(days=6))) == ("suppressed", "frequency_cap")
    assert suppression(greeting(BIRTHDAY + datetime.timedelta(days=7))) == ("sent", "")
    assert len(scripted.sent) == 2


def test_two_marketing_messages_in_one_batch_send_only_the_first(dealership, advisor, generate, scripted):
    birthday_rule(params={"solar": True, "lunar": True})
    # Solar 3/12 and lunar 1/24 fall on the same day in 2026 (lunar 1/1 is 2026-02-17; 2/17 + 23 days = 3/12).
    birthday_customer(dealership, advisor, lunar_birthday_month=1, lunar_birthday_day=24)
    generate(BIRTHDAY)
    assert CareTask.objects.count() == 2
    outbox_send(now=at(BIRTHDAY, 8))
    assert sorted(suppression(m) for m in Outbox.objects.all()) == [("sent", ""), ("suppressed", "frequency_cap")]
    assert len(scripted.sent) == 1


def test_service_reminders_are_not_capped(dealership, advisor, generate, scripted):
    insurance_message_rule()
    customer = CustomerFactory(dealership=dealership, advisor=advisor)
    VehicleFactory(customer=customer, insurance_expiry_date=D(2026, 6, 30))
    VehicleFactory(customer=customer, insurance_expiry_date=D(2026, 6, 30))
    generate(D(2026, 5, 31))
    outbox_send(now=at(D(2026, 5, 31), 10))
    assert [m.status for m in Outbox.objects.all()] == ["sent", "sent"]


# --- Retries and failures --------------------------------------------------------------


def test_temporary_errors_back_off_exponentially_then_fail(dealership, advisor, generate, scripted, settings):
    settings.CRM_OUTBOX_MAX_ATTEMPTS = 3
    birthday_rule()
    birthday_customer(dealership, advisor)
    generate(BIRTHDAY)
    scripted.failures["13800001111"] = [TemporaryError("isv.BUSINESS_LIMIT_CONTROL", "触发流控") for _ in range(3)]

    start = at(BIRTHDAY, 8)
    outbox_send(now=start)
    message = only_message()
    assert (message.status, message.attempts, message.error_code) == ("queued", 1, "isv.BUSINESS_LIMIT_CONTROL")
    assert message.send_after == start + datetime.timedelta(seconds=60)
    assert outbox_send(now=start + datetime.timedelta(seconds=59)).claimed == 0

    outbox_send(now=start + datetime.timedelta(seconds=60))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 2)
    assert message.send_after == start + datetime.timedelta(seconds=60 + 120)

    outbox_send(now=start + datetime.timedelta(seconds=180))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("cancelled", "send_failed")
    assert scripted.sent == []


def test_a_temporary_error_then_success(dealership, advisor, generate, scripted):
    birthday_rule()
    birthday_customer(dealership, advisor)
    generate(BIRTHDAY)
    scripted.failures["13800001111"] = [TemporaryError("gateway_down", "503")]
    outbox_send(now=at(BIRTHDAY, 8))
    outbox_send(now=at(BIRTHDAY, 8, 1))
    message = only_message()
    assert (message.status, message.attempts, message.error_code) == ("sent", 2, "")
    assert len(scripted.sent) == 1


def test_a_permanent_error_fails_at_once(dealership, advisor, generate, scripted):
    birthday_rule()
    birthday_customer(dealership, advisor)
    generate(BIRTHDAY)
    scripted.failures["13800001111"] = [PermanentError("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")]
    outbox_send(now=at(BIRTHDAY, 8))
    message = only_message()
    assert (message.status, message.attempts, message.error_code) == ("failed", 1, "isv.MOBILE_NUMBER_ILLEGAL")


def test_resend_queues_a_failed_message_again_and_checks_run_again(dealership, advisor, generate, scripted):
    birthday_rule(expiry_days=3)
    birthday_customer(dealership, advisor)
    generate(BIRTHDAY)
    scripted.failures["13800001111"] = [PermanentError("isv.SMS_TEMPLATE_ILLEGAL", "模板未审核")]
    outbox_send(now=at(BIRTHDAY, 8))
    assert only_message().status == "failed"
    assert outbox_resend(messages=Outbox.objects.all(), now=at(BIRTHDAY, 9)) == 1
    # The touch was closed as failed; a resent message is the admin's decision, not the touch's.
    CareTask.objects.update(status="open", outcome="")
    outbox_send(now=at(BIRTHDAY, 9))
    assert only_message().status == "sent"
    assert outbox_resend(messages=Outbox.objects.all(), now=at(BIRTHDAY, 10)) == 0  # never twice once sent


# --- Message the day before, call on the day -------------------------------------------------


def test_message_goes_out_the_day_before_and_the_call_appears_on_the_day(dealership, advisor, generate, scripted):
    CareRuleFactory(
        kind="insurance",
        channel="call",
        lead_days=30,
        expiry_days=0,
        message_day_before=True,
        message_template="【{dealership}】{name}{title}，您的爱车{plate}车险将于{due_date}到期。",
        call_script="{name}{title}您好，车险将于{due_date}到期",
    )
    customer = CustomerFactory(dealership=dealership, advisor=advisor, name="王强", phone="13800003333")
    VehicleFactory(customer=customer, plate_number="沪B77777", insurance_expiry_date=D(2026, 6, 30))
    call_day = D(2026, 5, 31)  # 30 days before 6-30
    message_day = D(2026, 5, 30)

    assert generate(message_day - datetime.timedelta(days=1)) == []
    tasks = generate(message_day)
    assert [(t.channel, t.due_date, t.occasion.endswith("/sms")) for t in tasks] == [("sms", message_day, True)]
    assert care_queue(user=advisor, day=message_day, filters=QueueFilters()).rows == []
    outbox_send(now=at(message_day, 10))
    assert [m.body for m in scripted.sent] == ["【浦东4S店】王强先生，您的爱车沪B77777车险将于2026-06-30到期。"]

    generate(call_day)
    groups = care_queue(user=advisor, day=call_day, filters=QueueFilters()).rows
    assert [(g.customer.pk, [(t.channel, t.due_date) for t in g.tasks]) for g in groups] == [
        (customer.pk, [("call", call_day)])
    ]
    # The call day's run sends nothing more.
    outbox_send(now=at(call_day, 10))
    assert len(scripted.sent) == 1


def test_default_rules_message_the_day_before_for_the_kinds_domain_names(default_rules):
    flagged = {r.kind for r in default_rules if r.message_day_before}
    assert flagged == {"maintenance", "warranty_expiry", "insurance", "inspection", "seasonal"}
