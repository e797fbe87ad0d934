"""The managers' weekly digest: rollup rows with known numbers, figures worked out by hand.

Today is Wednesday 2026-12-09. Last week is Monday 2026-11-30 to Sunday 2026-12-06, ISO
2026-W49 (ISO 2026 starts on Monday 2025-12-29; 2026-11-30 is 336 days = 48 weeks later).
The week before is 2026-11-23 – 2026-11-29 (W48); the same week last year is 2025-W49,
2025-12-01 – 2025-12-07 (ISO 2025 starts on 2024-12-30, plus 48 weeks)."""

import datetime
from decimal import Decimal

import pytest

from analytics.digest import BEFORE, LAST, LAST_YEAR, digest_weeks, weekly_digest_figures, weekly_digest_send
from analytics.models import DailyCareStats, DailyOrderStats, DailyStoreStats
from analytics.tasks import weekly_digest_task
from tests.crm.factories import DealershipFactory, ManagerFactory, UserFactory

D = datetime.date
TODAY = D(2026, 12, 9)


def orders(store, day, visits, revenue, kind="maintenance", tier="A"):
    DailyOrderStats.objects.create(
        dealership=store, day=day, kind=kind, payer="customer", tier=tier, visits=visits, revenue=Decimal(revenue)
    )


@pytest.fixture
def rollups(dealership, other_dealership, advisor):
    # Orders. Last week: 3 + 2 visits, 1,000.00 + 500.50. The week before: 4, 800.00.
    # Last year's week: 1, 300.00. The rest fall outside the three weeks.
    orders(dealership, D(2026, 11, 30), 3, "1000.00")
    orders(dealership, D(2026, 12, 6), 2, "500.50", kind="repair", tier="B")
    orders(dealership, D(2026, 12, 7), 9, "9000.00")  # this week
    orders(dealership, D(2026, 11, 29), 4, "800.00")
    orders(dealership, D(2026, 11, 22), 7, "700.00")  # three weeks ago
    orders(dealership, D(2025, 12, 3), 1, "300.00")
    orders(dealership, D(2025, 11, 30), 5, "500.00")  # the Sunday before last year's week
    orders(other_dealership, D(2026, 12, 1), 10, "9999.00")

    store = DailyStoreStats.objects.create
    store(
        dealership=dealership,
        day=D(2026, 12, 1),
        new_customers=2,
        lost_customers=1,
        recovered_customers=1,
        complaints=1,
        csat_count=4,
        csat_sum=17,
        csat_satisfied=3,
        nps_count=10,
        nps_promoters=5,
        nps_detractors=2,
        lapsed_nps_count=4,
        lapsed_nps_promoters=0,
        lapsed_nps_detractors=3,
        insurance_due=4,
        insurance_renewed=3,
        membership_joins=2,
    )
    store(dealership=dealership, day=D(2026, 12, 5), new_customers=1, csat_count=1, csat_sum=5, csat_satisfied=1)
    store(
        dealership=dealership,
        day=D(2026, 11, 25),
        new_customers=3,
        complaints=2,
        csat_count=2,
        csat_sum=6,
        csat_satisfied=1,
        nps_count=4,
        nps_promoters=1,
        nps_detractors=1,
        insurance_due=2,
        insurance_renewed=2,
    )
    store(dealership=dealership, day=D(2025, 12, 2), new_customers=5, nps_count=2, nps_promoters=2)
    store(dealership=other_dealership, day=D(2026, 12, 1), complaints=9)

    care = DailyCareStats.objects.create
    care(dealership=dealership, day=D(2026, 12, 2), kind="maintenance", generated=10, reached=6, booked=3, arrived=2)
    care(dealership=dealership, day=D(2026, 12, 3), kind="birthday", advisor=advisor, generated=5, reached=2, booked=1)
    care(dealership=dealership, day=D(2026, 11, 24), kind="maintenance", generated=7, reached=3, booked=2, arrived=1)


@pytest.fixture
def managers(dealership, other_dealership):
    closed_store = DealershipFactory(code="closed", is_active=False)
    return {
        "pudong": ManagerFactory(username="m_pudong", dealership=dealership, email="pudong@example.com"),
        "minhang": ManagerFactory(username="m_minhang", dealership=other_dealership, email="minhang@example.com"),
        # None of these gets the digest:
        "no_email": ManagerFactory(username="m_noemail", dealership=dealership, email=""),
        "inactive": ManagerFactory(username="m_gone", dealership=dealership, email="gone@example.com", is_active=False),
        "advisor": UserFactory(username="a_mail", dealership=dealership, email="advisor@example.com"),
        "group": ManagerFactory(username="m_group", dealership=None, email="group@example.com"),
        "closed": ManagerFactory(username="m_closed", dealership=closed_store, email="closed@example.com"),
    }


def test_the_weeks_are_last_monday_to_sunday_the_week_before_and_last_years_iso_week():
    weeks = digest_weeks(TODAY)
    assert (weeks[LAST].monday, weeks[LAST].sunday, weeks[LAST].label) == (D(2026, 11, 30), D(2026, 12, 6), "2026-W49")
    assert (weeks[BEFORE].monday, weeks[BEFORE].label) == (D(2026, 11, 23), "2026-W48")
    assert (weeks[LAST_YEAR].monday, weeks[LAST_YEAR].label) == (D(2025, 12, 1), "2025-W49")
    # On the Monday itself, last week is still the week that just ended.
    assert digest_weeks(D(2026, 12, 7))[LAST].monday == D(2026, 11, 30)
    # ISO 2026 has 53 weeks (it starts on a Thursday), 2025 only 52: week 53 compares with week 52,
    # which starts on 2025-12-22 (2024-12-30 + 51 weeks).
    weeks = digest_weeks(D(2027, 1, 6))
    assert (weeks[LAST].monday, weeks[LAST].label) == (D(2026, 12, 28), "2026-W53")
    assert (weeks[LAST_YEAR].monday, weeks[LAST_YEAR].label) == (D(2025, 12, 22), "2025-W52")


def test_the_figures_are_last_weeks_against_the_week_before_and_last_year(dealership, other_dealership, rollups):
    digest = weekly_digest_figures(dealerships=[dealership, other_dealership], today=TODAY)[dealership.pk]

    def values(key):
        figure = digest.figure(key)
        return figure.values[LAST], figure.values[BEFORE], figure.values[LAST_YEAR]

    assert values("visits") == (5, 4, 1)
    assert values("revenue") == (Decimal("1500.50"), Decimal("800.00"), Decimal("300.00"))
    assert values("new_customers") == (3, 3, 5)
    assert values("lost") == (1, 0, 0)
    assert values("recovered") == (1, 0, 0)
    assert values("complaints") == (1, 2, 0)
    # CSAT: (3 + 1) / (4 + 1) = 80.0 %; 1 / 2 = 50.0 %; no answers last year.
    assert values("csat") == (Decimal("80.0"), Decimal("50.0"), None)
    # NPS of returning customers: (5 − 2) / 10 = +30.0; (1 − 1) / 4 = 0.0; 2 / 2 = +100.0.
    assert values("nps_returning") == (Decimal("30.0"), Decimal("0.0"), Decimal("100.0"))
    # Including the lapsed: (5 + 0 − 2 − 3) / (10 + 4) = 0.0.
    assert values("nps_all") == (Decimal("0.0"), Decimal("0.0"), Decimal("100.0"))
    assert values("nps_answers") == (14, 4, 2)
    # Renewals: 3 / 4 = 75.0 %; 2 / 2 = 100.0 %; none due last year.
    assert values("insurance_renewal") == (Decimal("75.0"), Decimal("100.0"), None)
    assert values("club_joins") == (2, 0, 0)
    # The funnel over both kinds and advisors: 10 + 5, 6 + 2, 3 + 1, 2 + 0.
    assert values("care_generated") == (15, 7, 0)
    assert values("care_reached") == (8, 3, 0)
    assert values("care_booked") == (4, 2, 0)
    assert values("care_arrived") == (2, 1, 0)

    revenue = digest.figure("revenue")
    assert (revenue.last, revenue.change_before, revenue.change_last_year) == ("1,500.50", "+700.50", "+1,200.50")
    csat = digest.figure("csat")
    assert (csat.last, csat.change_before, csat.last_year, csat.change_last_year) == ("80.0%", "+30.0 pt", "—", "—")
    assert digest.figure("complaints").change_before == "-1"

    theirs = weekly_digest_figures(dealerships=[dealership, other_dealership], today=TODAY)[other_dealership.pk]
    assert theirs.figure("visits").values[LAST] == 10
    assert theirs.figure("complaints").values[LAST] == 9


def test_each_store_manager_gets_one_email_of_their_own_store(
    dealership, other_dealership, rollups, managers, mailoutbox, django_assert_num_queries
):
    # The managers, then one GROUP BY per rollup table.
    with django_assert_num_queries(4):
        report = weekly_digest_send(today=TODAY)
    assert (report.sent, report.failed, report.stores, report.week) == (2, 0, 2, "2026-W49")
    assert sorted(m.to[0] for m in mailoutbox) == ["minhang@example.com", "pudong@example.com"]
    assert all(len(m.to) == 1 for m in mailoutbox)

    mine = next(m for m in mailoutbox if m.to == ["pudong@example.com"])
    assert dealership.name in mine.subject and "2026-W49" in mine.subject
    for text in ("2026-W49", "2026-11-30 – 2026-12-06", "2026-W48", "2025-W49", "2025-12-01 – 2025-12-07"):
        assert text in mine.body
    assert "1,500.50" in mine.body and "+700.50" in mine.body and "9,999.00" not in mine.body
    [(html, mimetype)] = mine.alternatives
    assert mimetype == "text/html" and "<table" in html and "1,500.50" in html and "2025-W49" in html

    theirs = next(m for m in mailoutbox if m.to == ["minhang@example.com"])
    assert other_dealership.name in theirs.subject
    assert "9,999.00" in theirs.body and "1,500.50" not in theirs.body


def test_each_run_sends_once_and_the_task_runs_it(rollups, managers, mailoutbox):
    assert weekly_digest_task(day=TODAY.isoformat())["sent"] == "2"
    assert len(mailoutbox) == 2
    weekly_digest_send(today=TODAY)
    assert len(mailoutbox) == 4


def test_no_manager_with_an_email_sends_nothing(dealership, rollups, mailoutbox):
    ManagerFactory(username="quiet", dealership=dealership, email="")
    assert weekly_digest_send(today=TODAY).sent == 0
    assert mailoutbox == []


def test_a_store_without_rollups_gets_zeros_and_dashes(dealership, mailoutbox):
    ManagerFactory(username="new_store", dealership=dealership, email="new@example.com")
    weekly_digest_send(today=TODAY)
    [message] = mailoutbox
    digest = weekly_digest_figures(dealerships=[dealership], today=TODAY)[dealership.pk]
    assert digest.figure("visits").values == {LAST: 0, BEFORE: 0, LAST_YEAR: 0}
    assert digest.figure("csat").last == "—"
    assert "0.00" in message.body
