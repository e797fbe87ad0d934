"""The manager's dashboard at /analytics/tiers/: every count below is worked out by hand from the
setup. The breakdowns by advisor and store, the movement and the watch list read the nightly
rollups: each setup ends with a night (``night``) before the page is asked for."""

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.rollups import rollups_run
from care.models import Contact, WinbackSurvey
from customers.models import ChurnEvent, Customer, TierSnapshot
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory
from vehicles.models import Vehicle

SH = ZoneInfo("Asia/Shanghai")
MAY = datetime.date(2025, 5, 1)
APRIL = datetime.date(2025, 4, 1)
URL = reverse("analytics:tiers")
BOM = "\ufeff"


def snapshot(customer, month, tier, churn_state="active"):
    return TierSnapshot.objects.create(
        month=month, customer=customer, dealership=customer.dealership, tier=tier, churn_state=churn_state
    )


def churn_event(customer, day, from_state, to_state, recovered=False):
    return ChurnEvent.objects.create(
        customer=customer, day=day, from_state=from_state, to_state=to_state, recovered=recovered
    )


def survey(customer, at, reasons, repaired_elsewhere=None, where=""):
    contact = Contact.objects.create(dealership=customer.dealership, customer=customer, created_at=at)
    return WinbackSurvey.objects.create(
        contact=contact,
        customer=customer,
        dealership=customer.dealership,
        reasons=reasons,
        repaired_elsewhere=repaired_elsewhere,
        where=where,
        created_at=at,
    )


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


def night() -> None:
    """The nightly rollups, rebuilt whole (a test's setup may come after a first run of the day)."""
    rollups_run(full=True)


@pytest.fixture
def world(dealership, other_dealership):
    """Two stores. Pudong (the manager's) has five active customers in May 2025 and one who moved away:

    | who | advisor | newest car in use (as of 2025-05-31)   | April | May (churn)  |
    |-----|---------|----------------------------------------|-------|--------------|
    | c1  | 李娜    | 大众 帕萨特 2024-01-10 private (≤3 y)   | A     | A active     |
    | c2  | 李娜    | 丰田 凯美瑞 2021-06-01 commercial (3–5) | A     | B at risk    |
    | c3  | 周杰    | 大众 帕萨特 2022-07-01 official (≤3)    | C     | D lost       |
    | c4  | 周杰    | none                                    | —     | C at risk    |
    | c5  | —       | 丰田 凯美瑞 2020-05-31 private (3–5)     | B     | B active     |
    | c6  | 李娜    | (moved away)                            | B     | —            |

    c2's newer 帕萨特 was sold on, c3's older 凯美瑞 (2018) is still in use: neither is the newest car in use.
    Minhang has one customer, o1, who must never show in Pudong's figures.
    """
    li = UserFactory(username="li", last_name="李", first_name="娜", dealership=dealership)
    zhou = UserFactory(username="zhou", last_name="周", first_name="杰", dealership=dealership)
    passat = VehicleModelFactory(brand="大众", name="帕萨特")
    camry = VehicleModelFactory(brand="丰田", name="凯美瑞")
    # Live tiers differ from the May snapshot: a past month must read the snapshot.
    c1 = CustomerFactory(dealership=dealership, advisor=li, name="客户一", value_tier="B")
    c2 = CustomerFactory(dealership=dealership, advisor=li, name="客户二", value_tier="D")
    c3 = CustomerFactory(dealership=dealership, advisor=zhou, name="客户三", value_tier="D")
    c4 = CustomerFactory(dealership=dealership, advisor=zhou, name="客户四", value_tier="D")
    c5 = CustomerFactory(dealership=dealership, advisor=None, name="客户五", value_tier="D")
    c6 = CustomerFactory(dealership=dealership, advisor=li, name="客户六", status=Customer.Status.MOVED)
    o1 = CustomerFactory(dealership=other_dealership, name="外店客户", value_tier="A")

    VehicleFactory(customer=c1, model=passat, purchase_date=datetime.date(2024, 1, 10))
    VehicleFactory(customer=c2, model=camry, purchase_date=datetime.date(2021, 6, 1), usage=Vehicle.Usage.COMMERCIAL)
    VehicleFactory(customer=c2, model=passat, purchase_date=datetime.date(2025, 3, 1), status=Vehicle.Status.SOLD)
    VehicleFactory(customer=c3, model=camry, purchase_date=datetime.date(2018, 1, 1))
    VehicleFactory(customer=c3, model=passat, purchase_date=datetime.date(2022, 7, 1), usage=Vehicle.Usage.OFFICIAL)
    VehicleFactory(customer=c5, model=camry, purchase_date=datetime.date(2020, 5, 31))
    VehicleFactory(customer=o1, model=passat, purchase_date=datetime.date(2024, 1, 10))

    for customer, april, may, state in [
        (c1, "A", "A", "active"),
        (c2, "A", "B", "at_risk"),
        (c3, "C", "D", "lost"),
        (c4, None, "C", "at_risk"),
        (c5, "B", "B", "active"),
        (c6, "B", None, None),
        (o1, "A", "A", "active"),
    ]:
        if april:
            snapshot(customer, APRIL, april)
        if may:
            snapshot(customer, MAY, may, state)

    # May's churn moves; c2 went at risk twice in the month and counts once.
    churn_event(c2, datetime.date(2025, 5, 10), "active", "at_risk")
    churn_event(c2, datetime.date(2025, 5, 15), "at_risk", "active")
    churn_event(c2, datetime.date(2025, 5, 25), "active", "at_risk")
    churn_event(c3, datetime.date(2025, 5, 20), "at_risk", "lost")
    churn_event(c5, datetime.date(2025, 5, 3), "at_risk", "active", recovered=True)
    churn_event(c6, datetime.date(2025, 5, 2), "lost", "active", recovered=True)
    churn_event(c1, datetime.date(2025, 4, 28), "at_risk", "active", recovered=True)  # April: not counted
    churn_event(o1, datetime.date(2025, 5, 8), "lost", "active", recovered=True)  # other store

    # May's win-back surveys (local time; the month's edges are local midnights).
    survey(c3, local(2025, 5, 5, 10), ["price", "distance"], True, "  途虎养车 ")
    survey(c2, local(2025, 5, 31, 23, 30), ["price"], True, "途虎养车")
    survey(c6, local(2025, 5, 12), ["other"], False)
    survey(c5, local(2025, 5, 20), ["quality", "attitude"], True, "=1+2")
    survey(c1, local(2025, 4, 30, 23, 50), ["quality"], True, "路边店")  # April
    survey(o1, local(2025, 5, 8), ["price"], True, "途虎养车")  # other store

    # The watch list.
    for customer, reason, since in [
        (c1, "tier_down", datetime.date(2025, 5, 2)),
        (c3, "visit_rate", datetime.date(2025, 5, 20)),
        (c6, "tier_down", datetime.date(2025, 5, 25)),  # moved away: not listed
        (o1, "tier_down", datetime.date(2025, 5, 21)),  # other store
    ]:
        customer.watch_reason, customer.watch_since = reason, since
        customer.save(update_fields=["watch_reason", "watch_since"])
    night()
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6, "o1": o1, "li": li, "zhou": zhou}


def get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")


def table(response, name):
    return response.context["tables"][name]


def rows(response, name):
    return table(response, name).rows


def export(client, user, name, **params):
    response = get(client, user, export=name, **params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="{name}-' in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


# --- Access ---------------------------------------------------------------------------------


def test_advisors_are_refused(client, advisor):
    assert get(client, advisor).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_managers_see_the_dashboard_and_the_nav_link(client, manager):
    response = get(client, manager)
    assert response.status_code == 200
    assert f'href="{URL}"' in response.content.decode()


def test_the_nav_link_is_not_shown_to_advisors(client, advisor):
    client.force_login(advisor)
    response = client.get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert f'href="{URL}"' not in response.content.decode()


# --- 1. Tier distribution -------------------------------------------------------------------


def test_tier_distribution_by_advisor_reads_the_month_snapshot(client, manager, world):
    response = get(client, manager, month="2025-05", dimension="advisor")
    assert response.status_code == 200
    #                              A  B  C  D  total
    assert rows(response, "tiers") == [
        ["周杰", 0, 0, 1, 1, 2],
        ["李娜", 1, 1, 0, 0, 2],
        ["No advisor", 0, 1, 0, 0, 1],
    ]
    assert table(response, "tiers").footer == ["Total", 1, 2, 1, 1, 5]


def test_tier_distribution_by_model_of_the_newest_car_in_use(client, manager, world):
    response = get(client, manager, month="2025-05", dimension="model")
    assert rows(response, "tiers") == [
        ["丰田 凯美瑞", 0, 2, 0, 0, 2],  # c2 (its newer 帕萨特 was sold), c5
        ["大众 帕萨特", 1, 0, 0, 1, 2],  # c1, c3 (its 凯美瑞 is older)
        ["No car in use", 0, 0, 1, 0, 1],  # c4
    ]


def test_tier_distribution_by_vehicle_age_band(client, manager, world):
    response = get(client, manager, month="2025-05", dimension="age")
    assert rows(response, "tiers") == [
        ["In warranty (up to 3 years)", 1, 0, 0, 1, 2],  # c1 (1 y 4 m), c3 (2 y 11 m)
        ["3–5 years", 0, 2, 0, 0, 2],  # c2 (3 y 11 m), c5 (exactly 5 years on 2025-05-31)
        ["No car in use", 0, 0, 1, 0, 1],
    ]


def test_tier_distribution_by_usage(client, manager, world):
    response = get(client, manager, month="2025-05", dimension="usage")
    assert rows(response, "tiers") == [
        ["Private", 1, 1, 0, 0, 2],  # c1, c5
        ["Official", 0, 0, 0, 1, 1],  # c3
        ["Commercial", 0, 1, 0, 0, 1],  # c2
        ["No car in use", 0, 0, 1, 0, 1],  # c4
    ]


def test_the_current_month_counts_live_tiers_of_active_customers(client, manager, dealership):
    CustomerFactory(dealership=dealership, advisor=manager, value_tier="A")
    CustomerFactory(dealership=dealership, advisor=manager, value_tier="A")
    CustomerFactory(dealership=dealership, advisor=manager, value_tier="C")
    CustomerFactory(dealership=dealership, advisor=manager, value_tier="B", status=Customer.Status.DECEASED)
    night()
    response = get(client, manager)  # no month: the current one
    assert response.context["filters"].month == timezone.localdate().replace(day=1)
    assert rows(response, "tiers") == [[str(manager), 2, 0, 1, 0, 3]]
    # Nobody had a snapshot last month: everyone is new.
    assert rows(response, "movement")[4] == ["New (no snapshot the month before)", 2, 0, 1, 0, 0, 3]


# --- 2. Movement ----------------------------------------------------------------------------


def test_movement_from_april_to_may(client, manager, world):
    response = get(client, manager, month="2025-05")
    #                                    A  B  C  D  left total
    assert rows(response, "movement") == [
        ["A", 1, 1, 0, 0, 0, 2],  # c1 stayed, c2 slid to B
        ["B", 0, 1, 0, 0, 1, 2],  # c5 stayed, c6 moved away
        ["C", 0, 0, 0, 1, 0, 1],  # c3 fell to D
        ["D", 0, 0, 0, 0, 0, 0],
        ["New (no snapshot the month before)", 0, 0, 1, 0, 0, 1],  # c4
    ]
    assert table(response, "movement").footer == ["Total", 1, 2, 1, 1, 1, 6]
    assert table(response, "movement").header[0] == "2025-04 → 2025-05"


# --- 3. Churn funnel ------------------------------------------------------------------------


def test_churn_funnel_by_advisor(client, manager, world):
    response = get(client, manager, month="2025-05", dimension="advisor")
    # active, at risk, lost (May snapshot); turned at risk, turned lost, recovered (May's events)
    assert rows(response, "churn") == [
        ["周杰", 0, 1, 1, 0, 1, 0],  # c4 at risk, c3 lost (turned lost in May)
        ["李娜", 1, 1, 0, 1, 0, 1],  # c1, c2 (at risk twice: once), c6 recovered then moved
        ["No advisor", 1, 0, 0, 0, 0, 1],  # c5 recovered
    ]
    assert table(response, "churn").footer == ["Total", 2, 2, 1, 1, 1, 2]


# --- 4. Lost reasons ------------------------------------------------------------------------


def test_lost_reasons_by_advisor(client, manager, world):
    response = get(client, manager, month="2025-05", dimension="advisor")
    header = table(response, "reasons").header
    assert header[0] == "advisor"
    assert header[-2:] == ["Repaired elsewhere", "Customers surveyed"]
    # price, quality, attitude, broken promise, distance, assigned shop, moved, car sold, other, elsewhere, surveyed
    assert rows(response, "reasons") == [
        ["周杰", 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1],  # c3
        ["李娜", 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2],  # c2 (31 May 23:30 local), c6
        ["No advisor", 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1],  # c5
    ]
    assert table(response, "reasons").footer == ["Total", 2, 1, 1, 0, 1, 0, 0, 0, 1, 3, 4]


def test_lost_reasons_by_model(client, manager, world):
    response = get(client, manager, month="2025-05", dimension="model")
    assert rows(response, "reasons") == [
        ["丰田 凯美瑞", 1, 1, 1, 0, 0, 0, 0, 0, 0, 2, 2],  # c2, c5
        ["大众 帕萨特", 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1],  # c3
        ["No car in use", 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1],  # c6 (moved, no car)
    ]


def test_where_they_went_instead_is_trimmed_and_ranked(client, manager, world):
    response = get(client, manager, month="2025-05")
    assert rows(response, "places") == [["途虎养车", 2], ["=1+2", 1]]


# --- 5. Watch list --------------------------------------------------------------------------


def test_watch_list_newest_first_with_links(client, manager, world):
    response = get(client, manager, month="2025-05")
    assert rows(response, "watch") == [
        # The tier now, not May's.
        ["客户三", "D", "Visits slowed down", datetime.date(2025, 5, 20), "周杰"],
        ["客户一", "B", "Tier went down", datetime.date(2025, 5, 2), "李娜"],
    ]
    html = response.content.decode()
    assert f'href="{reverse("customers:detail", args=[world["c3"].pk])}"' in html
    assert "外店客户" not in html


def test_the_watch_list_states_each_reasons_figures(client, manager, world):
    c1, c3 = world["c1"], world["c3"]
    # As the recompute records them: 2024-12-31 → 2025-05-20 is 140 days.
    c3.watch_usual_days, c3.watch_days_since, c3.watch_last_visit = 90, 140, datetime.date(2024, 12, 31)
    c3.save(update_fields=["watch_usual_days", "watch_days_since", "watch_last_visit"])
    c1.watch_from_tier, c1.watch_to_tier = "A", "B"
    c1.save(update_fields=["watch_from_tier", "watch_to_tier"])
    response = get(client, manager, month="2025-05")
    assert [row[2] for row in rows(response, "watch")] == [
        "Visits slowed down: usually every 90 days; 140 days since 2024-12-31",
        "Tier went down: A → B on 2025-05-02",
    ]
    client.force_login(manager)
    page = client.get(URL, {"month": "2025-05"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "来店频次下降：通常每90天来店一次；自2024-12-31起已140天未来店" in page
    assert "价值等级下降：2025-05-02由A降为B" in page


# --- Scoping --------------------------------------------------------------------------------


def test_another_stores_manager_sees_only_their_store(client, other_manager, world):
    response = get(client, other_manager, month="2025-05", dimension="dealership")
    assert rows(response, "tiers") == [["闵行4S店", 1, 0, 0, 0, 1]]
    assert rows(response, "movement")[0] == ["A", 1, 0, 0, 0, 0, 1]
    assert rows(response, "churn") == [["闵行4S店", 1, 0, 0, 0, 0, 1]]
    assert rows(response, "reasons") == [["闵行4S店", 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]]
    assert rows(response, "places") == [["途虎养车", 1]]
    assert [row[0] for row in rows(response, "watch")] == ["外店客户"]


def test_a_store_manager_cannot_filter_to_another_store(client, manager, world, other_dealership):
    response = get(client, manager, month="2025-05", dimension="dealership", dealership=other_dealership.pk)
    assert response.context["filters"].dealership_id is None
    assert rows(response, "tiers") == [["浦东4S店", 1, 2, 1, 1, 5]]


def test_the_group_admin_sees_both_stores_and_can_filter(client, group_admin, world, other_dealership):
    response = get(client, group_admin, month="2025-05")
    assert response.context["filters"].dimension == "dealership"  # the group's default breakdown
    assert rows(response, "tiers") == [["浦东4S店", 1, 2, 1, 1, 5], ["闵行4S店", 1, 0, 0, 0, 1]]
    assert rows(response, "places") == [["途虎养车", 3], ["=1+2", 1]]
    assert table(response, "movement").footer == ["Total", 2, 2, 1, 1, 1, 7]

    response = get(client, group_admin, month="2025-05", dealership=other_dealership.pk)
    assert rows(response, "tiers") == [["闵行4S店", 1, 0, 0, 0, 1]]
    assert table(response, "movement").footer == ["Total", 1, 0, 0, 0, 0, 1]
    assert rows(response, "churn") == [["闵行4S店", 1, 0, 0, 0, 0, 1]]
    assert [row[0] for row in rows(response, "watch")] == ["外店客户"]


# --- CSV export -----------------------------------------------------------------------------


def test_csv_of_the_tier_distribution(client, manager, world):
    assert export(client, manager, "tiers", month="2025-05", dimension="advisor") == [
        ["advisor", "A", "B", "C", "D", "Total"],
        ["周杰", "0", "0", "1", "1", "2"],
        ["李娜", "1", "1", "0", "0", "2"],
        ["No advisor", "0", "1", "0", "0", "1"],
        ["Total", "1", "2", "1", "1", "5"],
    ]


def test_csv_of_the_movement(client, manager, world):
    lines = export(client, manager, "movement", month="2025-05")
    assert lines[0] == ["2025-04 → 2025-05", "A", "B", "C", "D", "No longer counted", "Total"]
    assert lines[1] == ["A", "1", "1", "0", "0", "0", "2"]
    assert lines[5] == ["New (no snapshot the month before)", "0", "0", "1", "0", "0", "1"]
    assert lines[6] == ["Total", "1", "2", "1", "1", "1", "6"]


def test_csv_of_the_churn_funnel(client, manager, world):
    assert export(client, manager, "churn", month="2025-05", dimension="usage") == [
        [
            "usage",
            "Active",
            "At risk",
            "Lost",
            "Turned at risk in the month",
            "Turned lost in the month",
            "Recovered in the month",
        ],
        ["Private", "2", "0", "0", "0", "0", "1"],  # c1, c5 (recovered)
        ["Official", "0", "0", "1", "0", "1", "0"],  # c3
        ["Commercial", "0", "1", "0", "1", "0", "0"],  # c2
        ["No car in use", "0", "1", "0", "0", "0", "1"],  # c4; c6 recovered (moved, no car)
        ["Total", "2", "2", "1", "1", "1", "2"],
    ]


def test_csv_of_the_lost_reasons(client, manager, world):
    lines = export(client, manager, "reasons", month="2025-05", dimension="advisor")
    assert lines[0][0] == "advisor"
    assert lines[0][1] == "Price"
    assert lines[-1] == ["Total", "2", "1", "1", "0", "1", "0", "0", "0", "1", "3", "4"]


def test_csv_of_the_places_neutralises_formulas(client, manager, world):
    assert export(client, manager, "places", month="2025-05") == [
        ["Where", "Customers"],
        ["途虎养车", "2"],
        ["'=1+2", "1"],
    ]


def test_csv_of_the_watch_list(client, manager, world):
    assert export(client, manager, "watch", month="2025-05") == [
        ["name", "value tier", "Reason", "Since", "advisor"],
        ["客户三", "D", "Visits slowed down", "2025-05-20", "周杰"],
        ["客户一", "B", "Tier went down", "2025-05-02", "李娜"],
    ]


def test_csv_header_follows_the_users_language(client, manager, world):
    client.force_login(manager)
    response = client.get(URL, {"month": "2025-05", "export": "tiers"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    assert text[len(BOM) :].splitlines()[0].startswith("服务顾问,A,B,C,D,")


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"month": "2025-13"}, "Give the month as YYYY-MM, e.g. 2025-05."),
        ({"month": "May 2025"}, "Give the month as YYYY-MM, e.g. 2025-05."),
        ({"month": "9999-01"}, "That month has not begun yet."),
        ({"dimension": "colour"}, "Choose a breakdown from the list."),
        ({"export": "secrets"}, "There is no table “secrets” to export."),
        ({"month": "2025-13", "export": "tiers"}, "Give the month as YYYY-MM, e.g. 2025-05."),
    ],
)
def test_bad_input_is_a_message_not_an_error(client, manager, world, params, message):
    response = get(client, manager, **params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()
    # The rest of the page still renders, with the defaults.
    assert "tiers" in response.context["tables"]


def test_a_bad_dealership_is_a_message_for_the_group_admin(client, group_admin, world):
    response = get(client, group_admin, dealership="99999")
    assert response.status_code == 200
    assert "Choose a dealership from the list." in response.content.decode()
    assert response.context["filters"].dealership_id is None


# --- Query counts ---------------------------------------------------------------------------


def _populate(dealership, n: int) -> None:
    """``n`` customers with a car, two snapshots, a churn move, a survey and a watch flag each."""
    advisors = [UserFactory(dealership=dealership) for _ in range(3)]
    models = [VehicleModelFactory(brand="大众", name=f"车型{i}") for i in range(3)]
    for i in range(n):
        customer = CustomerFactory(
            dealership=dealership, advisor=advisors[i % 3], value_tier="ABCD"[i % 4], watch_reason="tier_down"
        )
        customer.watch_since = datetime.date(2025, 5, 1 + i % 28)
        customer.save(update_fields=["watch_since"])
        VehicleFactory(customer=customer, model=models[i % 3], purchase_date=datetime.date(2015 + i % 10, 1, 1))
        snapshot(customer, APRIL, "ABCD"[(i + 1) % 4])
        snapshot(customer, MAY, "ABCD"[i % 4], ["active", "at_risk", "lost"][i % 3])
        churn_event(customer, datetime.date(2025, 5, 1 + i % 28), "active", "at_risk")
        survey(customer, local(2025, 5, 1 + i % 28, 12), ["price", "quality"][: 1 + i % 2], True, f"店{i % 12}")


@pytest.mark.parametrize("dimension", ["advisor", "dealership", "model", "age", "usage"])
def test_the_page_runs_a_fixed_number_of_queries(client, dealership, dimension, django_assert_max_num_queries):
    manager = ManagerFactory(dealership=dealership)
    client.force_login(manager)
    counts = []
    for size in (5, 60):
        _populate(dealership, size if not counts else size - 5)
        night()
        with django_assert_max_num_queries(PAGE_QUERIES) as captured:
            response = client.get(URL, {"month": "2025-05", "dimension": dimension})
        assert response.status_code == 200
        assert sum(row[-1] for row in rows(response, "tiers")) == size
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_the_group_admins_page_runs_a_fixed_number_of_queries(
    client, group_admin, dealership, other_dealership, django_assert_max_num_queries
):
    client.force_login(group_admin)
    counts = []
    for size in (5, 60):
        _populate(dealership if not counts else other_dealership, size if not counts else size - 5)
        night()
        with django_assert_max_num_queries(GROUP_PAGE_QUERIES) as captured:
            response = client.get(URL, {"month": "2025-05", "dealership": dealership.pk})
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("name", ["tiers", "movement", "churn", "reasons", "places", "watch"])
def test_an_export_runs_a_fixed_number_of_queries(client, dealership, name, django_assert_max_num_queries):
    manager = ManagerFactory(dealership=dealership)
    client.force_login(manager)
    counts = []
    for size in (5, 60):
        _populate(dealership, size if not counts else size - 5)
        night()
        with django_assert_max_num_queries(EXPORT_QUERIES[name]) as captured:
            response = client.get(URL, {"month": "2025-05", "export": name})
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


# Measured: session + user + the layout's dealership, then 1 (tiers) + 2 (movement) + 2 (churn)
# + 1 (reasons) + 1 (places) + 1 (watch list), + 1 for the holiday calendar's known years (the
# layout warns managers and admins when the coming 60 days reach a year without data).
PAGE_QUERIES = 12
# The group admin's form lists the dealerships and checks the chosen one (no dealership in the layout).
GROUP_PAGE_QUERIES = 13
# Session + user + the table's own queries (two for movement and churn).
EXPORT_QUERIES = {"tiers": 3, "movement": 4, "churn": 4, "reasons": 3, "places": 3, "watch": 3}
