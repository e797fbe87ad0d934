"""The KPI pages (/analytics/ and its sub-pages): access, the figures they show from rollup rows
written with known numbers, filters and scoping, charts, and fixed query counts at two sizes."""

import datetime
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import MonthlyAdvisorStats
from analytics.rollups import rollups_run
from tests.analytics.kpi_rows import RepairOrderFactory, advisor_month, care, orders, retention, store_day, tiers
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

D = datetime.date
MAY = {"period": "range", "start": "2025-05", "end": "2025-05"}
SPRING = {"period": "range", "start": "2025-04", "end": "2025-05"}
PAGES = ["dashboard", "retention", "care", "advisors", "value"]
# Queries of a page for a store's manager filtering by model, whatever the data: session, user, the
# model checked and the models listed in the form, the holiday calendar banner (5), then the page's own
# reads (see each builder's docstring). A group user adds the list of stores.
MAX_QUERIES = {"dashboard": 5 + 3, "retention": 5 + 1, "care": 5 + 1, "advisors": 5 + 2, "value": 5 + 3}


def get(client, user, name="dashboard", **params):
    client.force_login(user)
    return client.get(reverse(f"analytics:{name}"), params, HTTP_ACCEPT_LANGUAGE="en")


def rows(response, table):
    return response.context["tables"][table].rows


@pytest.fixture
def passat(db):
    return VehicleModelFactory(brand="大众", name="帕萨特")


@pytest.fixture
def may(dealership, other_dealership, passat):
    """May 2025 at Pudong: 12 returning visits (8 maintenance, 4 repair) against 10 in May 2024;
    3 complaints; 2 lost. Minhang has 500 visits and 9 complaints, never shown to Pudong."""
    orders(dealership, D(2025, 5, 6), model=passat, tier="A", visits=8, revenue="4000.00")
    orders(dealership, D(2025, 5, 7), kind="repair", visits=4, revenue="2000.00")
    orders(dealership, D(2024, 5, 7), visits=10, revenue="5000.00")
    store_day(dealership, D(2025, 5, 9), complaints=3, lost_customers=2, nps_count=10, nps_promoters=5,
              nps_detractors=2, lapsed_nps_count=10, lapsed_nps_promoters=1, lapsed_nps_detractors=6)  # fmt: skip
    orders(other_dealership, D(2025, 5, 6), visits=500, revenue="1.00")
    store_day(other_dealership, D(2025, 5, 9), complaints=9)


# --- Access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PAGES, "tiers"])
def test_advisors_are_refused(client, advisor, name):
    assert get(client, advisor, name).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_are_sent_to_log_in(client, name):
    response = client.get(reverse(f"analytics:{name}"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_a_manager_and_an_admin_without_data(client, manager, group_admin, name):
    assert get(client, manager, name).status_code == 200
    assert get(client, group_admin, name).status_code == 200


def test_the_sub_navigation_links_every_analytics_page(client, manager):
    html = get(client, manager).content.decode()
    nav = re.search(r'<nav class="subnav".*?</nav>', html, re.S).group(0)
    for name in [*PAGES, "tiers", "complaints", "surveys", "campaigns"]:
        assert f'href="{reverse(f"analytics:{name}")}' in nav, name
    # The KPI pages hand their filters on to each other.
    assert f"{reverse('analytics:retention')}?period=range&amp;start=" in nav


def test_the_tier_page_moved_and_links_back(client, manager):
    response = get(client, manager, "tiers")
    assert response.status_code == 200
    assert f'href="{reverse("analytics:dashboard")}' in response.content.decode()


# --- The overview's figures ------------------------------------------------------------------------


def test_the_overview_shows_may_against_may_last_year(client, manager, may):
    response = get(client, manager, **MAY)
    assert response.status_code == 200
    # 12 visits against 10: +20 %; 6000 yuan against 5000: +20 %.
    assert rows(response, "visits") == [["2025-05", 12, 10, 20, 6000, 5000, 20]]
    assert rows(response, "complaint-rate") == [["2025-05", 3, 12, 25]]  # 3 per 12 visits: 25 per 100
    nps = rows(response, "nps")
    assert [row[1:] for row in nps] == [[10, 5, 3, 2, 30], [10, 1, 3, 6, -50], [20, 6, 6, 8, -10]]


def test_the_churn_adjusted_nps_says_why_it_is_there(client, manager, may):
    html = get(client, manager, **MAY).content.decode()
    assert "An NPS that hears only from the customers who came back flatters the store" in html


def test_every_figure_links_to_the_customers_behind_it(client, manager, may):
    response = get(client, manager, **MAY)
    links = response.context["tables"]["visits"].cell_links[0]
    assert links[1] == f"{reverse('analytics:customers')}?metric=visits&start=2025-05&end=2025-05"
    assert links[2] == f"{reverse('analytics:customers')}?metric=visits&start=2024-05&end=2024-05"
    assert links[3] is None  # a rate has no list of its own
    html = response.content.decode()
    assert 'href="/analytics/customers/?metric=complaints&amp;start=2025-05&amp;end=2025-05"' in html


def test_the_charts_are_data_for_the_static_script_and_no_inline_script(client, manager, may):
    html = get(client, manager, **MAY).content.decode()
    assert 'src="/static/vendor/echarts/echarts.min.js"' in html
    assert 'src="/static/analytics/charts.js"' in html
    assert '<div class="chart" data-chart="chart-visits-0"' in html
    assert '<script id="chart-visits-0" type="application/json">' in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    data = get(client, manager, **MAY).context["sections"][0]["charts"][0]["data"]
    assert data["type"] == "line"
    assert data["categories"] == ["2025-05"]
    assert [s["data"] for s in data["series"]] == [[12], [10]]


def test_the_default_period_is_the_last_24_months(client, manager):
    response = get(client, manager)
    filters = response.context["filters"]
    assert len(filters.months) == 24
    assert len(rows(response, "visits")) == 24


# --- Filters and scoping ---------------------------------------------------------------------------


def test_another_stores_figures_never_show(client, other_manager, may):
    response = get(client, other_manager, **MAY)
    assert rows(response, "visits")[0][1] == 500
    assert rows(response, "complaint-rate")[0][1] == 9


def test_a_store_manager_cannot_pick_another_store(client, manager, may, other_dealership):
    response = get(client, manager, dealership=other_dealership.pk, **MAY)
    assert response.status_code == 200
    assert response.context["filters"].dealership_id is None
    assert rows(response, "visits")[0][1] == 12
    assert "dealership" not in response.context["form"].fields


def test_the_group_admin_sees_all_stores_and_may_pick_one(client, group_admin, may, dealership):
    assert rows(get(client, group_admin, **MAY), "visits")[0][1] == 512
    response = get(client, group_admin, dealership=dealership.pk, **MAY)
    assert rows(response, "visits")[0][1] == 12
    assert f"dealership={dealership.pk}" in response.context["tables"]["visits"].cell_links[0][1]


def test_the_model_filter_applies_to_visits_and_is_said_not_to_apply_to_store_figures(client, manager, may, passat):
    response = get(client, manager, model=passat.pk, **MAY)
    assert rows(response, "visits")[0][1:3] == [8, 0]
    assert rows(response, "complaint-rate") == [["2025-05", 3, 12, 25]]  # the store's visits
    sections = {section["table"].name: section for section in response.context["sections"]}
    assert sections["visits"]["ignored"] == ""
    assert sections["complaint-rate"]["ignored"] == "This table does not follow the model filter."
    assert f"model={passat.pk}" in response.context["tables"]["visits"].cell_links[0][1]


def test_the_tier_filter(client, manager, may):
    assert rows(get(client, manager, tier="A", **MAY), "visits")[0][1] == 8


def test_the_last_12_months(client, manager):
    response = get(client, manager, period="12")
    assert len(response.context["filters"].months) == 12


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "week"}, "Choose a period from the list."),
        ({"period": "range", "start": "2025-13"}, "Give the month as YYYY-MM, e.g. 2025-05."),
        ({"period": "range", "start": "2025-06", "end": "2025-01"}, "The period ends before it starts."),
        ({"period": "range", "start": "2001-01", "end": "2025-01"}, "Choose at most 60 months."),
        ({"period": "range", "end": "2999-01"}, "That month has not begun yet."),
        ({"tier": "Z"}, "Choose a tier from the list."),
        ({"model": "999999"}, "Choose a model from the list."),
        ({"export": "nothing"}, "There is no table “nothing” to export."),
        ({"export": "visits", "format": "pdf"}, "Choose CSV or XLSX to export."),
    ],
)
def test_bad_filters_are_reported_and_the_page_still_renders(client, manager, params, message):
    response = get(client, manager, **params)
    assert response.status_code == 200
    assert message in response.context["problems"]


# --- The sub-pages ---------------------------------------------------------------------------------


def test_the_retention_page(client, manager, dealership, passat):
    retention(dealership, "maintenance", "2023", model=passat, cars=40, returned=28, returned_2=16)
    retention(dealership, "age", "1-3", model=passat, cars=20, returned=15)
    response = get(client, manager, "retention", **MAY)
    assert rows(response, "retention-maintenance") == [["2023", 40, 28, 70, 16, 40, 0, 0]]
    assert rows(response, "retention-age") == [["1–3 years", 20, 15, 75]]
    sections = {section["table"].name: section for section in response.context["sections"]}
    assert sections["retention-age"]["ignored"] == "This table does not follow the period filter."


def test_the_care_funnel_page(client, manager, dealership):
    li = UserFactory(username="li", last_name="李", first_name="娜", dealership=dealership)
    care(dealership, D(2025, 5, 5), advisor=li, generated=40, contacted=30, reached=20, booked=10, arrived=6,
         revenue="3000.00")  # fmt: skip
    response = get(client, manager, "care", **MAY)
    # generated, contacted and %, reached and %, booked and %, arrived and %, revenue
    assert rows(response, "funnel-advisors") == [["李娜", 40, 30, 75, 20, 50, 10, 25, 6, 15, 3000]]
    assert rows(response, "funnel-kinds")[0][1:] == [40, 30, 75, 20, 50, 10, 25, 6, 15, 3000]


def test_the_advisors_page(client, manager, dealership):
    li = UserFactory(username="li", last_name="李", first_name="娜", dealership=dealership)
    care(dealership, D(2025, 5, 5), advisor=li, generated=20, booked=8, arrived=6, revenue="1800.00")
    # Four answers of her customers: 5, 5, 5 and 3 — 18 in all, three of them 4 or 5.
    advisor_month(dealership, D(2025, 5, 1), li, calls=40, reached=30, booked=12, csat_count=4, csat_sum=18,
                  csat_satisfied=3, overdue=2)  # fmt: skip
    response = get(client, manager, "advisors", **MAY)
    # calls, reached 30/40, booked 12/30, arrived 6/8, revenue, CSAT answers, % 4–5 3/4, average 18/4, overdue
    assert rows(response, "advisors") == [["李娜", 40, 75, 40, 75, 1800, 4, 75, 4.5, 2]]


def test_the_value_page(client, manager, dealership):
    # Two customers of tier A as of last night; May's snapshot had one of them in A, the other in B.
    tiers(dealership, timezone.localdate().replace(day=1), tier="A", customers=2)
    orders(dealership, D(2025, 5, 6), tier="A", visits=6, revenue="9000.00")
    tiers(dealership, D(2025, 5, 1), tier="A")
    tiers(dealership, D(2025, 5, 1), tier="B")
    response = get(client, manager, "value", **MAY)
    assert rows(response, "clv")[0] == ["A", 2, 6, 9000, 4500, 3]
    assert rows(response, "tier-months") == [["2025-05", 1, 1, 0, 0, 2]]


# --- Query counts at two sizes ---------------------------------------------------------------------


def _fill(dealership, *, month: int, days: int, advisors: int, passat) -> None:
    """Rollup rows for ``days`` days of a month of 2025 and ``advisors`` new advisors."""
    staff = [UserFactory(dealership=dealership) for _ in range(advisors)]
    for day in range(1, days + 1):
        orders(dealership, D(2025, month, day), model=passat, visits=day, revenue="100.00")
        orders(dealership, D(2025, month, day), kind="repair", visits=1, revenue="50.00")
        store_day(dealership, D(2025, month, day), complaints=1, lost_customers=1, nps_count=2, nps_promoters=1)
        for advisor in staff:
            care(dealership, D(2025, month, day), advisor=advisor, generated=3, contacted=2)
            MonthlyAdvisorStats.objects.update_or_create(
                dealership=dealership, month=D(2025, month, 1), advisor=advisor, defaults={"calls": 3 * day}
            )
    for band in ("0-1", "1-3", "3-5") if month == 5 else ("5-8", "8+"):
        retention(dealership, "age", band, model=passat, cars=days, returned=1)
    for _i in range(advisors):
        tiers(dealership, D(2025, 5, 1), tier="B")


def _count(client, user, name, params) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"analytics:{name}"), params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", PAGES)
def test_query_counts_are_fixed_at_two_sizes(client, manager, group_admin, dealership, passat, name,
                                              django_assert_max_num_queries):  # fmt: skip
    params = {**SPRING, "model": passat.pk, "tier": "B"}
    _fill(dealership, month=5, days=2, advisors=1, passat=passat)
    small = _count(client, manager, name, params)
    small_group = _count(client, group_admin, name, params)
    _fill(dealership, month=4, days=28, advisors=6, passat=passat)
    client.force_login(manager)
    with django_assert_max_num_queries(MAX_QUERIES[name]):
        assert client.get(reverse(f"analytics:{name}"), params).status_code == 200
    assert _count(client, manager, name, params) == small
    # A group user: one more query for the stores to choose from.
    assert _count(client, group_admin, name, params) == small_group == small + 1


# --- End to end: repair orders → the nightly rollups → the page ------------------------------------


def test_repair_orders_rolled_up_overnight_show_on_the_kpi_page(client, manager, dealership, other_dealership):
    def opened(*args):
        return datetime.datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai"))

    mine = [VehicleFactory(customer=CustomerFactory(dealership=dealership)) for _ in range(3)]
    RepairOrderFactory(vehicle=mine[0], opened_at=opened(2025, 5, 1, 0, 30))  # May, local
    RepairOrderFactory(vehicle=mine[0], opened_at=opened(2025, 5, 18, 9), kind="repair", parts_amount=Decimal("700"))
    RepairOrderFactory(vehicle=mine[1], opened_at=opened(2025, 5, 31, 23, 30))
    RepairOrderFactory(vehicle=mine[1], opened_at=opened(2025, 5, 20, 9), voided_at=opened(2025, 5, 21, 9))
    RepairOrderFactory(vehicle=mine[2], opened_at=opened(2025, 5, 22, 9), closed_at=None)  # still open
    RepairOrderFactory(vehicle=mine[2], opened_at=opened(2025, 4, 30, 23, 30))  # April, local
    RepairOrderFactory(vehicle=mine[2], opened_at=opened(2024, 5, 9, 9))  # May last year
    RepairOrderFactory(vehicle=VehicleFactory(customer=CustomerFactory(dealership=other_dealership)),
                       opened_at=opened(2025, 5, 9, 9))  # fmt: skip

    rollups_run()

    response = get(client, manager, **MAY)
    # May 2025: three closed, not voided orders: 500 + 1000 + 500 yuan; May 2024: one of 500 yuan.
    assert rows(response, "visits") == [["2025-05", 3, 1, 200, Decimal("2000.00"), Decimal("500.00"), 300]]
    kinds = {row[0]: row[1] for row in rows(response, "kinds")}
    assert list(kinds.values()) == [2, 1]  # maintenance, repair
    drill = response.context["tables"]["visits"].cell_links[0][1]
    listed = client.get(drill).context["table"].rows
    assert len(listed) == 2  # two customers behind the three visits


# --- The cache of the rendered figures ---------------------------------------------------------------


def test_the_figures_are_cached_until_the_next_nightly_run(client, manager, other_manager, dealership, settings):
    settings.CRM_KPI_CACHE_SECONDS = 600
    cache.clear()
    car = VehicleFactory(customer=CustomerFactory(dealership=dealership))
    RepairOrderFactory(vehicle=car, opened_at=datetime.datetime(2025, 5, 6, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    rollups_run()

    first = get(client, manager, **MAY)
    assert rows(first, "visits")[0][1] == 1
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(reverse("analytics:dashboard"), MAY, HTTP_ACCEPT_LANGUAGE="en")

    # The same figures (the page around them has its own form token), without the rollups' four
    # queries (the last run is read to key them).
    def figures(response) -> str:
        return response.content.decode().split('<section class="card kpi"', 1)[1]

    assert figures(again) == figures(first)
    assert not any("analytics_monthly" in q["sql"] for q in queries.captured_queries)
    # Another store, another language, other filters: their own entries.
    assert rows(get(client, other_manager, **MAY), "visits")[0][1] == 0
    client.force_login(manager)
    chinese = client.get(reverse("analytics:dashboard"), MAY, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "tables" in chinese.context
    # A late order and the next run: new figures.
    RepairOrderFactory(vehicle=car, opened_at=datetime.datetime(2025, 5, 7, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    rollups_run()
    assert rows(get(client, manager, **MAY), "visits")[0][1] == 2


def test_without_a_cache_setting_every_request_reads_the_rollups(client, manager, may):
    cache.clear()
    rollups_run()
    get(client, manager, **MAY)
    assert "tables" in get(client, manager, **MAY).context
