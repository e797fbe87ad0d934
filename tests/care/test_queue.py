import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from care.models import CareTask
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory


def touch(customer, advisor, rule, *, days: int = 0, channel: str = "call", occasion: str = "") -> CareTask:
    when = timezone.localdate() + datetime.timedelta(days=days)
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=VehicleFactory(customer=customer),
        rule=rule,
        kind=rule.kind,
        channel=channel,
        occasion=occasion or f"{rule.kind}:{days}:{channel}",
        event_date=when,
        due_date=when,
        expires_on=when + datetime.timedelta(days=5),
        created_on=when,
        assigned_to=advisor,
    )


@pytest.fixture
def rules(db):
    return {
        "maintenance": CareRuleFactory(kind="maintenance", call_script="{name}{title}，{plate}该保养了（{due_date}）"),
        "insurance": CareRuleFactory(kind="insurance", call_script="车险{due_date}到期"),
        "birthday": CareRuleFactory(kind="birthday", channel="sms", message_template="{name}{title}生日快乐"),
    }


def test_advisor_lands_on_the_queue_with_merged_calls_and_messages(client, advisor, customer, rules):
    touch(customer, advisor, rules["maintenance"])
    touch(customer, advisor, rules["insurance"], days=3)
    touch(customer, advisor, rules["birthday"], channel="sms")
    client.force_login(advisor)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("care:queue")
    groups = response.context["groups"]
    assert len(groups) == 1 and len(groups[0].tasks) == 2  # one call, both reasons
    page = response.content.decode()
    assert "李雷先生，" in page and "该保养了" in page and "车险" in page
    assert "李雷先生生日快乐" in page


def test_queue_shows_only_the_advisors_own_touches(client, advisor, customer, rules):
    colleague = UserFactory(username="colleague", dealership=advisor.dealership)
    other = CustomerFactory(dealership=advisor.dealership, advisor=colleague, name="同事的客户")
    touch(other, colleague, rules["maintenance"])
    touch(customer, advisor, rules["maintenance"])
    client.force_login(advisor)
    page = client.get(reverse("care:queue")).content.decode()
    assert "李雷" in page and "同事的客户" not in page


@pytest.mark.parametrize("size", [2, 20])
def test_queue_costs_the_same_queries_at_any_size(client, advisor, rules, django_assert_max_num_queries, size):
    for i in range(size):
        c = CustomerFactory(dealership=advisor.dealership, advisor=advisor)
        touch(c, advisor, rules["maintenance"], occasion=f"m{i}")
        touch(c, advisor, rules["birthday"], channel="sms", occasion=f"b{i}")
    client.force_login(advisor)
    # session, user, user's dealership (layout), one query for the touches.
    with django_assert_max_num_queries(5):
        response = client.get(reverse("care:queue"))
    assert len(response.context["groups"]) == size
