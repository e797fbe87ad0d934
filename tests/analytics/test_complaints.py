"""Complaints in the numbers: the tier score's penalty and the tier-A watch, and the
managers' complaint tables at /analytics/complaints/. Every figure is worked out by hand."""

import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation

from analytics.complaint_selectors import closed_in_month, median_hours_to_resolve
from analytics.rollups import rollups_run
from analytics.selectors import AnalyticsFilters
from analytics.services import tiers_recompute
from complaints.models import Complaint, ComplaintCategory
from complaints.services import complaint_open, complaint_transition
from customers.models import Customer, TierChange, TierPolicy
from customers.selectors import customer_watch_text
from service.models import RepairOrder, Technician
from tests.analytics.test_tiers import visit
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
S = Complaint.Status
BOM = "\ufeff"
# The tier recompute's day, as in test_tiers: the 12-month window runs from 2025-11-24 00:00 to
# 2026-11-24 00:00 (local).
DAY = D(2026, 11, 23)

# Every step after "received" with the data it records, up to closed.
WALK = [
    (S.RECORDED, {}),
    (S.INVESTIGATED, {"findings": "工单显示未更换机油滤芯"}),
    (S.CAUSE_FOUND, {"cause": "技师漏做项目"}),
    (S.REMEDY_DECIDED, {"remedy": "免费补做"}),
    (S.CUSTOMER_NOTIFIED, {"customer_agreed": True}),
    (S.CARRIED_OUT, {"action_taken": "已补换滤芯"}),
    (S.FOLLOWED_UP, {"follow_up": "电话回访，客户满意"}),
    (S.CLOSED, {}),
]


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


def category(code: str = "repair_quality") -> ComplaintCategory:
    return ComplaintCategory.objects.get(code=code)


def case(customer, received_at, *, code="repair_quality", by=None, **extra) -> Complaint:
    return complaint_open(
        customer=customer,
        channel="hotline",
        category=category(code),
        severity="normal",
        description="保养后机油灯亮",
        by=by,
        received_at=received_at,
        **extra,
    )


def close(complaint, by=None, *, at=None, goodwill=None) -> Complaint:
    """Walk the case to closed; ``at`` backdates the close (test setup)."""
    for to, data in WALK:
        if to == S.REMEDY_DECIDED and goodwill is not None:
            data = {**data, "goodwill_cost": goodwill}
        complaint = complaint_transition(complaint=complaint, to=to, by=by, **data)
    if at is not None:
        Complaint.objects.filter(pk=complaint.pk).update(closed_at=at)
        complaint.refresh_from_db()
    return complaint


def scored(customer) -> tuple[str, Decimal]:
    customer.refresh_from_db()
    return customer.value_tier, customer.tier_score


def regular(dealership, name="常客") -> Customer:
    """Three paid visits of 2,000 in the window, the last within a month, with us since
    2026-03-01 (no tenure yet), no referrals: (30×1 + 25×1 + 15×1 + 10×1 + 10×0 + 10×0) = 80, A."""
    customer = CustomerFactory(dealership=dealership, name=name)
    for day in (D(2026, 3, 1), D(2026, 7, 1), D(2026, 11, 1)):
        visit(customer, day, "2000.00")
    return customer


# --- The tier score ----------------------------------------------------------------------------


def test_each_case_in_the_window_takes_the_penalty_off_the_score(dealership, other_dealership):
    customer = CustomerFactory(dealership=dealership)
    # As test_tiers' weighted mean: 63.33… without complaints.
    visit(customer, D(2024, 11, 1), "900.00")
    visit(customer, D(2026, 6, 1), "1500.00")
    visit(customer, D(2026, 11, 1), "1500.00")
    clean = CustomerFactory(dealership=dealership)
    visit(clean, D(2024, 11, 1), "900.00")
    visit(clean, D(2026, 6, 1), "1500.00")
    visit(clean, D(2026, 11, 1), "1500.00")
    # In the window: one on its first instant (open) and one closed since (it still counts).
    case(customer, local(2025, 11, 24, 0, 0))
    close(case(customer, local(2026, 6, 15, 9, 0)), at=local(2026, 6, 20, 9, 0))
    # Outside: the last second before the window, and the day after the recompute's day.
    case(customer, local(2025, 11, 23, 23, 59, 59))
    case(customer, local(2026, 11, 24, 0, 0))
    tiers_recompute(day=DAY)
    # 63.33… − 2 × 15 = 33.33…
    assert scored(customer) == ("B", Decimal("33.3"))
    assert scored(clean) == ("B", Decimal("63.3"))


def test_the_penalty_is_the_stores_policys_and_the_score_never_goes_below_zero(dealership):
    TierPolicy.objects.create(dealership=dealership, complaint_penalty=7)
    customer = regular(dealership)
    many = regular(dealership, name="多次投诉")
    case(customer, local(2026, 10, 1, 10))
    for day in range(1, 13):
        case(many, local(2026, 10, day, 10))
    tiers_recompute(day=DAY)
    # 80 − 7 = 73; 80 − 12 × 7 = −4, floored at 0.
    assert scored(customer) == ("A", Decimal("73.0"))
    assert scored(many) == ("B", Decimal("0.0"))


def test_the_tier_moves_when_the_penalty_crosses_the_threshold(dealership):
    customer = regular(dealership)
    tiers_recompute(day=DAY)
    assert scored(customer) == ("A", Decimal("80.0"))
    # One case: 80 − 15 = 65, exactly the A threshold (65): still A.
    case(customer, local(2026, 11, 10, 10))
    tiers_recompute(day=DAY)
    assert scored(customer) == ("A", Decimal("65.0"))
    assert not TierChange.objects.filter(customer=customer, to_tier="B").exists()
    # A second case: 80 − 30 = 50, under 65: B, recorded in the tier history.
    case(customer, local(2026, 11, 12, 10))
    tiers_recompute(day=DAY)
    assert scored(customer) == ("B", Decimal("50.0"))
    change = TierChange.objects.get(customer=customer, from_tier="A", to_tier="B")
    assert (change.day, change.cause, change.score) == (DAY, "recompute", Decimal("50.0"))


# --- The watch list --------------------------------------------------------------------------


def watch(customer) -> tuple:
    customer.refresh_from_db()
    return (
        customer.watch_reason,
        customer.watch_since,
        customer.watch_days_since,
        customer.watch_usual_days,
        customer.watch_last_visit,
        customer.watch_from_tier,
        customer.watch_to_tier,
    )


def test_a_tier_a_customer_with_an_open_case_is_watched_with_the_days_since_it_came_in(dealership):
    customer = regular(dealership)
    tiers_recompute(day=DAY)
    # Two open cases: the older one, received on 2026-11-20 (3 days before the 23rd), counts.
    case(customer, local(2026, 11, 22, 17, 0))
    case(customer, local(2026, 11, 20, 23, 30))
    report = tiers_recompute(day=DAY)
    # 80 − 30 = 50: B tonight; the watch is the complaint's, not the tier's.
    assert scored(customer)[0] == "B"
    assert watch(customer) == ("complaint", DAY, 3, None, None, "", "")
    assert report.watched == 1
    with translation.override("en"):
        assert customer_watch_text(customer) == (
            "A tier-A customer complained: case received 2026-11-20, open 3 days on 2026-11-23"
        )
    # Kept, not renewed, while it lasts: a week later the figures are those of the 23rd.
    again = tiers_recompute(day=D(2026, 11, 30))
    assert again.watched == 0
    assert watch(customer) == ("complaint", DAY, 3, None, None, "", "")


def test_only_tier_a_customers_with_a_case_open_on_the_day_are_watched(dealership, other_dealership):
    tier_b = CustomerFactory(dealership=dealership, name="B客户")
    visit(tier_b, D(2026, 11, 1), "500.00")
    closed = regular(dealership, name="已结案")
    later = regular(dealership, name="之后投诉")
    pinned = CustomerFactory(dealership=dealership, name="置顶A", value_tier="A", tier_pinned=True)
    elsewhere = regular(other_dealership, name="外店")
    tiers_recompute(day=DAY)
    assert [scored(c)[0] for c in (tier_b, closed, later, pinned, elsewhere)] == ["B", "A", "A", "A", "A"]
    case(tier_b, local(2026, 11, 20, 10))
    close(case(closed, local(2026, 11, 2, 10)), at=local(2026, 11, 10, 10))
    case(later, local(2026, 11, 24, 9))  # after the recompute's day
    case(pinned, local(2026, 11, 23, 18))  # the day itself: 0 days
    case(elsewhere, local(2026, 11, 21, 10))
    report = tiers_recompute(day=DAY)
    assert [watch(c)[0] for c in (tier_b, closed, later)] == ["", "", ""]
    # A pinned A stays A, and is watched; the other store's recompute is its own.
    assert watch(pinned)[:3] == ("complaint", DAY, 0)
    assert watch(elsewhere)[:3] == ("complaint", DAY, 2)
    assert report.watched == 2


def test_a_case_closed_after_the_day_was_open_on_it(dealership):
    customer = regular(dealership)
    tiers_recompute(day=DAY)
    # Recomputing the 23rd after the case was closed on the 25th (the demo replays past days).
    close(case(customer, local(2026, 11, 21, 10)), at=local(2026, 11, 25, 10))
    tiers_recompute(day=DAY)
    assert watch(customer)[:3] == ("complaint", DAY, 2)


def test_the_watch_list_on_the_dashboard_names_the_complaint(client, manager, dealership):
    customer = regular(dealership, name="投诉A")
    tiers_recompute(day=DAY)
    case(customer, local(2026, 11, 20, 10))
    tiers_recompute(day=DAY)
    night()  # the tiers page lists the watch list as the nightly rollups kept it
    client.force_login(manager)
    response = client.get(reverse("analytics:tiers"), {"export": "watch"}, HTTP_ACCEPT_LANGUAGE="en")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8")[len(BOM) :])))
    assert lines[1][:4] == [
        "投诉A",
        "A",  # 80 − 15 = 65: still A
        "A tier-A customer complained: case received 2026-11-20, open 3 days on 2026-11-23",
        "2026-11-23",
    ]


# --- The managers' complaint numbers ------------------------------------------------------------

URL = reverse("analytics:complaints")
NOV = "2026-11"


def order(customer, car, at, *, advisor=None, technician=None):
    return RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        number=f"RO{next(_orders)}",
        kind="repair",
        opened_at=at,
        closed_at=at + datetime.timedelta(hours=4),
        mileage=20000,
        advisor=advisor,
        technician=technician,
        labor_amount=Decimal("500.00"),
        total_amount=Decimal("500.00"),
    )


_orders = iter(range(500_000, 999_999))


def stamp(complaint, **times) -> None:
    """Backdate a case's clocks (test setup)."""
    Complaint.objects.filter(pk=complaint.pk).update(**times)


def walk_again(complaint, by=None, goodwill=None):
    """From reopened through the steps to closed again."""
    for to, data in WALK[1:]:
        if to == S.REMEDY_DECIDED and goodwill is not None:
            data = {**data, "goodwill_cost": goodwill}
        complaint = complaint_transition(complaint=complaint, to=to, by=by, **data)
    return complaint


@pytest.fixture
def month(dealership, other_dealership):
    """November 2026 at Pudong (Minhang's case and visit must never show in Pudong's figures).

    Visits (repair orders opened in November):
    | customer (advisor) | car    | orders: advisor / technician                     |
    |--------------------|--------|--------------------------------------------------|
    | c1 (李娜)           | 帕萨特 | 11-03 李娜/王师傅, 11-20 李娜/王师傅                 |
    | c2 (李娜)           | 凯美瑞 | 11-05 周杰/张师傅                                   |
    | c3 (周杰)           | 帕萨特 | 11-10 —/王师傅 (so the customer's advisor: 周杰)     |
    | c4 (周杰)           | 凯美瑞 | only 10-15: no visit in November                   |
    | c5 (—)              | 凯美瑞 | 11-30 23:30 —/— ; 12-01 00:00 is December          |
    | c6 (李娜)           | 帕萨特 | 11-15 李娜/张师傅                                   |
    Customers with a visit: c1, c2, c3, c5, c6 = 5.

    Cases:
    | case | customer, order     | category       | received     | closed      | took  |
    |------|---------------------|----------------|--------------|-------------|-------|
    | K1   | c1, 11-03 order     | repair_quality | 11-04 10:00  | 11-06 10:00 | 48 h  |
    | K2   | c2, 11-05 order     | attitude       | 11-06 09:00  | 11-16 09:00 | 240 h | reopened once
    | K3   | c4, no order (凯美瑞) | waiting_time   | 11-12 14:00  | open        |       |
    | K4   | c5, no order, no car | repair_quality | 11-30 23:00  | open        |       |
    | K5   | c1, no order        | price          | 10-20 10:00  | 11-02 10:00 | 312 h |
    | K6   | c3                  | other          | 12-01 00:00  | open        |       |
    | K7   | c3                  | other          | 2025-12-01 00:00 | 2025-12-03 |   |
    | K8   | c3                  | other          | 2025-11-30 23:00 | open    |       |
    | O1   | o1 (Minhang)        | price          | 11-05 10:00  | 11-07 10:00 |       |
    """
    li = UserFactory(username="li", last_name="李", first_name="娜", dealership=dealership)
    zhou = UserFactory(username="zhou", last_name="周", first_name="杰", dealership=dealership)
    wang = Technician.objects.create(dealership=dealership, name="王师傅")
    zhang = Technician.objects.create(dealership=dealership, name="张师傅")
    passat = VehicleModelFactory(brand="大众", name="帕萨特")
    camry = VehicleModelFactory(brand="丰田", name="凯美瑞")
    people = {}
    for name, advisor, model in [
        ("c1", li, passat),
        ("c2", li, camry),
        ("c3", zhou, passat),
        ("c4", zhou, camry),
        ("c5", None, camry),
        ("c6", li, passat),
    ]:
        customer = CustomerFactory(dealership=dealership, advisor=advisor, name=name)
        people[name] = (customer, VehicleFactory(customer=customer, model=model))
    o1 = CustomerFactory(dealership=other_dealership, name="o1")
    o1_car = VehicleFactory(customer=o1, model=passat)
    (c1, c1_car), (c2, c2_car), (c3, c3_car) = people["c1"], people["c2"], people["c3"]
    (c4, c4_car), (c5, c5_car), (c6, c6_car) = people["c4"], people["c5"], people["c6"]

    ro1 = order(c1, c1_car, local(2026, 11, 3, 9), advisor=li, technician=wang)
    order(c1, c1_car, local(2026, 11, 20, 9), advisor=li, technician=wang)
    ro3 = order(c2, c2_car, local(2026, 11, 5, 9), advisor=zhou, technician=zhang)
    order(c3, c3_car, local(2026, 11, 10, 9), technician=wang)
    order(c4, c4_car, local(2026, 10, 15, 9), advisor=zhou, technician=zhang)
    order(c5, c5_car, local(2026, 11, 30, 23, 30))
    order(c5, c5_car, local(2026, 12, 1, 0, 0))
    order(c6, c6_car, local(2026, 11, 15, 9), advisor=li, technician=zhang)
    order(o1, o1_car, local(2026, 11, 5, 9))

    k1 = close(case(c1, local(2026, 11, 4, 10), repair_order=ro1), goodwill="200")
    stamp(
        k1,
        acknowledge_due=local(2026, 11, 5, 10),
        acknowledged_at=local(2026, 11, 4, 11),
        first_contact_due=local(2026, 11, 5, 18),
        first_contacted_at=local(2026, 11, 4, 15),
        resolution_due=local(2026, 11, 11, 10),
        closed_at=local(2026, 11, 6, 10),
    )
    k2 = close(case(c2, local(2026, 11, 6, 9), code="attitude", repair_order=ro3), goodwill="50")
    k2 = complaint_transition(complaint=k2, to=S.REOPENED, by=None, note="客户不满意")
    k2 = walk_again(k2, goodwill="88.50")
    stamp(
        k2,
        acknowledge_due=local(2026, 11, 6, 17),
        acknowledged_at=local(2026, 11, 6, 10),
        first_contact_due=local(2026, 11, 7, 9),
        first_contacted_at=local(2026, 11, 6, 16),
        resolution_due=local(2026, 11, 13, 9),
        resolution_breached_at=local(2026, 11, 13, 9, 15),
        closed_at=local(2026, 11, 16, 9),
    )
    k3 = case(c4, local(2026, 11, 12, 14), code="waiting_time", vehicle=c4_car)
    stamp(
        k3,
        response_breached_at=local(2026, 11, 13, 14, 15),
        resolution_breached_at=local(2026, 11, 20, 14, 15),
    )
    case(c5, local(2026, 11, 30, 23))
    k5 = close(case(c1, local(2026, 10, 20, 10), code="price"))
    stamp(
        k5,
        acknowledge_due=local(2026, 10, 21, 10),
        acknowledged_at=local(2026, 10, 21, 12),
        first_contact_due=local(2026, 10, 21, 18),
        first_contacted_at=local(2026, 10, 21, 11),
        response_breached_at=local(2026, 10, 21, 10, 15),
        resolution_due=local(2026, 11, 1, 10),
        resolution_breached_at=local(2026, 11, 1, 10, 15),
        closed_at=local(2026, 11, 2, 10),
    )
    case(c3, local(2026, 12, 1, 0, 0), code="other")
    k7 = close(case(c3, local(2025, 12, 1, 0, 0), code="other"))
    stamp(k7, closed_at=local(2025, 12, 3, 10))
    case(c3, local(2025, 11, 30, 23), code="other")
    o1_case = close(case(o1, local(2026, 11, 5, 10), code="price"), goodwill="1000")
    stamp(o1_case, closed_at=local(2026, 11, 7, 10))
    night()  # the customers with a visit come from the nightly rollups
    return {"li": li, "zhou": zhou}


def night() -> None:
    """The nightly rollups, rebuilt whole: the customers with a visit of each store-month."""
    rollups_run(full=True)


def page(client, user, **params):
    client.force_login(user)
    return client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")


def cells(response, name) -> list[list]:
    return response.context["tables"][name].rows


def download(client, user, name, **params) -> list[list[str]]:
    response = page(client, user, export=name, **params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{name}-{params.get("month", NOV)}.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


def test_advisors_are_refused_and_the_dashboard_links_here(client, advisor, manager):
    assert page(client, advisor).status_code == 403
    dashboard = page(client, manager)
    assert dashboard.status_code == 200
    client.force_login(manager)
    assert reverse("analytics:complaints") in client.get(reverse("analytics:dashboard")).content.decode()


def test_the_months_summary(client, manager, month):
    response = page(client, manager, month=NOV)
    assert response.status_code == 200
    assert cells(response, "complaint-summary") == [
        ["Complaints received", 4],  # K1–K4
        ["Customers with a visit", 5],  # c1, c2, c3, c5, c6
        ["Complaint rate (%)", Decimal("80.0")],  # 4 / 5
        ["Cases closed", 3],  # K1, K2, K5
        ["Response on time (%)", Decimal("66.7")],  # K1, K2 of 3 (K5 acknowledged late)
        ["Resolution on time (%)", Decimal("33.3")],  # K1 of 3
        ["Reopen rate (%)", Decimal("33.3")],  # K2 of 3
        ["Median hours to resolve", Decimal("240.0")],  # 48, 240, 312
        ["Goodwill cost (yuan)", Decimal("288.50")],  # 200 + 88.50 (K2's last remedy) + nothing
    ]


def test_the_complaint_rate_by_category_lists_every_category_in_use(client, manager, month):
    response = page(client, manager, month=NOV)
    table = response.context["tables"]["complaint-category"]
    assert [(row[1], row[2], row[3]) for row in table.rows] == [
        (1, 5, Decimal("20.0")),  # attitude: K2
        (2, 5, Decimal("40.0")),  # repair quality: K1, K4
        (0, 5, Decimal("0.0")),  # repeat repair
        (0, 5, Decimal("0.0")),  # price (K5 came in October)
        (1, 5, Decimal("20.0")),  # waiting time: K3
        (0, 5, Decimal("0.0")),
        (0, 5, Decimal("0.0")),
        (0, 5, Decimal("0.0")),
        (0, 5, Decimal("0.0")),  # other (K6 is December's)
    ]
    assert [row[0] for row in table.rows] == list(ComplaintCategory.objects.values_list("label", flat=True))
    assert table.footer == ["All", 4, 5, Decimal("80.0")]


def test_the_complaint_rate_by_advisor_takes_the_orders_advisor_else_the_customers(client, manager, month):
    response = page(client, manager, month=NOV)
    assert cells(response, "complaint-advisor") == [
        # K2 (order's advisor 周杰, the customer's is 李娜), K3 (no order: c4's advisor);
        # visits: c2 (order 周杰), c3 (order without advisor: c3's 周杰).
        ["周杰", 2, 2, Decimal("100.0")],
        ["李娜", 1, 2, Decimal("50.0")],  # K1; visits c1, c6
        ["No advisor", 1, 1, Decimal("100.0")],  # K4; visit c5
    ]
    assert response.context["tables"]["complaint-advisor"].footer == ["All", 4, 5, Decimal("80.0")]


def test_the_complaint_rate_by_technician_and_by_model(client, manager, month):
    response = page(client, manager, month=NOV)
    assert cells(response, "complaint-technician") == [
        ["张师傅", 1, 2, Decimal("50.0")],  # K2; c2, c6
        ["王师傅", 1, 2, Decimal("50.0")],  # K1; c1 (twice), c3
        ["No technician on record", 2, 1, Decimal("200.0")],  # K3, K4 without an order; c5
    ]
    assert cells(response, "complaint-model") == [
        ["丰田 凯美瑞", 2, 2, Decimal("100.0")],  # K2 (the order's car), K3; c2, c5
        ["大众 帕萨特", 1, 3, Decimal("33.3")],  # K1; c1, c3, c6
        ["No car on record", 1, 0, None],  # K4
    ]


def test_the_trend_of_the_last_twelve_months(client, manager, month):
    response = page(client, manager, month=NOV)
    trend = cells(response, "complaint-trend")
    assert [row[0] for row in trend] == ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]
    by_month = {row[0]: row[1:] for row in trend}
    assert by_month["2025-12"] == [1, 1, 0]  # K7 (K8 came in on 2025-11-30)
    assert by_month["2026-10"] == [1, 0, 1]  # K5 received; K5's response breached
    # K1–K4 received; K1, K2, K5 closed; breached: K2 (resolution), K3 (both clocks, once), K5 (resolution).
    assert by_month["2026-11"] == [4, 3, 3]
    assert sum(row[1] + row[2] + row[3] for row in trend) == 1 + 1 + 1 + 1 + 4 + 3 + 3


def test_another_store_sees_only_its_own_cases(client, other_manager, month):
    response = page(client, other_manager, month=NOV)
    summary = dict(cells(response, "complaint-summary"))
    assert summary["Complaints received"] == 1
    assert summary["Customers with a visit"] == 1
    assert summary["Cases closed"] == 1
    assert summary["Goodwill cost (yuan)"] == Decimal("1000.00")
    assert summary["Median hours to resolve"] == Decimal("48.0")
    assert "complaint-dealership" not in response.context["tables"]
    assert cells(response, "complaint-advisor") == [["No advisor", 1, 1, Decimal("100.0")]]


def test_the_group_admin_compares_stores_and_can_filter_to_one(client, group_admin, month, dealership):
    response = page(client, group_admin, month=NOV)
    assert cells(response, "complaint-dealership") == [
        ["浦东4S店", 4, 5, Decimal("80.0")],
        ["闵行4S店", 1, 1, Decimal("100.0")],
    ]
    assert dict(cells(response, "complaint-summary"))["Goodwill cost (yuan)"] == Decimal("1288.50")
    one = page(client, group_admin, month=NOV, dealership=dealership.pk)
    assert cells(one, "complaint-dealership") == [["浦东4S店", 4, 5, Decimal("80.0")]]
    assert dict(cells(one, "complaint-summary"))["Complaints received"] == 4


def test_a_groups_page_shows_the_advisors_with_the_most_complaints_and_the_csv_all_of_them(
    client, group_admin, dealership, other_dealership
):
    # 52 advisors over two stores, each with one customer: the first two with two cases, the rest one.
    for i in range(52):
        store = dealership if i % 2 else other_dealership
        advisor = UserFactory(dealership=store, username=f"adv{i:02d}", last_name="顾问", first_name=f"{i:02d}")
        customer = CustomerFactory(dealership=store, advisor=advisor)
        for n in range(2 if i < 2 else 1):
            case(customer, local(2026, 11, 2 + n, 10))
    night()
    response = page(client, group_admin, month=NOV)
    shown = cells(response, "complaint-advisor")
    # The 50 with the most complaints: the two with two cases first.
    assert len(shown) == 50
    assert [row[1] for row in shown[:3]] == [2, 2, 1]
    table = response.context["tables"]["complaint-advisor"]
    assert "The 50 with the most complaints of 52" in table.note
    assert table.footer[1] == 54  # every case, not only the rows shown
    lines = download(client, group_admin, "complaint-advisor", month=NOV)
    assert len(lines) == 1 + 52 + 1  # header, every advisor, the total
    # A store chosen: all of its own (26 advisors).
    assert len(cells(page(client, group_admin, month=NOV, dealership=dealership.pk), "complaint-advisor")) == 26


def test_a_store_manager_cannot_look_at_another_store(client, manager, month, other_dealership):
    response = page(client, manager, month=NOV, dealership=other_dealership.pk)
    # A store's users have no store to choose: the parameter is ignored, the figures are Pudong's.
    assert dict(cells(response, "complaint-summary"))["Complaints received"] == 4
    assert "complaint-dealership" not in response.context["tables"]
    message = page(client, manager, month=NOV, export="complaint-dealership").content.decode()
    assert "There is no table “complaint-dealership” to export." in message


def test_a_month_without_cases_renders_empty_figures(client, manager, month):
    response = page(client, manager, month="2026-06")
    assert cells(response, "complaint-summary") == [
        ["Complaints received", 0],
        ["Customers with a visit", 0],
        ["Complaint rate (%)", None],
        ["Cases closed", 0],
        ["Response on time (%)", None],
        ["Resolution on time (%)", None],
        ["Reopen rate (%)", None],
        ["Median hours to resolve", None],
        ["Goodwill cost (yuan)", Decimal("0.00")],
    ]
    assert cells(response, "complaint-advisor") == []
    assert "—" in response.content.decode()


def test_csv_of_the_summary(client, manager, month):
    assert download(client, manager, "complaint-summary", month=NOV) == [
        ["Figure", "Value"],
        ["Complaints received", "4"],
        ["Customers with a visit", "5"],
        ["Complaint rate (%)", "80.0"],
        ["Cases closed", "3"],
        ["Response on time (%)", "66.7"],
        ["Resolution on time (%)", "33.3"],
        ["Reopen rate (%)", "33.3"],
        ["Median hours to resolve", "240.0"],
        ["Goodwill cost (yuan)", "288.50"],
    ]


def test_csv_of_the_rates_and_the_trend(client, manager, month):
    assert download(client, manager, "complaint-model", month=NOV) == [
        ["model", "Complaints received", "Customers with a visit", "Complaint rate (%)"],
        ["丰田 凯美瑞", "2", "2", "100.0"],
        ["大众 帕萨特", "1", "3", "33.3"],
        ["No car on record", "1", "0", ""],
        ["All", "4", "5", "80.0"],
    ]
    lines = download(client, manager, "complaint-trend", month=NOV)
    assert lines[0] == ["Month", "Cases received", "Cases closed", "Cases with a clock breached"]
    assert lines[1] == ["2025-12", "1", "1", "0"]
    assert lines[-1] == ["2026-11", "4", "3", "3"]
    assert len(lines) == 13


def test_csv_header_in_chinese_opens_in_excel(client, manager, month):
    client.force_login(manager)
    response = client.get(URL, {"month": NOV, "export": "complaint-advisor"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8").splitlines()
    assert lines[0].startswith("\ufeff服务顾问,")
    assert lines[1].startswith("周杰,2,2,100.0")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"month": "2026-13"}, "Give the month as YYYY-MM, e.g. 2025-05."),
        ({"month": "9999-01"}, "That month has not begun yet."),
        ({"export": "secrets"}, "There is no table “secrets” to export."),
        ({"month": "bad", "export": "complaint-summary"}, "Give the month as YYYY-MM, e.g. 2025-05."),
    ],
)
def test_bad_input_is_a_message_not_an_error(client, manager, params, message):
    response = page(client, manager, **params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()
    assert "complaint-summary" in response.context["tables"]


def test_the_median_of_an_even_number_of_cases_is_the_mean_of_the_middle_two(dealership, manager):
    customer = CustomerFactory(dealership=dealership)
    for hours in (100, 10, 30, 20):
        complaint = close(case(customer, local(2026, 11, 2, 8)))
        stamp(complaint, closed_at=local(2026, 11, 2, 8) + datetime.timedelta(hours=hours))
    filters = AnalyticsFilters(month=D(2026, 11, 1))
    # 10, 20, 30, 100: (20 + 30) / 2.
    assert median_hours_to_resolve(closed_in_month(user=manager, filters=filters)) == Decimal("25.0")
    assert median_hours_to_resolve(closed_in_month(user=manager, filters=AnalyticsFilters(month=D(2026, 6, 1)))) is None


# --- Query counts ---------------------------------------------------------------------------


def _populate(dealership, n: int, start: int) -> None:
    """``n`` customers, each with a November repair order and a case (every other one closed)."""
    advisors = [UserFactory(dealership=dealership) for _ in range(3)]
    technicians = [Technician.objects.create(dealership=dealership, name=f"技师{start + i}") for i in range(3)]
    models = [VehicleModelFactory(brand="大众", name=f"车型{i}") for i in range(3)]
    codes = ["attitude", "repair_quality", "price"]
    for i in range(n):
        customer = CustomerFactory(dealership=dealership, advisor=advisors[i % 3])
        car = VehicleFactory(customer=customer, model=models[i % 3])
        ro = order(
            customer, car, local(2026, 11, 1 + i % 28, 9), advisor=advisors[(i + 1) % 3], technician=technicians[i % 3]
        )
        complaint = case(customer, local(2026, 11, 1 + i % 28, 10), code=codes[i % 3], repair_order=ro)
        if i % 2:
            complaint = close(complaint, goodwill=str(10 * i))
            stamp(complaint, closed_at=local(2026, 11, 1 + i % 28, 10) + datetime.timedelta(hours=i + 1))


# Measured: session + user + the layout's dealership + the layout's holiday-calendar years, then
# 1 (customers with a visit) + 1 (categories) + 2 × 3 (advisor, technician, model: cases and visits)
# + 1 (closed cases) + 1 (median) + 1 (trend).
PAGE_QUERIES = 15
# The group admin: no dealership in the layout, the form's dealership list, and 2 for the by-store rates.
GROUP_PAGE_QUERIES = 17
EXPORT_QUERIES = {
    "complaint-summary": 2 + 2 + 2,  # session, user; customers, categories; closed, median
    "complaint-category": 2 + 2,  # customers, categories
    "complaint-advisor": 2 + 1 + 2,
    "complaint-trend": 2 + 1,
}


def test_the_page_runs_a_fixed_number_of_queries(client, dealership, django_assert_max_num_queries):
    client.force_login(ManagerFactory(dealership=dealership))
    counts = []
    for size, start in ((4, 0), (40, 100)):
        _populate(dealership, size, start)
        night()
        with django_assert_max_num_queries(PAGE_QUERIES) as captured:
            response = client.get(URL, {"month": NOV}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert dict(cells(response, "complaint-summary"))["Complaints received"] == 44
    assert counts[0] == counts[1]


def test_the_group_admins_page_runs_a_fixed_number_of_queries(
    client, group_admin, dealership, other_dealership, django_assert_max_num_queries
):
    client.force_login(group_admin)
    counts = []
    for store, size, start in ((dealership, 4, 0), (other_dealership, 40, 100)):
        _populate(store, size, start)
        night()
        with django_assert_max_num_queries(GROUP_PAGE_QUERIES) as captured:
            response = client.get(URL, {"month": NOV}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert [row[1] for row in cells(response, "complaint-dealership")] == [40, 4]
    assert counts[0] == counts[1]


@pytest.mark.parametrize("name", sorted(EXPORT_QUERIES))
def test_an_export_runs_a_fixed_number_of_queries(client, dealership, name, django_assert_max_num_queries):
    client.force_login(ManagerFactory(dealership=dealership))
    counts = []
    for size, start in ((4, 0), (40, 100)):
        _populate(dealership, size, start)
        night()
        with django_assert_max_num_queries(EXPORT_QUERIES[name]) as captured:
            response = client.get(URL, {"month": NOV, "export": name})
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
