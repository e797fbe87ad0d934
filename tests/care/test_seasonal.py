import datetime

import pytest
from django.core.exceptions import ValidationError

from care.kinds.seasonal import clean_params
from care.models import CareOptOut, CareTask
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory
from vehicles.models import Vehicle

D = datetime.date

WINTER = {"start": "2026-12-01", "end": "2027-01-15", "item": "冬季关怀免费检测"}


def seasonal_rule(params=None, **kwargs):
    defaults = {"lead_days": 0, "expiry_days": 30, "params": WINTER if params is None else params}
    return CareRuleFactory(kind="seasonal", **{**defaults, **kwargs})


def test_one_touch_per_car_about_the_campaign_start(customer, generate):
    rule = seasonal_rule()
    car = VehicleFactory(customer=customer)
    tasks = generate(D(2026, 12, 1))
    # Event = start 2026-12-01; expires 2026-12-01 + 30 = 2026-12-31, before the end (2027-01-15).
    assert [(t.vehicle_id, t.event_date, t.due_date, t.expires_on, t.occasion, t.subject) for t in tasks] == [
        (car.pk, D(2026, 12, 1), D(2026, 12, 1), D(2026, 12, 31), f"seasonal:{rule.pk}:2026-12-01", "冬季关怀免费检测")
    ]
    assert generate(D(2026, 12, 2)) == tasks  # rerun
    assert CareTask.objects.count() == 1


def test_days_outside_the_window_create_nothing(customer, generate):
    # lead_days 7 would put the due date before the start: still nothing before it.
    seasonal_rule(params={**WINTER, "end": "2026-12-20"}, lead_days=7, expiry_days=10)
    VehicleFactory(customer=customer)
    assert generate(D(2026, 11, 30)) == []
    assert generate(D(2026, 12, 21)) == []
    assert not CareTask.objects.exists()


def test_expiry_is_clamped_to_the_campaign_end(customer, generate):
    # A 10-day campaign (2026-12-01 … 2026-12-10) under a 30-day expiry: the
    # event moves back to 2026-12-10 - 30 days = 2026-11-10, so the touch
    # expires on 2026-12-10, the last day of the campaign.
    rule = seasonal_rule(params={**WINTER, "end": "2026-12-10"}, expiry_days=30)
    VehicleFactory(customer=customer)
    tasks = generate(D(2026, 12, 5))
    assert [(t.event_date, t.expires_on, t.occasion) for t in tasks] == [
        (D(2026, 11, 10), D(2026, 12, 10), f"seasonal:{rule.pk}:2026-12-01")
    ]
    assert generate(D(2026, 12, 11)) == []
    assert CareTask.objects.get().outcome == "expired"


def test_segment(dealership, generate):
    seasonal_rule(
        params={
            **WINTER,
            "segment": {
                "usage": ["private"],
                "energy": ["electric"],
                "brands": ["比亚迪"],
                "cities": ["上海"],
                "min_age_years": 1,
                "max_age_years": 3,
            },
        }
    )
    electric = VehicleModelFactory(brand="比亚迪", energy="electric")
    petrol = VehicleModelFactory(brand="比亚迪", energy="petrol")
    other_brand = VehicleModelFactory(brand="特斯拉", energy="electric")
    shanghai = CustomerFactory(dealership=dealership, city="上海")
    suzhou = CustomerFactory(dealership=dealership, city="苏州")

    def car(**kwargs):
        return VehicleFactory(**{"customer": shanghai, "model": electric, "purchase_date": D(2024, 6, 1), **kwargs})

    # Ages at the start, 2026-12-01: bought 2025-12-01 is 1 year (in);
    # 2025-12-02 is 0 (out); 2022-12-02 is 3 years (in); 2022-12-01 is 4 (out).
    wanted = [car(), car(purchase_date=D(2025, 12, 1)), car(purchase_date=D(2022, 12, 2))]
    car(purchase_date=D(2025, 12, 2))
    car(purchase_date=D(2022, 12, 1))
    car(model=petrol)
    car(model=other_brand)
    car(customer=suzhou)
    car(usage=Vehicle.Usage.COMMERCIAL)
    assert sorted(t.vehicle_id for t in generate(D(2026, 12, 1))) == sorted(c.pk for c in wanted)


def test_eligibility(customer, dealership, other_dealership, generate):
    rule = seasonal_rule(dealership=other_dealership)
    car = VehicleFactory(customer=customer)
    VehicleFactory(customer=customer, status=Vehicle.Status.SOLD)
    assert generate(D(2026, 12, 1)) == []  # another store's rule

    rule.dealership = dealership
    rule.save()
    assert [t.vehicle_id for t in generate(D(2026, 12, 1))] == [car.pk]  # the sold car is skipped

    CareTask.objects.all().delete()
    CareOptOut.objects.create(customer=customer, kind="seasonal", reason="不参加活动")
    assert generate(D(2026, 12, 1)) == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {**WINTER, "start": "2026-13-01"},
        {**WINTER, "end": "2026-11-30"},
        {**WINTER, "item": ""},
        {**WINTER, "segment": {"citys": ["上海"]}},  # a typo must not widen the campaign to everyone
        {**WINTER, "segment": {"usage": "private"}},
        {**WINTER, "segment": {"energy": ["diesel"]}},
        {**WINTER, "segment": {"min_age_years": 5, "max_age_years": 2}},
        {**WINTER, "segment": {"max_age_years": -1}},
        "not an object",
    ],
)
def test_invalid_params_create_nothing(customer, generate, params):
    seasonal_rule(params=params)
    VehicleFactory(customer=customer)
    with pytest.raises(ValidationError):
        clean_params(params)
    assert generate(D(2026, 12, 1)) == []


def test_clean_params_accepts_the_default_rule():
    campaign = clean_params({**WINTER, "segment": {}})
    assert (campaign.start, campaign.end, campaign.item) == (D(2026, 12, 1), D(2027, 1, 15), "冬季关怀免费检测")
