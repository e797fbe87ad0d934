"""The managers' club page at /loyalty/: every figure below is worked out by hand from the setup."""

import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from loyalty.models import CardEvent, MembershipCard
from loyalty.services import benefit_redeem, card_join, card_refund, card_renew, card_transition, card_upgrade
from loyalty.services import points_adjust as adjust
from service.models import InsurancePolicy
from tests.crm.factories import GroupAdminFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
URL = reverse("loyalty:dashboard")
BOM = "\ufeff"
MONTHS = [f"2024-{m:02d}" for m in range(6, 13)] + [f"2025-{m:02d}" for m in range(1, 6)]


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def join(customer, level, route, day, hour=10):
    return card_join(customer=customer, level=level, route=route, by=None, day=day, now=at(day, hour))


def points(card, n, by, day):
    adjust(card=card, points=n, reason="开卡赠送", by=by, day=day, now=at(day, 11))


def redeem(card, benefit, quantity, by, day, hour=12, minute=0):
    benefit_redeem(card=card, benefit=benefit, quantity=quantity, by=by, day=day, now=at(day, hour, minute))


def policy(car, starts: datetime.date, ends: datetime.date, kind="commercial", store=None):
    return InsurancePolicy.objects.create(
        dealership=store or car.customer.dealership,
        vehicle=car,
        customer=car.customer,
        insurer="平安",
        kind=kind,
        premium=Decimal("3000.00"),
        starts_on=starts,
        ends_on=ends,
    )


LONG_AGO = D(2020, 3, 1)


def car(customer, purchased=LONG_AGO, expiry=None):
    return VehicleFactory(customer=customer, purchase_date=purchased, insurance_expiry_date=expiry)


@pytest.fixture
def world(dealership, other_dealership, manager, other_manager):
    """Pudong (the manager's store) and Minhang. Cards of Pudong:

    | who | card                                   | events in the 12 months to 2025-05          | today          |
    |-----|----------------------------------------|---------------------------------------------|----------------|
    | c1  | ordinary, fee, from 2025-05-03         | joined 2025-05                              | active, 30 pts |
    | c2  | silver, fee, from 2025-04-10           | joined 2025-04, refunded 2025-05-06         | refunded       |
    | c3  | ordinary, bought here, from 2024-05-20 | upgraded to gold 2025-05-31 23:30 local     | gold, 120 pts  |
    | c4  | ordinary, bought here, from 2023-06-15 | renewed 2025-06-01 00:30 local (05-31 UTC)  | active         |
    | c5  | ordinary, bought here, from 2023-05-10 | renewed 2025-04-20                          | active, 15 pts |
    | c6  | ordinary, fee, from 2023-03-01         | lapsed 2025-03-02                           | lapsed, 40 pts |

    c3's 120 points were carried over to the gold card; c6's sit on a lapsed card.
    c3's join (2024-05) is before the twelve months. Minhang's o1 (ordinary, 7 points) never shows for Pudong.
    """
    c = {f"c{i}": CustomerFactory(dealership=dealership, name=f"客户{i}") for i in range(1, 7)}
    o1 = CustomerFactory(dealership=other_dealership, name="闵行客户")
    cards = {}
    cards["c1"] = join(c["c1"], "ordinary", "fee", D(2025, 5, 3))
    points(cards["c1"], 30, manager, D(2025, 5, 3))
    cards["c2"] = join(c["c2"], "silver", "fee", D(2025, 4, 10))
    points(cards["c2"], 10, manager, D(2025, 4, 10))
    card_refund(card=cards["c2"], by=manager, day=D(2025, 5, 6), reason="首次服务不满意", now=at(D(2025, 5, 6)))
    c3_old = join(c["c3"], "ordinary", "bought_here", D(2024, 5, 20))
    points(c3_old, 120, manager, D(2025, 5, 1))
    cards["c3"] = card_upgrade(
        card=c3_old, level="gold", route="special", by=manager, day=D(2025, 5, 31), now=at(D(2025, 5, 31), 23, 30)
    )
    cards["c4"] = join(c["c4"], "ordinary", "bought_here", D(2023, 6, 15))
    card_renew(card=cards["c4"], by=manager, day=D(2025, 6, 1), now=at(D(2025, 6, 1), 0, 30))
    cards["c5"] = join(c["c5"], "ordinary", "bought_here", D(2023, 5, 10))
    card_renew(card=cards["c5"], by=manager, day=D(2025, 4, 20), now=at(D(2025, 4, 20)))
    points(cards["c5"], 15, manager, D(2025, 4, 20))
    cards["c6"] = join(c["c6"], "ordinary", "fee", D(2023, 3, 1))
    points(cards["c6"], 40, manager, D(2024, 3, 1))
    card_transition(
        card=cards["c6"],
        to=MembershipCard.Status.LAPSED,
        action=CardEvent.Action.LAPSED,
        by=None,
        now=at(D(2025, 3, 2), 2, 30),
    )
    cards["o1"] = join(o1, "ordinary", "fee", D(2025, 5, 5))
    points(cards["o1"], 7, other_manager, D(2025, 5, 5))

    # Benefits: c5 washes once in 2024-12 (the year before), once in 2025-01, twice at once on 2025-05-20;
    # c1 washes on 2025-05-04 and again 2025-06-01 00:10 local (June); the gold card tows 35 km on
    # 2025-05-31 23:50 local (15:50 UTC, still May); o1 washes in Minhang.
    redeem(cards["c5"], "wash", 1, manager, D(2024, 12, 20))
    redeem(cards["c5"], "wash", 1, manager, D(2025, 1, 15))
    redeem(cards["c5"], "wash", 2, manager, D(2025, 5, 20))
    redeem(cards["c1"], "wash", 1, manager, D(2025, 5, 4))
    redeem(cards["c1"], "wash", 1, manager, D(2025, 6, 1), hour=0, minute=10)
    redeem(cards["c3"], "towing_km", 35, manager, D(2025, 5, 31), hour=23, minute=50)
    redeem(cards["o1"], "wash", 1, other_manager, D(2025, 5, 6))

    # Insurance (see test_the_renewal_rate_counts_cars_due_and_renewed_in_the_month).
    v1 = car(c["c1"], expiry=D(2026, 5, 15))
    policy(v1, D(2024, 5, 16), D(2025, 5, 15), kind="compulsory")
    policy(v1, D(2024, 5, 16), D(2025, 5, 15))
    policy(v1, D(2025, 5, 16), D(2026, 5, 15), kind="compulsory")
    policy(v1, D(2025, 5, 16), D(2026, 5, 15))
    car(c["c2"], expiry=D(2025, 5, 20))
    v3 = car(c["c3"], expiry=D(2026, 5, 25))
    policy(v3, D(2025, 5, 26), D(2026, 5, 25))
    v4 = car(c["c4"], expiry=D(2026, 5, 31))
    policy(v4, D(2024, 6, 1), D(2025, 5, 31))
    v5 = car(c["c5"], purchased=D(2025, 5, 10), expiry=D(2026, 5, 9))
    policy(v5, D(2025, 5, 10), D(2026, 5, 9))
    v6 = car(c["c6"], expiry=D(2026, 4, 30))
    policy(v6, D(2024, 5, 1), D(2025, 4, 30))
    policy(v6, D(2025, 5, 1), D(2026, 4, 30))
    v7 = car(c["c1"], expiry=D(2026, 6, 4))
    policy(v7, D(2024, 5, 11), D(2025, 5, 10))
    policy(v7, D(2025, 6, 5), D(2026, 6, 4))
    car(o1, expiry=D(2025, 5, 18))
    return cards


def table(response, name: str) -> list[list[str]]:
    """The table as its CSV export gives it (header, rows, footer)."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


def body(rows: list[list[str]]) -> list[list[str]]:
    """The rows under the header, the footer without its label ("Total" in the active language)."""
    return [*rows[1:-1], rows[-1][1:]]


def export(client, name: str, **params) -> list[list[str]]:
    return table(client.get(URL, {**params, "export": name}), name)


def test_members_by_level_and_store_count_active_cards_today(client, manager, world):
    client.force_login(manager)
    rows = export(client, "members", month="2025-05")
    # c1, c4, c5 ordinary; c3's gold card (its ordinary one replaced); c2 refunded and c6 lapsed left out.
    assert len(rows[0]) == 5  # store, ordinary, silver, gold, total
    assert body(rows) == [["浦东4S店", "3", "0", "1", "4"], ["3", "0", "1", "4"]]


def test_the_movement_counts_each_month_of_the_twelve_in_local_time(client, manager, world):
    client.force_login(manager)
    rows = export(client, "movement", month="2025-05")
    body = {row[0]: row[1:] for row in rows[1:-1]}
    assert list(body) == MONTHS
    # joined, upgraded, renewed, lapsed, refunded
    expected = {month: ["0", "0", "0", "0", "0"] for month in MONTHS}
    expected["2025-03"] = ["0", "0", "0", "1", "0"]  # c6 lapsed
    expected["2025-04"] = ["1", "0", "1", "0", "0"]  # c2 joined, c5 renewed
    expected["2025-05"] = ["1", "1", "0", "0", "1"]  # c1 joined, c3 upgraded (23:30 local), c2 refunded
    assert body == expected
    assert rows[-1][1:] == ["2", "1", "1", "1", "1"]
    # c4's renewal at 00:30 on 1 June local (still 31 May in UTC) is June's.
    june = {row[0]: row[1:] for row in export(client, "movement", month="2025-06")[1:-1]}
    assert june["2025-06"] == ["0", "0", "1", "0", "0"]
    assert "2024-06" not in june and june["2024-07"] == ["0", "0", "0", "0", "0"]


def test_points_outstanding_are_the_ledger_of_active_cards(client, manager, world):
    client.force_login(manager)
    rows = export(client, "points", month="2025-05")
    # ordinary: c1 30 + c5 15 + c4 0 = 45; gold: the 120 carried over to c3's new card.
    # c2's 10 went with its refund, c6's 40 sit on a lapsed card: neither is owed.
    assert body(rows) == [["浦东4S店", "45", "0", "120", "165"], ["45", "0", "120", "165"]]


def test_benefit_use_in_the_month_and_the_year(client, manager, world):
    client.force_login(manager)
    rows = export(client, "benefits", month="2025-05")
    # One row per benefit in Benefit's order: wash, alignment, towing, inspection agency, courtesy car,
    # accident insurance; columns: times and quantity in May, times and quantity in 2025 to May's end.
    # Washes in May: c5's two at once (one redemption) and c1's one; the year adds c5's January wash.
    # c5's December 2024 wash and c1's wash at 00:10 on 1 June are outside; Minhang's is not Pudong's.
    assert [row[1:] for row in rows[1:]] == [
        ["2", "3", "3", "4"],
        ["0", "0", "0", "0"],
        ["1", "35", "1", "35"],
        ["0", "0", "0", "0"],
        ["0", "0", "0", "0"],
        ["0", "0", "0", "0"],
    ]


def test_the_renewal_rate_counts_cars_due_and_renewed_in_the_month(client, manager, world):
    """May 2025 in Pudong:
    v1 both policies ended 05-15, renewed here from 05-16 (two kinds, one car) → due, renewed;
    v2 insurance expires 05-20, nothing placed here → due, not renewed;
    v3 insured elsewhere before; renewed here from 05-26 (its expiry date moved on) → due (05-25), renewed;
    v4 policy ended 05-31, renewed elsewhere → due, not renewed;
    v5 a new car's first policy from its purchase day 05-10 → not a renewal, not due;
    v6 policy ended 04-30, renewed from 05-01 → April's, not May's;
    v7 policy ended 05-10, renewed late from 06-05 (26 days after 05-11) → due, renewed.
    Due 5, renewed 3: 60.0 %. Minhang's car due 05-18 is not Pudong's."""
    client.force_login(manager)
    assert body(export(client, "insurance", month="2025-05")) == [["浦东4S店", "5", "3", "60.0"], ["5", "3", "60.0"]]
    # April: v6 alone, renewed the day after its end.
    assert export(client, "insurance", month="2025-04")[1] == ["浦东4S店", "1", "1", "100.0"]
    # June: v7's late renewal follows a policy on record (May's), so it is not a June due of its own.
    assert export(client, "insurance", month="2025-06")[1:] == []
    # One car, not one per policy: v1's two kinds are one car due and renewed.


def test_a_group_admin_sees_every_store_and_can_pick_one(client, world):
    client.force_login(GroupAdminFactory())
    rows = export(client, "members", month="2025-05")
    assert [row[0] for row in rows[1:-1]] == ["闵行4S店", "浦东4S店"]
    assert rows[-1][1:] == ["4", "0", "1", "5"]
    minhang = world["o1"].dealership
    assert export(client, "members", month="2025-05", dealership=minhang.pk)[1:-1] == [["闵行4S店", "1", "0", "0", "1"]]
    points = export(client, "points", month="2025-05", dealership=minhang.pk)
    assert points[1] == ["闵行4S店", "7", "0", "0", "7"]


def test_the_page_renders_every_table(client, manager, world):
    client.force_login(manager)
    response = client.get(URL, {"month": "2025-05"})
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("members", "movement", "points", "benefits", "insurance"):
        assert f'id="table-{name}"' in page
        assert f"export={name}" in page
    assert "month=2025-05" in page
    assert "浦东4S店" in page and "闵行4S店" not in page


def test_advisors_are_refused_and_visitors_sent_to_log_in(client, advisor):
    client.force_login(advisor)
    assert client.get(URL).status_code == 403
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_bad_filters_are_reported_and_the_page_still_renders(client, manager, world):
    client.force_login(manager)
    response = client.get(URL, {"month": "2025-13", "export": "nothing"})
    assert response.status_code == 200
    problems = response.context["problems"]
    assert len(problems) == 2
    # The month falls back to the current one.
    assert response.context["filters"].month.day == 1
    future = client.get(URL, {"month": "2999-01"})
    assert future.status_code == 200 and len(future.context["problems"]) == 1


def test_a_csv_cell_that_looks_like_a_formula_is_quoted(client, manager, dealership):
    dealership.name = "=HYPERLINK(1)"
    dealership.save()
    join(CustomerFactory(dealership=dealership), "ordinary", "fee", D(2025, 5, 3))
    client.force_login(manager)
    assert export(client, "members", month="2025-05")[1][0] == "'=HYPERLINK(1)"


def more_of_everything(store, manager, n: int) -> None:
    """n more members, each with points, a wash, a card event and a car due in May 2025."""
    for i in range(n):
        customer = CustomerFactory(dealership=store)
        card = join(customer, "silver" if i % 2 else "ordinary", "fee", D(2025, 5, 2))
        points(card, 5 + i, manager, D(2025, 5, 2))
        redeem(card, "wash", 1, manager, D(2025, 5, 3))
        vehicle = car(customer, expiry=D(2025, 5, 12))
        if i % 2:
            policy(vehicle, D(2025, 5, 13), D(2026, 5, 12))


@pytest.mark.parametrize("size", [1, 12])
def test_the_page_costs_the_same_queries_at_any_size(
    client, manager, world, dealership, size, django_assert_max_num_queries
):
    more_of_everything(dealership, manager, size)
    client.force_login(manager)
    # session, user, the layout's holiday-calendar banner; then one query per table: members,
    # movement, points, benefits, insurance.
    with django_assert_max_num_queries(8):
        response = client.get(URL, {"month": "2025-05"})
    assert response.status_code == 200
    members = response.context["tables"]["members"].rows
    assert members[0][-1] == 4 + size
