"""Festival touches. Every date below is worked out by hand from the almanac
and the weekday of 1 January, never by the code under test:

- Spring Festival (lunar 1/1) is 2026-02-17 and 2027-02-06. Lunar 2026's
  months have 30, 29, 30, 29, 29, 30, 29, 29, 30, … days.
- 2026-01-01 is a Thursday, 2027-01-01 a Friday.
"""

import datetime

from care.engine.services import care_tasks_generate
from care.models import CareTask
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory

D = datetime.date


def holiday_rule(**kwargs):
    return CareRuleFactory(**{"kind": "holiday", "channel": "sms", "lead_days": 0, "expiry_days": 0, **kwargs})


def test_spring_festival_2027_is_generated_across_the_year_boundary(dealership, advisor, generate):
    holiday_rule(lead_days=37, params={"festivals": ["spring_festival"]})
    customer = CustomerFactory(dealership=dealership, advisor=advisor)
    # 2026-12-31 + 31 days = 2027-01-31, + 6 = 2027-02-06: 37 days ahead.
    assert generate(D(2026, 12, 30)) == []
    tasks = generate(D(2026, 12, 31))
    assert [(t.customer_id, t.event_date, t.due_date, t.expires_on, t.occasion, t.subject) for t in tasks] == [
        (customer.pk, D(2027, 2, 6), D(2026, 12, 31), D(2027, 2, 6), "holiday:spring_festival:2027", "春节")
    ]


def test_every_festival_in_the_window_is_its_own_touch(dealership, advisor, generate):
    holiday_rule(lead_days=37)
    customer = CustomerFactory(dealership=dealership, advisor=advisor)
    # The window of a run on 2026-12-31 is 2026-12-31 … 2027-02-06: New Year's
    # Day (contact due 2027-01-01 - 37 days = 2026-11-25, still open until the
    # day itself) and Spring Festival; Lantern (lunar 1/15, 2027-02-20) is not.
    tasks = generate(D(2026, 12, 31))
    assert sorted((t.customer_id, t.event_date, t.due_date, t.occasion, t.subject) for t in tasks) == [
        (customer.pk, D(2027, 1, 1), D(2026, 11, 25), "holiday:new_year:2027", "元旦"),
        (customer.pk, D(2027, 2, 6), D(2026, 12, 31), "holiday:spring_festival:2027", "春节"),
    ]


def test_mid_autumn_2026_greets_everyone(dealership, advisor, generate):
    holiday_rule()
    man = CustomerFactory(dealership=dealership, advisor=advisor, gender="male")
    woman = CustomerFactory(dealership=dealership, advisor=advisor, gender="female")
    teacher = CustomerFactory(dealership=dealership, advisor=advisor, gender="unknown", occupation="teacher")
    # Lunar 2026's 8th month starts 2026-02-17 + 30+29+30+29+29+30+29 (206)
    # days = 2026-09-11, so 8/15 is 2026-09-25.
    assert generate(D(2026, 9, 24)) == []
    tasks = generate(D(2026, 9, 25))
    assert [(t.customer_id, t.event_date, t.occasion, t.subject) for t in tasks] == [
        (man.pk, D(2026, 9, 25), "holiday:mid_autumn:2026", "中秋节"),
        (woman.pk, D(2026, 9, 25), "holiday:mid_autumn:2026", "中秋节"),
        (teacher.pk, D(2026, 9, 25), "holiday:mid_autumn:2026", "中秋节"),
    ]


def test_mothers_day_2027_is_only_for_women(dealership, advisor, generate):
    holiday_rule()
    CustomerFactory(dealership=dealership, advisor=advisor, gender="male")
    woman = CustomerFactory(dealership=dealership, advisor=advisor, gender="female")
    CustomerFactory(dealership=dealership, advisor=advisor, gender="unknown")
    # 2027-05-01 is 120 days (17 weeks + 1) after Friday 2027-01-01: a
    # Saturday. Sundays 2 and 9 May: Mother's Day is 2027-05-09.
    assert generate(D(2027, 5, 2)) == []
    tasks = generate(D(2027, 5, 9))
    assert [(t.customer_id, t.event_date, t.occasion, t.subject) for t in tasks] == [
        (woman.pk, D(2027, 5, 9), "holiday:mothers_day:2027", "母亲节")
    ]


def test_dragon_boat_and_fathers_day_2026_in_one_window(dealership, advisor, generate):
    holiday_rule(lead_days=2)
    man = CustomerFactory(dealership=dealership, advisor=advisor, gender="male")
    woman = CustomerFactory(dealership=dealership, advisor=advisor, gender="female")
    # Dragon Boat: lunar 2026's 5th month starts 2026-02-17 + 30+29+30+29
    # (118) days = 2026-06-15, so 5/05 is 2026-06-19.
    # Father's Day: 2026-06-01 is 151 days (21 weeks + 4) after Thursday
    # 2026-01-01, a Monday; Sundays 7, 14, 21 June: the third is 2026-06-21.
    # A run on 2026-06-19 with a 2-day lead sees both; only the man gets both.
    tasks = generate(D(2026, 6, 19))
    assert sorted((t.customer_id, t.event_date, t.occasion) for t in tasks) == sorted(
        [
            (man.pk, D(2026, 6, 19), "holiday:dragon_boat:2026"),
            (man.pk, D(2026, 6, 21), "holiday:fathers_day:2026"),
            (woman.pk, D(2026, 6, 19), "holiday:dragon_boat:2026"),
        ]
    )


def test_teachers_day_is_only_for_teachers(dealership, advisor, generate):
    holiday_rule()
    teacher = CustomerFactory(dealership=dealership, advisor=advisor, occupation="teacher")
    CustomerFactory(dealership=dealership, advisor=advisor, occupation="doctor")
    CustomerFactory(dealership=dealership, advisor=advisor)
    tasks = generate(D(2026, 9, 10))
    assert [(t.customer_id, t.event_date, t.occasion, t.subject) for t in tasks] == [
        (teacher.pk, D(2026, 9, 10), "holiday:teachers_day:2026", "教师节")
    ]


def test_double_ninth_is_for_customers_60_or_older(dealership, advisor, generate):
    holiday_rule()
    sixty_today = CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1966, 10, 18))
    older = CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1950, 1, 1))
    CustomerFactory(dealership=dealership, advisor=advisor, birthday=D(1966, 10, 19))  # 60 tomorrow
    CustomerFactory(dealership=dealership, advisor=advisor)  # age unknown
    # Lunar 2026's 9th month starts 2026-02-17 + 235 days (the first eight
    # months) = 2026-10-10, so 9/09 is 2026-10-18.
    tasks = generate(D(2026, 10, 18))
    assert [(t.customer_id, t.event_date, t.occasion, t.subject) for t in tasks] == [
        (sixty_today.pk, D(2026, 10, 18), "holiday:double_ninth:2026", "重阳节"),
        (older.pk, D(2026, 10, 18), "holiday:double_ninth:2026", "重阳节"),
    ]


def test_qingming_follows_the_solar_term(dealership, advisor, generate):
    holiday_rule()
    customer = CustomerFactory(dealership=dealership, advisor=advisor)
    # The almanac puts the 清明 term on 5 April in 2026.
    assert generate(D(2026, 4, 4)) == []
    tasks = generate(D(2026, 4, 5))
    assert [(t.customer_id, t.occasion, t.subject) for t in tasks] == [(customer.pk, "holiday:qingming:2026", "清明节")]


def test_tier_a_gets_the_richer_greeting(dealership, advisor, generate):
    holiday_rule()
    vip = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="A")
    regular = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="B")
    tasks = generate(D(2026, 10, 1))
    assert [(t.customer_id, t.occasion, t.subject) for t in tasks] == [
        (vip.pk, "holiday:national_day:2026", "国庆节 · 电子贺卡+礼品卡"),
        (regular.pk, "holiday:national_day:2026", "国庆节"),
    ]


def test_the_richer_greeting_is_configurable(dealership, advisor, generate):
    holiday_rule(name="custom gift", params={"tier_a_subject_suffix": "电子贺卡+月饼礼盒"})
    holiday_rule(name="plain", params={"tier_a_subject_suffix": ""})
    CustomerFactory(dealership=dealership, advisor=advisor, value_tier="A")
    tasks = generate(D(2026, 9, 25))
    assert sorted(t.subject for t in tasks) == ["中秋节", "中秋节 · 电子贺卡+月饼礼盒"]


def test_festivals_param_limits_the_greetings(dealership, advisor, generate):
    holiday_rule(params={"festivals": ["national_day", "no_such_festival"]})
    woman = CustomerFactory(dealership=dealership, advisor=advisor, gender="female")
    assert generate(D(2026, 3, 8)) == []  # Women's Day not chosen
    assert [t.occasion for t in generate(D(2026, 10, 1))] == ["holiday:national_day:2026"]
    assert CareTask.objects.get().customer_id == woman.pk


def test_an_empty_festival_list_greets_nobody(dealership, advisor, generate):
    holiday_rule(params={"festivals": []})
    CustomerFactory(dealership=dealership, advisor=advisor)
    assert generate(D(2026, 10, 1)) == []


def test_a_rerun_creates_nothing(dealership, advisor, generate):
    holiday_rule(lead_days=37)
    CustomerFactory(dealership=dealership, advisor=advisor)
    first = care_tasks_generate(day=D(2026, 12, 31))
    again = care_tasks_generate(day=D(2026, 12, 31))
    assert (first.created, again.total_created) == ({"holiday": 2}, 0)
    assert CareTask.objects.count() == 2
