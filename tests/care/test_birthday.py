"""Birthday touches. Every lunar date below is worked out by hand from the
almanac, never by the code under test:

- Spring Festival (lunar 1/1) is 2026-02-17 and 2027-02-06.
- Lunar 2025 has a leap 6th month: ordinary 6/01 is 2025-06-25, leap 6/01 is 2025-07-25.
- Lunar 2026 has no leap month; its months have 30, 29, 30, 29, 29, 30, 29, 29,
  30, 30, 30, 29 days, so its 12th month starts 2027-02-06 - 29 days = 2027-01-08.
"""

import datetime

from care.engine.services import care_tasks_generate
from care.models import CareTask
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory

D = datetime.date


def birthday_rule(**kwargs):
    return CareRuleFactory(**{"kind": "birthday", "channel": "sms", "lead_days": 0, "expiry_days": 0, **kwargs})


def summary(tasks):
    return [(t.customer_id, t.event_date, t.due_date, t.expires_on, t.occasion, t.subject) for t in tasks]


def test_solar_birthday_is_a_touch_on_the_day(dealership, advisor, generate):
    rule = birthday_rule()
    ann = CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1985, 3, 12))
    CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1985, 3, 13))
    CustomerFactory(dealership=dealership, advisor=advisor)  # no birthday known

    assert generate(D(2026, 3, 11)) == []
    tasks = generate(D(2026, 3, 12))
    assert summary(tasks) == [(ann.pk, D(2026, 3, 12), D(2026, 3, 12), D(2026, 3, 12), "birthday-solar:2026", "生日")]
    assert (tasks[0].rule_id, tasks[0].kind, tasks[0].channel, tasks[0].assigned_to_id) == (
        rule.pk,
        "birthday",
        "sms",
        advisor.pk,
    )


def test_lead_and_expiry_days_frame_the_birthday(dealership, advisor, generate):
    birthday_rule(name="call ahead", lead_days=3, expiry_days=2)
    ann = CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1985, 3, 12))
    # 2026-03-12 - 3 days = 2026-03-09 (contact); + 2 days = 2026-03-14 (expiry).
    assert generate(D(2026, 3, 8)) == []
    assert summary(generate(D(2026, 3, 9))) == [
        (ann.pk, D(2026, 3, 12), D(2026, 3, 9), D(2026, 3, 14), "birthday-solar:2026", "生日")
    ]


def test_29_february_is_celebrated_on_28_february_in_a_common_year(dealership, advisor, generate):
    birthday_rule()
    leapling = CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1992, 2, 29))
    # 2027 is not a leap year (2027 / 4 = 506.75): 28 February it is.
    tasks = generate(D(2027, 2, 28))
    assert [(t.customer_id, t.event_date, t.occasion) for t in tasks] == [
        (leapling.pk, D(2027, 2, 28), "birthday-solar:2027")
    ]
    assert generate(D(2027, 3, 1)) == []  # expired the same evening (expiry 0)
    # 2028 is a leap year: the real day, and nothing on the 28th.
    assert generate(D(2028, 2, 28)) == []
    tasks = generate(D(2028, 2, 29))
    assert [(t.event_date, t.occasion) for t in tasks] == [(D(2028, 2, 29), "birthday-solar:2028")]


def test_leap_and_ordinary_sixth_month_births_differ_in_2025(dealership, advisor, generate):
    birthday_rule()
    ordinary = CustomerFactory(dealership=dealership, advisor=advisor, lunar_birthday_month=6, lunar_birthday_day=10)
    leap = CustomerFactory(
        dealership=dealership,
        advisor=advisor,
        lunar_birthday_month=6,
        lunar_birthday_day=10,
        lunar_birthday_leap=True,
    )
    # Ordinary 6/01 is 2025-06-25, so 6/10 is 2025-06-25 + 9 = 2025-07-04.
    tasks = generate(D(2025, 7, 4))
    assert summary(tasks) == [
        (ordinary.pk, D(2025, 7, 4), D(2025, 7, 4), D(2025, 7, 4), "birthday-lunar:2025", "农历生日")
    ]
    # Leap 6/01 is 2025-07-25, so leap 6/10 is 2025-07-25 + 9 = 2025-08-03.
    tasks = generate(D(2025, 8, 3))
    assert [(t.customer_id, t.event_date, t.occasion) for t in tasks] == [
        (leap.pk, D(2025, 8, 3), "birthday-lunar:2025")
    ]


def test_leap_month_birth_uses_the_ordinary_month_in_a_year_without_it(dealership, advisor, generate):
    birthday_rule()
    leap = CustomerFactory(
        dealership=dealership,
        advisor=advisor,
        lunar_birthday_month=6,
        lunar_birthday_day=10,
        lunar_birthday_leap=True,
    )
    # Lunar 2026 has no leap month. Its 6th month starts 2026-02-17 + 30 + 29
    # + 30 + 29 + 29 days = 2026-02-17 + 147 = 2026-07-14; 6/10 is 2026-07-23.
    tasks = generate(D(2026, 7, 23))
    assert [(t.customer_id, t.event_date, t.occasion) for t in tasks] == [
        (leap.pk, D(2026, 7, 23), "birthday-lunar:2026")
    ]


def test_day_30_in_a_29_day_month_is_celebrated_on_day_29(dealership, advisor, generate):
    birthday_rule()
    born_30th = CustomerFactory(dealership=dealership, advisor=advisor, lunar_birthday_month=2, lunar_birthday_day=30)
    born_29th = CustomerFactory(dealership=dealership, advisor=advisor, lunar_birthday_month=2, lunar_birthday_day=29)
    # The 2nd month of lunar 2026 has 29 days: it starts 2026-02-17 + 30 =
    # 2026-03-19, so its last day, 2/29, is 2026-03-19 + 28 = 2026-04-16 and
    # 3/01 is 2026-04-17. Both customers are greeted on 2026-04-16.
    assert generate(D(2026, 4, 17)) == []
    tasks = generate(D(2026, 4, 16))
    assert [(t.customer_id, t.event_date, t.occasion) for t in tasks] == [
        (born_30th.pk, D(2026, 4, 16), "birthday-lunar:2026"),
        (born_29th.pk, D(2026, 4, 16), "birthday-lunar:2026"),
    ]


def test_lunar_birthday_of_the_12th_month_belongs_to_the_previous_lunar_year(dealership, advisor, generate):
    birthday_rule(name="ten days ahead", lead_days=10)
    winter = CustomerFactory(dealership=dealership, advisor=advisor, lunar_birthday_month=12, lunar_birthday_day=1)
    eve = CustomerFactory(dealership=dealership, advisor=advisor, lunar_birthday_month=12, lunar_birthday_day=30)
    # Lunar 2026's 12th month starts 2027-01-08 (2027-02-06 - 29 days): the
    # first customer's lunar-2026 birthday is in solar 2027, and a run on
    # 2026-12-29 (2027-01-08 - 10 days) sees it across the solar year boundary.
    assert generate(D(2026, 12, 28)) == []
    tasks = generate(D(2026, 12, 29))
    assert summary(tasks) == [
        (winter.pk, D(2027, 1, 8), D(2026, 12, 29), D(2027, 1, 8), "birthday-lunar:2026", "农历生日")
    ]
    # That 12th month has 29 days: the 30th-born is greeted on 12/29, Spring
    # Festival's eve, 2027-02-05 (contact 2027-01-26), still lunar year 2026.
    tasks = generate(D(2027, 1, 26))
    assert [(t.customer_id, t.event_date, t.occasion) for t in tasks] == [
        (eve.pk, D(2027, 2, 5), "birthday-lunar:2026")
    ]


def test_spring_festival_birthday_starts_the_new_lunar_year(dealership, advisor, generate):
    birthday_rule()
    born = CustomerFactory(dealership=dealership, advisor=advisor, lunar_birthday_month=1, lunar_birthday_day=1)
    tasks = generate(D(2027, 2, 6))
    assert [(t.customer_id, t.event_date, t.occasion) for t in tasks] == [
        (born.pk, D(2027, 2, 6), "birthday-lunar:2027")
    ]


def test_both_birthdays_known_give_two_touches(dealership, advisor, generate):
    birthday_rule()
    # Solar 20 May; lunar 4/04. Lunar 2026's 4th month starts 2026-02-17 +
    # 30 + 29 + 30 = 2026-05-17, so 4/04 is 2026-05-20 too: two touches the same day.
    both = CustomerFactory(
        dealership=dealership, advisor=advisor, birthday=D(1990, 5, 20), lunar_birthday_month=4, lunar_birthday_day=4
    )
    tasks = generate(D(2026, 5, 20))
    assert sorted((t.customer_id, t.event_date, t.occasion, t.subject) for t in tasks) == [
        (both.pk, D(2026, 5, 20), "birthday-lunar:2026", "农历生日"),
        (both.pk, D(2026, 5, 20), "birthday-solar:2026", "生日"),
    ]


def test_both_birthdays_on_different_days(dealership, advisor, generate):
    birthday_rule(name="a week to act", expiry_days=7)
    # Solar 2026-05-15; lunar 4/04 is 2026-05-20 (see above).
    both = CustomerFactory(
        dealership=dealership, advisor=advisor, birthday=D(1990, 5, 15), lunar_birthday_month=4, lunar_birthday_day=4
    )
    assert [t.occasion for t in generate(D(2026, 5, 15))] == ["birthday-solar:2026"]
    # Both still open on the 20th (the solar one expires 2026-05-22).
    tasks = generate(D(2026, 5, 20))
    assert [(t.customer_id, t.event_date, t.occasion) for t in tasks] == [
        (both.pk, D(2026, 5, 15), "birthday-solar:2026"),
        (both.pk, D(2026, 5, 20), "birthday-lunar:2026"),
    ]


def test_params_switch_the_lunar_birthday_off(dealership, advisor, generate):
    birthday_rule(params={"lunar": False})
    both = CustomerFactory(
        dealership=dealership, advisor=advisor, birthday=D(1990, 5, 20), lunar_birthday_month=4, lunar_birthday_day=4
    )
    CustomerFactory(dealership=dealership, advisor=advisor, lunar_birthday_month=4, lunar_birthday_day=4)
    tasks = generate(D(2026, 5, 20))
    assert [(t.customer_id, t.occasion) for t in tasks] == [(both.pk, "birthday-solar:2026")]


def test_params_switch_the_solar_birthday_off(dealership, advisor, generate):
    birthday_rule(params={"solar": False})
    both = CustomerFactory(
        dealership=dealership, advisor=advisor, birthday=D(1990, 5, 20), lunar_birthday_month=4, lunar_birthday_day=4
    )
    tasks = generate(D(2026, 5, 20))
    assert [(t.customer_id, t.occasion) for t in tasks] == [(both.pk, "birthday-lunar:2026")]


def test_tiers_and_opt_outs_are_respected(dealership, advisor, generate):
    from care.models import CareOptOut

    birthday_rule(target_tiers="AB")
    kept = CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1990, 5, 20), value_tier="A")
    CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1990, 5, 20), value_tier="C")
    opted = CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1990, 5, 20))
    CareOptOut.objects.create(customer=opted, kind="birthday", reason="不需要")
    assert [t.customer_id for t in generate(D(2026, 5, 20))] == [kept.pk]


def test_a_rerun_creates_nothing(dealership, advisor, generate):
    birthday_rule()
    CustomerFactory(
        dealership=dealership, advisor=advisor, birthday=D(1990, 5, 20), lunar_birthday_month=4, lunar_birthday_day=4
    )
    first = care_tasks_generate(day=D(2026, 5, 20))
    again = care_tasks_generate(day=D(2026, 5, 20))
    assert (first.created, again.total_created) == ({"birthday": 2}, 0)
    assert CareTask.objects.count() == 2
