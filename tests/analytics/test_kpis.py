"""The KPI selectors (analytics.kpis) over rollup rows written with known numbers: every
expected figure below is worked out by hand in the comment beside it."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics import kpis
from analytics.kpis import KpiFilters
from tests.analytics.kpi_rows import advisor_month, care, orders, retention, store_day, tiers
from tests.crm.factories import UserFactory
from tests.vehicles.factories import VehicleModelFactory

D = datetime.date
APRIL, MAY = D(2025, 4, 1), D(2025, 5, 1)
SPRING = KpiFilters(start=APRIL, end=MAY)


@pytest.fixture
def models(db):
    return VehicleModelFactory(brand="大众", name="帕萨特"), VehicleModelFactory(brand="丰田", name="凯美瑞")


@pytest.fixture
def order_rows(dealership, other_dealership, models):
    passat, camry = models
    orders(dealership, D(2025, 5, 3), model=passat, tier="A", visits=10, revenue="5000.00", labor="2000.00")
    orders(dealership, D(2025, 5, 20), kind="repair", model=camry, tier="B", visits=5, revenue="3000.00", labor="1000")
    orders(dealership, D(2025, 5, 21), kind="warranty", payer="manufacturer", model=passat, visits=4, revenue="1200")
    orders(dealership, D(2025, 5, 31), kind="accident", payer="insurer", model=camry, tier="C", revenue="8000.00")
    orders(dealership, D(2025, 4, 30), model=passat, tier="A", visits=7, revenue="2100.00")
    orders(dealership, D(2024, 5, 10), model=passat, tier="A", visits=16, revenue="6400.00")
    orders(dealership, D(2024, 4, 2), model=passat, tier="B", visits=5, revenue="1500.00")
    orders(dealership, D(2025, 6, 1), model=passat, tier="A", visits=99, revenue="9900.00")  # after the period
    orders(other_dealership, D(2025, 5, 3), model=passat, tier="A", visits=100, revenue="99999.00")


def by_month(rows):
    return {row.month: row for row in rows}


# --- Visits and revenue against the same month last year -------------------------------------------


def test_visits_and_revenue_of_a_month_beside_the_same_month_last_year(manager, order_rows):
    april, may = kpis.order_months(user=manager, filters=SPRING)
    # May 2025: 10 + 5 + 4 + 1 visits, 5000 + 3000 + 1200 + 8000 yuan; May 2024: 16 visits, 6400 yuan.
    assert (may.month, may.visits, may.revenue) == (MAY, 20, Decimal("17200.00"))
    assert (may.visits_last_year, may.revenue_last_year) == (16, Decimal("6400.00"))
    assert may.visits_change == Decimal("25.0")  # (20 − 16) / 16
    assert may.revenue_change == Decimal("168.8")  # (17200 − 6400) / 6400 = 168.75 %
    # April 2025: 7 visits, 2100 yuan against 5 visits, 1500 yuan.
    assert (april.visits, april.visits_last_year, april.visits_change) == (7, 5, Decimal("40.0"))
    assert april.revenue_change == Decimal("40.0")


def test_the_model_and_tier_filters_narrow_the_visits_but_not_the_stores_base(manager, order_rows, models):
    passat, _camry = models
    may = kpis.order_months(user=manager, filters=KpiFilters(start=MAY, end=MAY, model_id=passat.pk))[0]
    # 帕萨特 in May 2025: 10 + 4 visits, 5000 + 1200 yuan; May 2024: 16 visits, 6400 yuan.
    assert (may.visits, may.revenue, may.visits_last_year) == (14, Decimal("6200.00"), 16)
    assert may.visits_change == Decimal("-12.5")
    assert may.revenue_change == Decimal("-3.1")  # −200 / 6400 = −3.125 %
    assert may.all_visits == 20  # the complaint rate's base stays the store's
    tier_b = kpis.order_months(user=manager, filters=KpiFilters(start=MAY, end=MAY, tier="B"))[0]
    assert (tier_b.visits, tier_b.revenue) == (9, Decimal("4200.00"))  # the repair (5) and the warranty work (4)


def test_a_month_without_rollup_rows_shows_zero_and_no_change(manager, order_rows):
    (march,) = kpis.order_months(user=manager, filters=KpiFilters(start=D(2025, 3, 1), end=D(2025, 3, 1)))
    assert (march.visits, march.revenue, march.visits_last_year, march.visits_change) == (0, Decimal("0.00"), 0, None)


def test_another_stores_rows_never_count_but_the_group_sees_both(manager, other_manager, group_admin, order_rows):
    assert by_month(kpis.order_months(user=other_manager, filters=SPRING))[MAY].visits == 100
    assert by_month(kpis.order_months(user=group_admin, filters=SPRING))[MAY].visits == 120
    store = KpiFilters(start=APRIL, end=MAY, dealership_id=manager.dealership_id)
    assert by_month(kpis.order_months(user=group_admin, filters=store))[MAY].visits == 20


def test_breakdown_by_order_kind_and_payer(manager, order_rows):
    breakdown = kpis.order_breakdown(user=manager, filters=SPRING)
    # April and May 2025: 27 visits, 19300 yuan.
    assert (breakdown.visits, breakdown.revenue) == (27, Decimal("19300.00"))
    assert [(b.key, b.visits, b.revenue, b.share_of_visits) for b in breakdown.by_kind] == [
        ("maintenance", 17, Decimal("7100.00"), Decimal("63.0")),  # 17 / 27 = 62.96 %
        ("repair", 5, Decimal("3000.00"), Decimal("18.5")),  # 18.52 %
        ("warranty", 4, Decimal("1200.00"), Decimal("14.8")),  # 14.81 %
        ("accident", 1, Decimal("8000.00"), Decimal("3.7")),  # 3.70 %
    ]
    # Paid, warranty, insurance.
    assert [(b.key, b.visits, b.revenue, b.revenue_per_visit) for b in breakdown.by_payer] == [
        ("customer", 22, Decimal("10100.00"), Decimal("459.09")),  # 10100 / 22
        ("manufacturer", 4, Decimal("1200.00"), Decimal("300.00")),
        ("insurer", 1, Decimal("8000.00"), Decimal("8000.00")),
    ]
    repair = breakdown.by_kind[1]
    assert (repair.labor, repair.parts) == (Decimal("1000.00"), Decimal("2000.00"))


# --- The store's month -----------------------------------------------------------------------------


@pytest.fixture
def may_store_rows(dealership, other_dealership):
    store_day(
        dealership,
        D(2025, 5, 2),
        new_customers=4,
        at_risk_customers=3,
        lost_customers=2,
        recovered_customers=1,
        complaints=1,
        csat_count=5,
        csat_sum=21,
        csat_satisfied=4,
        nps_count=6,
        nps_promoters=3,
        nps_detractors=1,
        lapsed_nps_count=4,
        lapsed_nps_promoters=0,
        lapsed_nps_detractors=3,
        insurance_due=10,
        insurance_renewed=6,
        membership_joins=2,
    )
    store_day(
        dealership,
        D(2025, 5, 25),
        at_risk_customers=1,
        lost_customers=3,
        complaints=2,
        csat_count=3,
        csat_sum=11,
        csat_satisfied=2,
        nps_count=4,
        nps_promoters=2,
        nps_detractors=1,
        lapsed_nps_count=6,
        lapsed_nps_promoters=1,
        lapsed_nps_detractors=3,
        insurance_due=10,
        insurance_renewed=7,
        membership_joins=1,
    )
    store_day(other_dealership, D(2025, 5, 10), lost_customers=50, complaints=40, nps_count=100, nps_promoters=100)


def test_the_months_store_figures_and_their_rates(manager, may_store_rows, order_rows):
    filters = KpiFilters(start=MAY, end=MAY)
    (may,) = kpis.store_months(user=manager, filters=filters, orders=kpis.order_months(user=manager, filters=filters))
    assert (may.new_customers, may.at_risk_customers, may.lost_customers, may.recovered_customers) == (4, 4, 5, 1)
    # 3 complaints over May's 20 returning visits: 15 per 100 visits.
    assert (may.complaints, may.visits, may.complaint_rate) == (3, 20, Decimal("15.0"))
    # CSAT: 6 of 8 answers were 4 or 5; the average is (21 + 11) / 8.
    assert (may.csat_count, may.csat, may.csat_average) == (8, Decimal("75.0"), Decimal("4.0"))
    # Insurance: 13 of the 20 policies ending were renewed here.
    assert (may.insurance_due, may.insurance_renewed, may.insurance_renewal_rate) == (20, 13, Decimal("65.0"))
    assert may.membership_joins == 3


def test_the_churn_adjusted_nps_beside_the_returning_customers_nps(manager, may_store_rows):
    (may,) = kpis.store_months(user=manager, filters=KpiFilters(start=MAY, end=MAY))
    # Returning: 10 answers, 5 promoters, 3 passives, 2 detractors: 50 % − 20 % = +30.
    assert (may.nps_count, may.nps_promoters, may.nps_detractors, may.nps) == (10, 5, 2, Decimal("30.0"))
    # Lapsed: 10 answers, 1 promoter, 6 detractors. With them: 20 answers, 6 promoters, 8 detractors:
    # 30 % − 40 % = −10: the store looked 40 points better hearing only those who came back.
    assert (may.lapsed_nps_count, may.nps_all_count, may.nps_with_lapsed) == (10, 20, Decimal("-10.0"))


def test_the_churn_rate_over_the_months_snapshot(manager, dealership, may_store_rows):
    # May's snapshot: 6 active, 2 at risk, 2 lost customers: 8 could still be lost, and May lost 5.
    tiers(dealership, MAY, tier="A", churn_state="active", customers=4)
    tiers(dealership, MAY, tier="B", churn_state="active", customers=2)
    tiers(dealership, MAY, tier="B", churn_state="at_risk", customers=2)
    tiers(dealership, MAY, tier="C", churn_state="lost", customers=2)
    filters = KpiFilters(start=APRIL, end=MAY)
    april, may = kpis.store_months(user=manager, filters=filters)
    kpis.churn_bases(user=manager, filters=filters, months=[april, may])
    assert (may.base, may.churn_rate) == (8, Decimal("38.5"))  # 5 / (8 + 5) = 38.46 %
    assert (april.base, april.churn_rate) == (None, None)  # no snapshot: no rate


def test_store_figures_of_another_store_never_show(other_manager, may_store_rows):
    (may,) = kpis.store_months(user=other_manager, filters=KpiFilters(start=MAY, end=MAY))
    assert (may.lost_customers, may.complaints, may.nps) == (50, 40, Decimal("100.0"))


# --- Retention -------------------------------------------------------------------------------------


def test_retention_by_age_band_and_the_first_maintenance_return_rate(manager, dealership, other_dealership, models):
    passat, camry = models
    retention(dealership, "age", "8+", model=passat, cars=4, returned=1)
    retention(dealership, "age", "0-1", model=passat, cars=10, returned=9)
    retention(dealership, "age", "1-3", model=passat, cars=20, returned=15)
    retention(dealership, "age", "1-3", model=camry, cars=20, returned=10)
    retention(dealership, "maintenance", "2023", model=passat, cars=30, returned=24, returned_2=15, returned_3=6)
    retention(dealership, "maintenance", "2023", model=camry, cars=10, returned=4, returned_2=1, returned_3=0)
    retention(dealership, "maintenance", "2024", model=passat, cars=10, returned=6)
    retention(other_dealership, "maintenance", "2023", model=passat, cars=100, returned=0)

    result = kpis.retention(user=manager, filters=SPRING)
    assert [(line.band, line.cars, line.returned, line.rate) for line in result.by_age] == [
        ("0-1", 10, 9, Decimal("90.0")),
        ("1-3", 40, 25, Decimal("62.5")),  # both models
        ("8+", 4, 1, Decimal("25.0")),
    ]
    # 首保回厂率 of the 2023 cars: 28 of 40 came back for the first maintenance, 16 for the second, 6 the third.
    cohort_2023, cohort_2024 = result.by_maintenance
    assert (cohort_2023.band, cohort_2023.cars, cohort_2023.rate) == ("2023", 40, Decimal("70.0"))
    assert (cohort_2023.rate_2, cohort_2023.rate_3) == (Decimal("40.0"), Decimal("15.0"))
    assert (cohort_2024.band, cohort_2024.rate, cohort_2024.rate_2) == ("2024", Decimal("60.0"), Decimal("0.0"))
    total = kpis.Retention.total(result.by_maintenance)
    assert (total.cars, total.returned, total.rate) == (50, 34, Decimal("68.0"))

    passat_only = kpis.retention(user=manager, filters=KpiFilters(start=APRIL, end=MAY, model_id=passat.pk))
    assert passat_only.by_maintenance[0].rate == Decimal("80.0")  # 24 of 30
    assert passat_only.by_age[1].cars == 20


# --- Customer value --------------------------------------------------------------------------------


def test_customer_value_by_tier_is_the_tiers_revenue_per_active_customer(
    manager, dealership, other_dealership, order_rows
):
    # The active customers by tier as of the last night (the newest month rolled up): 2 A, 3 B, 1 C.
    this_month = timezone.localdate().replace(day=1)
    for tier, n, state in [("A", 2, "active"), ("B", 2, "active"), ("B", 1, "at_risk"), ("C", 1, "lost")]:
        tiers(dealership, this_month, tier=tier, churn_state=state, customers=n)
    tiers(dealership, D(2025, 5, 1), tier="A", customers=40)  # an older month: not today's customers
    tiers(other_dealership, this_month, tier="A", customers=70)  # another store
    values = {v.tier: v for v in kpis.tier_values(user=manager, filters=SPRING)}
    # April–May 2025, tier A: 10 + 7 visits, 5000 + 2100 yuan over 2 customers.
    assert (values["A"].customers, values["A"].visits, values["A"].revenue) == (2, 17, Decimal("7100.00"))
    assert values["A"].value_per_customer == Decimal("3550.00")
    assert values["A"].visits_per_customer == Decimal("8.5")
    # Tier B: the repair (5 visits, 3000) and the warranty work (4 visits, 1200) over 3 customers.
    assert values["B"].value_per_customer == Decimal("1400.00")
    assert values["C"].value_per_customer == Decimal("8000.00")
    assert (values["D"].customers, values["D"].value_per_customer) == (0, None)
    only_a = kpis.tier_values(user=manager, filters=KpiFilters(start=APRIL, end=MAY, tier="A"))
    assert [v.tier for v in only_a] == ["A"]


# --- The care funnel and the advisors --------------------------------------------------------------


@pytest.fixture
def advisors(dealership):
    return (
        UserFactory(username="li", last_name="李", first_name="娜", dealership=dealership),
        UserFactory(username="zhou", last_name="周", first_name="杰", dealership=dealership),
    )


@pytest.fixture
def care_rows(dealership, other_dealership, advisors):
    li, zhou = advisors
    day = D(2025, 5, 5)
    care(dealership, day, advisor=li, generated=40, contacted=30, reached=20, booked=10, arrived=6, revenue="3000")
    care(dealership, day, kind="insurance", advisor=li, generated=10, contacted=10, reached=5, booked=2, arrived=1,
         revenue="500.00")  # fmt: skip
    care(dealership, day, advisor=zhou, generated=60, contacted=50, reached=30, booked=10, arrived=8, revenue="4000")
    care(dealership, D(2025, 6, 1), advisor=zhou, generated=1000)  # after the period
    care(other_dealership, day, generated=500, contacted=500)
    # April left 李娜 with 9 touches overdue, May with 3; 周杰 with none. CSAT: 5, 4 (April), 4 (May).
    advisor_month(dealership, APRIL, li, calls=30, reached=20, booked=8, csat_count=2, csat_sum=9, csat_satisfied=2,
                  overdue=9)  # fmt: skip
    advisor_month(dealership, MAY, li, calls=10, reached=4, booked=2, csat_count=1, csat_sum=4, csat_satisfied=1,
                  overdue=3)  # fmt: skip
    advisor_month(dealership, MAY, zhou, calls=20, reached=15, booked=5, overdue=0)


def test_the_care_funnel_by_kind_and_advisor(manager, care_rows):
    funnel = kpis.care_funnel(user=manager, filters=SPRING)
    maintenance, insurance = funnel.by_kind
    assert (maintenance.key, maintenance.counts) == (
        "maintenance",
        {"generated": 100, "contacted": 80, "reached": 50, "booked": 20, "arrived": 14},
    )
    # Each stage as % of the touches generated: 80, 50, 20, 14.
    assert [maintenance.rate(s) for s in ("contacted", "reached", "booked", "arrived")] == [
        Decimal("80.0"),
        Decimal("50.0"),
        Decimal("20.0"),
        Decimal("14.0"),
    ]
    assert maintenance.revenue == Decimal("7000.00")
    assert (insurance.key, insurance.rate("contacted"), insurance.rate("arrived")) == (
        "insurance",
        Decimal("100.0"),
        Decimal("10.0"),
    )
    zhou, li = funnel.by_advisor  # by name: 周 sorts before 李
    assert (li.label, li.counts["generated"], li.rate("booked"), li.revenue) == (
        "李娜",
        50,
        Decimal("24.0"),  # 12 of 50
        Decimal("3500.00"),
    )
    assert (zhou.label, zhou.step_rate("arrived")) == ("周杰", Decimal("80.0"))  # 8 of the 10 booked
    assert funnel.total.counts == {"generated": 110, "contacted": 90, "reached": 55, "booked": 22, "arrived": 15}


def test_the_advisor_rows(manager, care_rows):
    funnel = kpis.care_funnel(user=manager, filters=SPRING)
    zhou, li = kpis.advisor_lines(user=manager, filters=SPRING, funnel=funnel)
    # 李娜: 40 calls, 24 reached (60 %), 10 booked of the 24 (41.7 %), 7 of her 12 booked touches arrived (58.3 %).
    assert (li.label, li.calls, li.reached_rate, li.booked_rate, li.arrived_rate) == (
        "李娜",
        40,
        Decimal("60.0"),
        Decimal("41.7"),
        Decimal("58.3"),
    )
    # CSAT of her customers: (9 + 4) / 3 answers, all 3 of them 4 or 5; overdue: the last month's 3, not 9 + 3.
    assert (li.revenue, li.csat_count, li.csat_average, li.overdue) == (Decimal("3500.00"), 3, Decimal("4.3"), 3)
    assert li.csat == Decimal("100.0")
    assert (zhou.calls, zhou.reached_rate, zhou.booked_rate, zhou.arrived_rate) == (
        20,
        Decimal("75.0"),
        Decimal("33.3"),
        Decimal("80.0"),
    )
    assert (zhou.csat_average, zhou.csat, zhou.overdue) == (None, None, 0)


def test_a_group_user_without_a_store_sees_the_funnel_and_the_advisors_by_store(
    group_admin, dealership, other_dealership, care_rows
):
    # Minhang's touches: 500 generated, 500 contacted, nobody's; its month of calls: one advisor.
    colleague = UserFactory(username="wang", last_name="王", first_name="芳", dealership=other_dealership)
    advisor_month(other_dealership, MAY, colleague, calls=7, reached=7, booked=1, csat_count=2, csat_sum=7,
                  csat_satisfied=1, overdue=4)  # fmt: skip
    funnel = kpis.care_funnel(user=group_admin, filters=SPRING)
    assert funnel.per_store
    pudong, minhang = funnel.by_advisor  # by name: 浦 (U+6D66) sorts before 闵 (U+95F5)
    assert (minhang.key, minhang.label, minhang.counts["generated"]) == (other_dealership.pk, "闵行4S店", 500)
    # Pudong: 40 + 10 + 60 generated, 30 + 10 + 50 contacted, as the store's three rows of May.
    assert (pudong.key, pudong.counts["generated"], pudong.counts["contacted"]) == (dealership.pk, 110, 90)
    # By kind, every store's: 100 + 500 maintenance touches, then Pudong's 10 insurance ones.
    assert [(line.key, line.counts["generated"]) for line in funnel.by_kind] == [
        ("maintenance", 600),
        ("insurance", 10),
    ]

    pudong_line, minhang_line = kpis.advisor_lines(user=group_admin, filters=SPRING, funnel=funnel)
    # Pudong's advisors together: 40 + 20 calls, 24 + 15 reached, 10 + 5 booked; overdue of May: 3 + 0.
    assert (pudong_line.dealership_id, pudong_line.calls, pudong_line.reached, pudong_line.booked) == (
        dealership.pk,
        60,
        39,
        15,
    )
    assert (pudong_line.overdue, pudong_line.revenue, pudong_line.arrived) == (3, Decimal("7500.00"), 15)
    assert (minhang_line.label, minhang_line.calls, minhang_line.csat, minhang_line.overdue) == (
        "闵行4S店",
        7,
        Decimal("50.0"),  # 1 of 2 answers
        4,
    )

    # A store chosen: its advisors again.
    chosen = KpiFilters(start=APRIL, end=MAY, dealership_id=dealership.pk)
    assert [line.label for line in kpis.care_funnel(user=group_admin, filters=chosen).by_advisor] == ["周杰", "李娜"]


def test_the_group_reads_its_own_rows_not_every_stores(group_admin, dealership, other_dealership, order_rows):
    # The group's rows are the stores' sums (as the nightly run writes them): May 2025 holds 20 + 100
    # visits. A store's rows are not added to them again.
    may = by_month(kpis.order_months(user=group_admin, filters=SPRING))[MAY]
    assert (may.visits, may.all_visits) == (120, 120)
