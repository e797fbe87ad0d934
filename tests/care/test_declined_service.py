import datetime
from decimal import Decimal

import pytest

from care.models import CareOptOut, CareTask
from service.models import RepairLine, RepairOrder
from tests.care.conftest import SH, add_visit
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle

D = datetime.date


def declined_rule(**kwargs):
    defaults = {"lead_days": 0, "expiry_days": 30, "params": {"delay_days": 30}}
    return CareRuleFactory(kind="declined_service", **{**defaults, **kwargs})


def decline(order, description="更换前刹车片", quoted="680.00") -> RepairLine:
    return RepairLine.objects.create(
        repair_order=order, description=description, quoted_amount=Decimal(quoted), status=RepairLine.Status.DECLINED
    )


def test_declined_work_comes_back_after_30_days_with_subject_and_amount(customer, generate):
    declined_rule()
    car = VehicleFactory(customer=customer)
    order = add_visit(car, "M-1", "maintenance", D(2026, 5, 1), 10000)
    line = decline(order)
    RepairLine.objects.create(repair_order=order, description="机油机滤", amount=Decimal("450.00"))  # done

    # Closed 2026-05-01 + 30 days = 2026-05-31.
    assert generate(D(2026, 5, 30)) == []
    tasks = generate(D(2026, 5, 31))
    # Expires 2026-05-31 + 30 = 2026-06-30.
    assert [
        (t.vehicle_id, t.event_date, t.expires_on, t.occasion, t.subject, t.amount, t.repair_order_id) for t in tasks
    ] == [(car.pk, D(2026, 5, 31), D(2026, 6, 30), f"declined:{line.pk}", "更换前刹车片", Decimal("680.00"), order.pk)]
    assert generate(D(2026, 6, 1)) == tasks  # rerun: nothing new
    assert CareTask.objects.count() == 1


def test_open_order_counts_from_its_opening_date(customer, generate):
    declined_rule()
    car = VehicleFactory(customer=customer)
    order = RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        number="R-9",
        kind="repair",
        opened_at=datetime.datetime(2026, 5, 10, 9, tzinfo=SH),
        mileage=5000,
    )
    decline(order)
    # Still open: 2026-05-10 (opened) + 30 = 2026-06-09.
    assert [t.event_date for t in generate(D(2026, 6, 9))] == [D(2026, 6, 9)]


def test_work_done_later_or_declined_again_is_not_offered(customer, generate):
    declined_rule()
    car = VehicleFactory(customer=customer)
    first = add_visit(car, "M-1", "maintenance", D(2026, 5, 1), 10000)
    brakes = decline(first, "更换前刹车片")
    decline(first, "四轮定位", "298.00")
    decline(first, "更换雨刮", "120.00")
    # Brakes done on a later visit: no point in offering them.
    later = add_visit(car, "R-2", "repair", D(2026, 5, 20), 11000)
    RepairLine.objects.create(repair_order=later, description="更换前刹车片", amount=Decimal("680.00"))
    # Alignment declined again later: the later refusal is followed up instead.
    again = decline(later, "四轮定位", "268.00")

    # 2026-05-01 + 30 = 2026-05-31: only the wipers of the first visit.
    assert [t.subject for t in generate(D(2026, 5, 31))] == ["更换雨刮"]
    # 2026-05-20 + 30 = 2026-06-19: the second refusal of the alignment, its quote.
    tasks = generate(D(2026, 6, 19))
    assert [(t.subject, t.amount, t.occasion) for t in tasks if t.subject == "四轮定位"] == [
        ("四轮定位", Decimal("268.00"), f"declined:{again.pk}")
    ]
    assert not CareTask.objects.filter(occasion=f"declined:{brakes.pk}").exists()


def test_eligibility(customer, dealership, other_dealership, generate):
    rule = declined_rule(dealership=other_dealership)
    car = VehicleFactory(customer=customer)
    sold = VehicleFactory(customer=customer)
    decline(add_visit(car, "M-1", "maintenance", D(2026, 5, 1), 10000))
    decline(add_visit(sold, "M-2", "maintenance", D(2026, 5, 1), 10000))
    Vehicle.objects.filter(pk=sold.pk).update(status=Vehicle.Status.SOLD)
    assert generate(D(2026, 5, 31)) == []  # another store's rule

    rule.dealership = dealership
    rule.save()
    assert [t.vehicle_id for t in generate(D(2026, 5, 31))] == [car.pk]  # sold car skipped

    CareTask.objects.all().delete()
    CareOptOut.objects.create(customer=customer, kind="declined_service", channel="call", reason="不需要")
    assert generate(D(2026, 5, 31)) == []


def test_a_visit_after_the_touch_fulfils_it(customer, generate):
    declined_rule()
    car = VehicleFactory(customer=customer)
    decline(add_visit(car, "M-1", "maintenance", D(2026, 5, 1), 10000))
    assert len(generate(D(2026, 5, 31))) == 1
    add_visit(car, "R-2", "repair", D(2026, 6, 3), 11000)
    assert generate(D(2026, 6, 4)) == []
    assert CareTask.objects.get().outcome == "fulfilled"


@pytest.mark.parametrize("params", [{"delay_days": "30"}, {"delay_days": True}, ["delay_days"]])
def test_invalid_params_create_nothing(customer, generate, params):
    declined_rule(params=params)
    decline(add_visit(VehicleFactory(customer=customer), "M-1", "maintenance", D(2026, 5, 1), 10000))
    assert generate(D(2026, 5, 31)) == []
