"""The outbox as people see it: the admin list with its daily counts and
resend, and the customer's message timeline with every suppression."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from care.models import Outbox
from tests.customers.factories import CustomerFactory

SH = ZoneInfo("Asia/Shanghai")


def message(customer, **kwargs) -> Outbox:
    fields = {
        "dealership": customer.dealership,
        "customer": customer,
        "kind": "birthday",
        "purpose": "marketing",
        "channel": "sms",
        "recipient": customer.phone,
        "template_key": "birthday/1",
        "body": f"{customer.name}，生日快乐",
        "send_after": timezone.now(),
        **kwargs,
    }
    return Outbox.objects.create(**fields)


def test_admin_outbox_list_shows_counts_per_day_for_the_users_dealership(client, manager, customer, other_dealership):
    message(customer, status="sent", sent_at=timezone.now())
    message(customer, status="failed", error_code="isv.MOBILE_NUMBER_ILLEGAL")
    message(customer, status="suppressed", suppression_reason="no_consent")
    message(customer)
    stranger = CustomerFactory(dealership=other_dealership)
    message(stranger, status="sent", sent_at=timezone.now())

    client.force_login(manager)
    page = client.get(reverse("admin:care_outbox_changelist"))
    assert page.status_code == 200
    (row,) = page.context["daily_counts"]
    assert (row["total"], row["sent"], row["failed"], row["suppressed"], row["waiting"]) == (4, 1, 1, 1, 1)
    assert 'id="outbox-daily-counts"' in page.content.decode()
    filtered = client.get(reverse("admin:care_outbox_changelist"), {"suppression_reason": "no_consent"})
    assert filtered.context["cl"].result_count == 1


def test_admin_resend_requeues_failed_and_suppressed_messages_only(client, group_admin, customer):
    failed = message(customer, status="failed", error_code="isv.BUSINESS_LIMIT_CONTROL", attempts=8)
    sent = message(customer, status="sent", sent_at=timezone.now())
    client.force_login(group_admin)
    response = client.post(
        reverse("admin:care_outbox_changelist"),
        {"action": "resend", "_selected_action": [failed.pk, sent.pk]},
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error_code) == ("queued", 0, "")
    assert sent.status == "sent"


def test_a_message_of_another_dealership_is_404_in_admin(client, manager, other_dealership):
    stranger = CustomerFactory(dealership=other_dealership)
    other = message(stranger)
    client.force_login(manager)
    assert client.get(reverse("admin:care_outbox_change", args=[other.pk])).status_code == 404


def test_the_customer_timeline_shows_messages_with_their_suppression_reason(client, advisor, customer):
    message(customer, status="suppressed", suppression_reason="frequency_cap")
    message(customer, status="sent", sent_at=datetime.datetime(2026, 5, 1, 8, tzinfo=SH))
    client.force_login(advisor)
    page = client.get(reverse("care:customer-messages", args=[customer.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Frequency cap reached" in text or "频次" in text
    assert "2026-05-01 08:00" in text
    # The same timeline is a section of the customer's page.
    detail = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'id="message-timeline"' in detail and "2026-05-01 08:00" in detail


def test_the_customer_timeline_of_another_dealership_is_404(client, advisor, other_dealership):
    stranger = CustomerFactory(dealership=other_dealership)
    client.force_login(advisor)
    assert client.get(reverse("care:customer-messages", args=[stranger.pk])).status_code == 404


@pytest.mark.parametrize("count", [3, 30])
def test_the_timeline_runs_a_fixed_number_of_queries(client, advisor, customer, count, django_assert_max_num_queries):
    for _ in range(count):
        message(customer, status="sent", sent_at=timezone.now())
    client.force_login(advisor)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("care:customer-messages", args=[customer.pk])).status_code == 200
