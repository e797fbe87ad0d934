"""The club's care kinds (issue 12, item 8): the welcome message when a card
starts, the renewal call 30 days before a card expires (closed when the card
is renewed), the thanks to a referrer naming the referred customer by surname
only, club event invitations only to customers who agreed to marketing
messages; and the card in the call panel at the panel's fixed cost."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from care.engine.services import care_tasks_generate
from care.messaging.services import outbox_enqueue
from care.models import CareOptOut, CareRule, CareTask, Contact, Outbox
from care.registry import spec_for
from care.touches.selectors import care_task_render
from loyalty.events_services import event_invite_ids
from loyalty.models import ClubEvent, LoyaltyPolicy
from loyalty.services import card_join, card_renew, loyalty_nightly, referral_record
from loyalty.signals import card_started, club_event_invitations
from tests.care.factories import CareRuleFactory
from tests.care.test_queue import touch as make_touch
from tests.crm.factories import DealershipFactory, ManagerFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
WELCOME, RENEWAL, THANKS, INVITE = "membership_welcome", "membership_renewal", "referral_thanks", "club_event_invite"


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


@pytest.fixture
def clock(monkeypatch):
    """Set the time everything reads through ``timezone.now()``."""

    def set_to(moment: datetime.datetime) -> datetime.datetime:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to


@pytest.fixture
def club_rules(db):
    """The default rules of the club's kinds only (the care tests start without rules)."""
    return {
        kind: CareRule.objects.create(dealership=None, kind=kind, **spec_for(kind).default_rules[0])
        for kind in (WELCOME, RENEWAL, THANKS, INVITE)
    }


def touches(kind: str) -> list[CareTask]:
    return list(CareTask.objects.filter(kind=kind).order_by("pk"))


# --- Welcome ---------------------------------------------------------------------------------


def test_a_card_joined_at_the_desk_gets_its_welcome_with_level_and_benefits(clock, club_rules, customer):
    assert customer.marketing_consent is False  # a service message: no consent needed
    now = clock(at(2026, 6, 5, 10, 0))
    card = card_join(customer=customer, level="silver", route="fee", by=None, day=D(2026, 6, 5), now=now)
    # Silver for 2 years: 2026-06-05 → 2028-06-05. The morning run of the day makes the welcome.
    assert care_tasks_generate(day=D(2026, 6, 5)).created.get(WELCOME) == 1
    (touch,) = touches(WELCOME)
    assert (touch.channel, touch.occasion, touch.subject, touch.vehicle_id) == (
        "sms",
        f"membership-welcome:{card.pk}",
        card.number,
        None,
    )
    # Made on the day the card was made; expiry_days 3: until 2026-06-08.
    assert (touch.event_date, touch.due_date, touch.expires_on) == (D(2026, 6, 5), D(2026, 6, 5), D(2026, 6, 8))
    with translation.override("en"):  # the card's words as their msgids: independent of the catalogue
        assert outbox_enqueue(now=now) == 1
    message = Outbox.objects.get()
    assert (message.purpose, message.status, message.recipient) == ("service", "queued", "13912345678")
    # The group policy's silver card: 10 % off labour, 20 washes, 1 alignment, 20 km of towing,
    # the annual-inspection agency once, and the courtesy car (a perk, not counted), in that order.
    assert message.body == (
        f"【浦东4S店】李雷Mr.，欢迎您成为本店Silver card会员，卡号{card.number}，有效期至2028-06-05。"
        "会员权益：labour 10% off, Free car wash ×20, Wheel alignment ×1, Towing outside town (km) ×20, "
        "Annual-inspection agency ×1, Courtesy car。详询021-61234567。"
    )
    # A rerun of the morning makes nothing twice.
    assert care_tasks_generate(day=D(2026, 6, 5)).created.get(WELCOME, 0) == 0


def test_the_welcome_follows_the_stores_own_policy(clock, club_rules, customer):
    LoyaltyPolicy.objects.create(dealership=customer.dealership, ordinary_labour_discount=8)
    now = clock(at(2026, 6, 5, 10, 0))
    card_join(customer=customer, level="ordinary", route="fee", by=None, day=D(2026, 6, 5), now=now)
    care_tasks_generate(day=D(2026, 6, 5))
    with translation.override("en"):
        outbox_enqueue(now=now)
    # The store's own policy has no counted benefits of its own: only its 8 % labour discount.
    assert "会员权益：labour 8% off。" in Outbox.objects.get().body


def test_card_started_sends_the_welcome_at_once(clock, club_rules, customer):
    now = clock(at(2026, 6, 5, 10, 0))
    card = card_join(customer=customer, level="ordinary", route="fee", by=None, day=D(2026, 6, 5), now=now)
    card_started.send(sender=type(card), card=card, by=None, now=now)
    message = Outbox.objects.get()
    assert (message.kind, message.task.occasion) == (WELCOME, f"membership-welcome:{card.pk}")
    assert card.number in message.body and "2028-06-05" in message.body
    # The morning run finds it made.
    assert care_tasks_generate(day=D(2026, 6, 5)).created.get(WELCOME, 0) == 0


# --- Renewal ---------------------------------------------------------------------------------


@pytest.fixture
def expiring_card(customer):
    # Ordinary for 2 years from 2026-03-01: valid until 2028-03-01.
    return card_join(customer=customer, level="ordinary", route="fee", by=None, day=D(2026, 3, 1))


def test_the_renewal_call_is_due_30_days_before_the_card_expires(club_rules, customer, advisor, expiring_card):
    card = expiring_card
    assert card.valid_until == D(2028, 3, 1)
    # 2028 is a leap year: 2028-03-01 − 1 day = 02-29, − 29 more = 02-01, − 30 = 2028-01-31.
    assert care_tasks_generate(day=D(2028, 1, 30)).created.get(RENEWAL, 0) == 0
    report = care_tasks_generate(day=D(2028, 1, 31))
    assert (report.created.get(RENEWAL), report.total_created) == (1, 1)
    (touch,) = touches(RENEWAL)
    assert (touch.channel, touch.occasion, touch.subject, touch.assigned_to) == (
        "call",
        f"membership-renewal:{card.pk}:2028-03-01",
        card.number,
        advisor,
    )
    # expiry_days 0: the call may be made until the card's last day.
    assert (touch.event_date, touch.due_date, touch.expires_on) == (D(2028, 3, 1), D(2028, 1, 31), D(2028, 3, 1))


def test_a_renewed_card_closes_its_renewal_touch(club_rules, customer, expiring_card):
    care_tasks_generate(day=D(2028, 1, 31))
    card_renew(card=expiring_card, by=None, day=D(2028, 2, 10))
    expiring_card.refresh_from_db()
    assert expiring_card.valid_until == D(2030, 3, 1)  # two more years from the old expiry
    report = care_tasks_generate(day=D(2028, 2, 11))
    (touch,) = touches(RENEWAL)
    assert (touch.status, touch.outcome, report.fulfilled) == ("done", "fulfilled", 1)
    # The next renewal is 2030's: nothing new now.
    assert report.created.get(RENEWAL, 0) == 0


def test_a_card_not_renewed_keeps_its_touch_until_it_expires(club_rules, customer, expiring_card):
    care_tasks_generate(day=D(2028, 1, 31))
    care_tasks_generate(day=D(2028, 3, 1))
    assert touches(RENEWAL)[0].status == "open"
    care_tasks_generate(day=D(2028, 3, 2))
    (touch,) = touches(RENEWAL)
    assert (touch.status, touch.outcome) == ("cancelled", "expired")


def test_a_message_rule_sends_the_renewal_by_sms(club_rules, customer, expiring_card):
    club_rules[RENEWAL].channel = "sms"
    club_rules[RENEWAL].save()
    care_tasks_generate(day=D(2028, 1, 31))
    with translation.override("en"):
        outbox_enqueue(now=at(2028, 1, 31, 9, 0))
    body = Outbox.objects.get(kind=RENEWAL).body
    assert body.startswith(f"【浦东4S店】李雷Mr.，您的Ordinary card（卡号{expiring_card.number}）将于2028-03-01到期")


def test_the_call_panel_shows_the_card_and_renew_in_the_window(
    clock, club_rules, client, customer, advisor, expiring_card
):
    clock(at(2028, 1, 31, 9, 0))
    care_tasks_generate(day=D(2028, 1, 31))
    (touch,) = touches(RENEWAL)
    client.force_login(advisor)
    page = client.get(reverse("care:panel", args=[touch.pk]), HTTP_HX_REQUEST="true").content.decode()
    card = expiring_card
    assert f'<span class="mono">{card.number}</span>' in page
    assert "2028-03-01" in page
    assert f'href="{reverse("loyalty:desk")}?q={card.number}">' in page  # renewable from 2028-01-31
    # The script names the card (its level from the same query as the panel's card).
    assert f"（卡号{card.number}）将于2028-03-01到期" in page


def test_no_renew_link_before_the_window(clock, client, customer, advisor, expiring_card):
    clock(at(2027, 6, 1, 9, 0))
    task = make_touch(customer, advisor, CareRuleFactory(kind="maintenance"))
    client.force_login(advisor)
    page = client.get(reverse("care:panel", args=[task.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert f'<span class="mono">{expiring_card.number}</span>' in page
    assert 'class="renew"' not in page  # the window opens on 2028-01-31


@pytest.mark.parametrize("history", [1, 20])
def test_the_panel_with_the_card_costs_no_more_than_its_bound(
    clock, club_rules, client, customer, advisor, expiring_card, history, django_assert_max_num_queries
):
    clock(at(2028, 1, 31, 9, 0))
    care_tasks_generate(day=D(2028, 1, 31))
    (touch,) = touches(RENEWAL)
    for n in range(history):
        Contact.objects.create(dealership=customer.dealership, customer=customer, advisor=advisor, notes=f"n{n}")
        VehicleFactory(customer=customer)
    client.force_login(advisor)
    # The panel's bound (tests/care/test_queue.py): the card's one query is paid
    # for by the customer's advisor now read with the touches.
    with django_assert_max_num_queries(12):
        page = client.get(reverse("care:panel", args=[touch.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'class="renew"' in page


# --- Referral thanks -------------------------------------------------------------------------


def test_the_referrer_is_thanked_naming_the_referred_by_surname_only(club_rules, customer, advisor):
    card_join(customer=customer, level="ordinary", route="fee", by=None, day=D(2026, 3, 1))
    chen = CustomerFactory(dealership=customer.dealership, name="陈晓明", gender="male")
    ouyang = CustomerFactory(dealership=customer.dealership, name="欧阳娜娜", gender="female")
    for referred in (chen, ouyang):
        referral_record(referrer=customer, referred=referred, by=None, now=at(2026, 6, 1, 10, 0))
        # The referred customer buys a car here: the referral is confirmed and rewarded at night.
        VehicleFactory(customer=referred, sold_here=True, purchase_date=D(2026, 6, 4))
    report = loyalty_nightly(day=D(2026, 6, 5), now=at(2026, 6, 5, 2, 30))
    assert report.confirmed == 2 and report.earned["referral"] == 2
    care_tasks_generate(day=D(2026, 6, 5))
    thanks = touches(THANKS)
    assert [(t.customer, t.subject, t.channel, t.assigned_to) for t in thanks] == [
        (customer, "陈先生", "call", advisor),
        (customer, "欧阳女士", "call", advisor),
    ]
    # Rewarded on 2026-06-05, called that day; expiry_days 7: until 2026-06-12.
    assert {(t.event_date, t.due_date, t.expires_on) for t in thanks} == {
        (D(2026, 6, 5), D(2026, 6, 5), D(2026, 6, 12))
    }
    script = care_task_render(thanks[0], club_rules[THANKS].call_script)
    assert "感谢您推荐陈先生来我们店" in script and "陈晓明" not in script
    # The same morning: the welcomes of the two new members (a car bought here
    # makes its owner a member), and the referrer's, who referred two as an
    # ordinary member and was upgraded to silver that night. Nothing twice.
    welcomes = {t.customer: t.subject for t in touches(WELCOME)}
    assert set(welcomes) == {chen, ouyang, customer}
    assert customer.membership_cards.get(number=welcomes[customer]).level == "silver"
    assert care_tasks_generate(day=D(2026, 6, 5)).total_created == 0


# --- Club event invitations --------------------------------------------------------------------


def test_invitations_go_only_to_customers_who_agreed_and_did_not_opt_out(clock, club_rules, dealership, customer):
    now = clock(at(2026, 6, 5, 10, 0))
    customer.marketing_consent = True
    customer.save()
    silent = CustomerFactory(dealership=dealership, marketing_consent=False)
    opted_out = CustomerFactory(dealership=dealership, marketing_consent=True)
    CareOptOut.objects.create(customer=opted_out, kind="", channel="sms", reason="不要短信")
    elsewhere = CustomerFactory(dealership=DealershipFactory(), marketing_consent=True)
    event = ClubEvent.objects.create(
        dealership=dealership, title="周末自驾游", starts_at=at(2026, 6, 20, 9, 0), capacity=20
    )
    ids = [customer.pk, silent.pk, opted_out.pk, elsewhere.pk]
    club_event_invitations.send(sender=ClubEvent, event=event, customer_ids=ids, by=ManagerFactory(), now=now)
    message = Outbox.objects.get()
    assert (message.customer, message.kind, message.purpose, message.status) == (
        customer,
        INVITE,
        "marketing",
        "queued",
    )
    assert message.task.occasion == f"club-event:{event.pk}"
    assert "周末自驾游" in message.body and "2026-06-20 09:00" in message.body
    # The customer's own registration link, signed for this event and this customer.
    token = re.search(r"/e/([^/\s]+)/", message.body).group(1)
    assert event_invite_ids(token) == (event.pk, customer.pk)
    # Inviting again sends nothing twice; the morning run invents no invitation.
    club_event_invitations.send(sender=ClubEvent, event=event, customer_ids=ids, by=None, now=now)
    assert care_tasks_generate(day=D(2026, 6, 5)).created.get(INVITE, 0) == 0
    assert Outbox.objects.count() == 1 and CareTask.objects.filter(kind=INVITE).count() == 1


def test_an_invitation_waits_for_the_end_of_quiet_hours(clock, club_rules, dealership, customer):
    now = clock(at(2026, 6, 5, 22, 30))
    customer.marketing_consent = True
    customer.save()
    event = ClubEvent.objects.create(dealership=dealership, title="保养课堂", starts_at=at(2026, 6, 20, 9), capacity=5)
    club_event_invitations.send(sender=ClubEvent, event=event, customer_ids=[customer.pk], by=None, now=now)
    # Quiet from 21:00 to 08:00: queued now, sent from 08:00 the next morning.
    assert Outbox.objects.get().send_after == at(2026, 6, 6, 8, 0)
