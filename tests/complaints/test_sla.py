"""SLA clocks in the store's business time, pause and resume, and the
15-minute sweep. Every expected time below is worked out by hand in the
comment beside it (a day of 08:30–18:00 is 570 minutes)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from complaints.models import Complaint, ComplaintCategory, ComplaintEvent, ComplaintPolicy
from complaints.services import (
    complaint_open,
    complaint_pause,
    complaint_resume,
    complaint_transition,
    complaints_sla_sweep,
)
from crm.models import Notification, User
from tests.crm.factories import DealershipFactory, UserFactory
from tests.customers.factories import CustomerFactory

SH = ZoneInfo("Asia/Shanghai")
S = Complaint.Status


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


@pytest.fixture
def category(db):
    return ComplaintCategory.objects.get(code="waiting_time")


def open_case(customer, received_at, severity="normal", **extra):
    return complaint_open(
        customer=customer,
        channel="hotline",
        category=ComplaintCategory.objects.get(code="waiting_time"),
        severity=severity,
        description="等了三个小时还没修好",
        by=None,
        received_at=received_at,
        **extra,
    )


def test_default_policies_are_installed_per_severity(db):
    rows = {
        p.severity: (p.acknowledge_hours, p.first_contact_days, p.resolution_days)
        for p in ComplaintPolicy.objects.all()
    }
    assert rows == {"normal": (24, 1, 5), "escalated": (8, 1, 3), "major": (4, 1, 2), "urgent": (4, 1, 1)}


def test_friday_evening_case_in_a_store_open_monday_to_saturday(db, category):
    store = DealershipFactory(open_weekdays="123456")
    customer = CustomerFactory(dealership=store, value_tier="B")
    # Friday 13 November 2026, 17:30; no holiday that week.
    case = open_case(customer, at(2026, 11, 13, 17, 30))
    # Acknowledge in 24 business hours = 1440 min: Fri 30, Sat 570 (600),
    # Sunday closed, Mon 570 (1170), Tue 270 more → 13:00.
    assert case.acknowledge_due == at(2026, 11, 17, 13, 0)
    # Due soon after 75% = 1080 min: Fri 30, Sat 570 (600), Mon 480 → 16:30.
    assert case.acknowledge_warn_at == at(2026, 11, 16, 16, 30)
    # First contact within 1 working day = 570 min: Fri 30, Sat 540 → 17:30.
    assert case.first_contact_due == at(2026, 11, 14, 17, 30)
    # Resolution 5 working days = 2850 min: Fri 30, Sat, Mon, Tue, Wed (2310), Thu 540 → 17:30.
    assert case.resolution_due == at(2026, 11, 19, 17, 30)


def test_a_case_of_30_september_runs_across_the_national_day_closure(db):
    store = DealershipFactory()  # every day 08:30–18:00, closed on public holidays
    customer = CustomerFactory(dealership=store, value_tier="B")
    case = open_case(customer, at(2026, 9, 30, 16, 0))
    # 1440 min: 30 Sep 120; 1–7 October off; 8 Oct 570 (690), 9 Oct 570 (1260),
    # 10 Oct (the 调休 Saturday) 180 → 11:30.
    assert case.acknowledge_due == at(2026, 10, 10, 11, 30)
    # 570 min: 30 Sep 120, 8 Oct 450 → 16:00.
    assert case.first_contact_due == at(2026, 10, 8, 16, 0)
    # 2850 min: 120 + 8, 9, 10 Oct (1830) + 11 Oct, an ordinary Sunday the store
    # opens (2400) + 12 Oct 450 → 16:00.
    assert case.resolution_due == at(2026, 10, 12, 16, 0)


def test_a_store_open_on_public_holidays_keeps_its_clocks_running(db):
    store = DealershipFactory(closed_on_public_holidays=False)
    customer = CustomerFactory(dealership=store, value_tier="B")
    case = open_case(customer, at(2026, 9, 30, 16, 0))
    # 570 min: 30 Sep 120, 1 Oct 450 → 16:00.
    assert case.first_contact_due == at(2026, 10, 1, 16, 0)


def test_a_tier_a_customers_case_starts_one_severity_higher(db):
    customer = CustomerFactory(dealership=DealershipFactory(), value_tier="A")
    with translation.override("en"):
        case = open_case(customer, at(2026, 11, 16, 9, 0))
    assert case.severity == "escalated"
    # Escalated: acknowledge in 8 business hours: Monday 09:00 + 8 h = 17:00.
    assert case.acknowledge_due == at(2026, 11, 16, 17, 0)
    assert case.events.get().note == "Severity raised one level: a tier-A customer."


def test_a_pause_of_two_business_hours_moves_resolution_by_two_business_hours(db, monkeypatch):
    store = DealershipFactory()
    customer = CustomerFactory(dealership=store, value_tier="B")
    manager = UserFactory(dealership=store, role=User.Role.MANAGER)
    case = open_case(customer, at(2026, 11, 16, 9, 0))  # Monday
    # 2850 min from Mon 09:00: Mon 540, Tue–Fri 2280 (2820), Sat 30 → 09:00.
    assert case.resolution_due == at(2026, 11, 21, 9, 0)
    # Paused Tuesday 17:00, resumed Wednesday 09:30: 60 + 60 = 120 business minutes.
    monkeypatch.setattr(timezone, "now", lambda: at(2026, 11, 17, 17, 0))
    complaint_pause(complaint=case, by=manager, waiting_on="parts", reason="等配件到货")
    monkeypatch.setattr(timezone, "now", lambda: at(2026, 11, 18, 9, 30))
    case = complaint_resume(complaint=case, by=manager)
    # Saturday 09:00 + 120 business minutes = Saturday 11:00.
    assert case.resolution_due == at(2026, 11, 21, 11, 0)
    assert case.paused_minutes == 120
    assert case.paused_at is None and case.waiting_on == ""
    actions = list(case.events.values_list("action", flat=True))
    assert actions == ["step", "paused", "resumed"]


def test_a_paused_case_is_not_breached_on_resolution(db):
    store = DealershipFactory()
    customer = CustomerFactory(dealership=store, value_tier="B")
    manager = UserFactory(dealership=store, role=User.Role.MANAGER)
    case = open_case(customer, timezone.now() - datetime.timedelta(days=30))
    complaint_transition(complaint=case, to=S.RECORDED, by=manager)
    Complaint.objects.filter(pk=case.pk).update(first_contacted_at=timezone.now())
    complaint_pause(complaint=case, by=manager, waiting_on="customer", reason="客户出差，下周来店")
    complaints_sla_sweep()
    case.refresh_from_db()
    assert case.resolution_breached_at is None


def test_pause_needs_what_it_waits_on_and_why(db):
    store = DealershipFactory()
    case = open_case(CustomerFactory(dealership=store, value_tier="B"), timezone.now())
    manager = UserFactory(dealership=store, role=User.Role.MANAGER)
    with pytest.raises(ValidationError) as err:
        complaint_pause(complaint=case, by=manager, waiting_on="weather", reason=" ")
    assert set(err.value.message_dict) == {"waiting_on", "pause_reason"}
    with pytest.raises(ValidationError):
        complaint_resume(complaint=case, by=manager)


def test_a_breach_is_escalated_exactly_once_across_two_runs(db, django_assert_max_num_queries, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    store = DealershipFactory()
    manager = UserFactory(dealership=store, role=User.Role.MANAGER, email="boss@example.com")
    customer = CustomerFactory(dealership=store, value_tier="B")
    late = open_case(customer, at(2026, 11, 16, 9, 0))
    fresh = open_case(customer, at(2026, 11, 19, 9, 0))
    # Normal: 1440 min from Mon 09:00: Mon 540, Tue 570 (1110), Wed 330 → 14:00.
    assert late.acknowledge_due == at(2026, 11, 18, 14, 0)
    run_at = at(2026, 11, 18, 14, 15)
    complaints_sla_sweep(now=run_at)
    complaints_sla_sweep(now=run_at + datetime.timedelta(minutes=15))
    late.refresh_from_db()
    fresh.refresh_from_db()
    assert late.severity == "escalated" and late.response_breached_at == run_at
    assert late.sla_state == "breached"
    assert late.events.filter(action=ComplaintEvent.Action.ESCALATED).count() == 1
    assert fresh.severity == "normal" and fresh.response_breached_at is None
    assert Notification.objects.filter(user=manager).count() == 1
    assert len(mail.outbox) == 1 and late.number in mail.outbox[0].body


def test_due_soon_is_marked_and_cleared_when_the_clock_is_met(db):
    store = DealershipFactory()
    manager = UserFactory(dealership=store, role=User.Role.MANAGER)
    case = open_case(CustomerFactory(dealership=store, value_tier="B"), at(2026, 11, 16, 9, 0))
    # First contact 570 min from Mon 09:00: Tue 09:00; due soon after 428 min
    # (570 − 570·25 // 100 = 570 − 142): Mon 16:08.
    assert case.first_contact_warn_at == at(2026, 11, 16, 16, 8)
    complaints_sla_sweep(now=at(2026, 11, 16, 16, 10))
    case.refresh_from_db()
    assert case.sla_state == "due_soon"
    complaint_transition(complaint=case, to=S.RECORDED, by=manager)
    Complaint.objects.filter(pk=case.pk).update(first_contacted_at=at(2026, 11, 16, 16, 20))
    complaints_sla_sweep(now=at(2026, 11, 16, 16, 30))
    case.refresh_from_db()
    assert case.sla_state == "on_track"


@pytest.mark.parametrize("cases", [3, 30])
def test_the_sweep_runs_a_constant_number_of_statements(db, cases, django_assert_num_queries, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    store = DealershipFactory()
    UserFactory(dealership=store, role=User.Role.MANAGER, email="boss@example.com")
    customer = CustomerFactory(dealership=store, value_tier="B")
    for _ in range(cases):
        open_case(customer, at(2026, 11, 2, 9, 0))
    # Both clocks breached for every case: per clock SELECT … FOR UPDATE, UPDATE,
    # INSERT events, SELECT managers, INSERT notifications (+ savepoint pair);
    # then the two state updates.
    with django_assert_num_queries(16):
        report = complaints_sla_sweep(now=at(2026, 11, 30, 9, 0))
    assert report.escalated == 2 * cases
