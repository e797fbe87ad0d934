"""The watch list's words: one function, shared by the dashboard and the care engine."""

import datetime

import pytest
from django.utils import translation

from customers.models import Customer
from customers.selectors import customer_watch_text

D = datetime.date


def watch(reason="", since=None, **figures) -> Customer:
    return Customer(name="张三", watch_reason=reason, watch_since=since, **figures)


VISIT_RATE = {"watch_usual_days": 118, "watch_days_since": 205, "watch_last_visit": D(2026, 5, 12)}
TIER_DOWN = {"watch_from_tier": "A", "watch_to_tier": "B"}


@pytest.mark.parametrize(
    ("customer", "english", "chinese"),
    [
        (
            watch("visit_rate", D(2026, 12, 3), **VISIT_RATE),
            "Visits slowed down: usually every 118 days; 205 days since 2026-05-12",
            "来店频次下降：通常每118天来店一次；自2026-05-12起已205天未来店",
        ),
        (
            watch("tier_down", D(2026, 12, 1), **TIER_DOWN),
            "Tier went down: A → B on 2026-12-01",
            "价值等级下降：2026-12-01由A降为B",
        ),
        # Set by hand or by an older recompute: no figures, just the reason.
        (watch("visit_rate", D(2026, 12, 3)), "Visits slowed down", "来店频次下降"),
        (watch("complaint", D(2026, 12, 3)), "A tier-A customer complained", "A类客户有投诉"),
        (watch("no_renewal", D(2026, 12, 3)), "no_renewal", "no_renewal"),
        (watch(), "", ""),
    ],
)
def test_the_watch_text_states_the_reason_and_its_figures(customer, english, chinese):
    with translation.override("en"):
        assert customer_watch_text(customer) == english
    with translation.override("zh-hans"):
        assert customer_watch_text(customer) == chinese


def test_the_watch_text_needs_no_query(db, django_assert_num_queries):
    customer = watch("tier_down", D(2026, 12, 1), **TIER_DOWN)
    with django_assert_num_queries(0):
        customer_watch_text(customer)


def test_the_customer_page_says_why_the_customer_is_watched(client, advisor, customer):
    customer.watch_reason, customer.watch_since = "visit_rate", D(2026, 12, 3)
    for field, value in VISIT_RATE.items():
        setattr(customer, field, value)
    customer.save()
    client.force_login(advisor)
    page = client.get(f"/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "来店频次下降：通常每118天来店一次；自2026-05-12起已205天未来店" in page
