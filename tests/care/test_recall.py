import datetime

from care.models import CareOptOut, CareTask, RecallCampaign, RecallVehicle
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle

D = datetime.date
JUNE_1, DEC_31 = D(2026, 6, 1), D(2026, 12, 31)


def recall_rule(**kwargs):
    defaults = {"lead_days": 0, "expiry_days": 90}
    return CareRuleFactory(kind="recall", **{**defaults, **kwargs})


def campaign(code="R2026-01", vins=(), start=JUNE_1, end=DEC_31, **kwargs) -> RecallCampaign:
    result = RecallCampaign.objects.create(
        code=code, title=f"{code} 燃油泵召回", start_date=start, end_date=end, **kwargs
    )
    RecallVehicle.objects.bulk_create(RecallVehicle(campaign=result, vin=vin) for vin in vins)
    return result


def test_only_listed_and_uncompleted_vins(customer, generate):
    recall_rule()
    listed, done = VehicleFactory(customer=customer), VehicleFactory(customer=customer)
    VehicleFactory(customer=customer)  # ours, but not on the list
    recall = campaign(vins=[listed.vin, done.vin, "LSVAB2AT0NS999999"])  # one VIN is not ours
    RecallVehicle.objects.filter(vin=done.vin).update(completed_on=D(2026, 6, 2))

    assert generate(D(2026, 5, 31)) == []  # before the start
    tasks = generate(D(2026, 6, 10))
    # Event = start 2026-06-01; lead 0: due 2026-06-01; expires 2026-06-01 + 90 = 2026-08-30.
    assert [(t.vehicle_id, t.event_date, t.due_date, t.expires_on, t.occasion, t.subject) for t in tasks] == [
        (listed.pk, D(2026, 6, 1), D(2026, 6, 1), D(2026, 8, 30), "recall:R2026-01", recall.title)
    ]
    assert generate(D(2026, 6, 11)) == tasks  # rerun
    assert CareTask.objects.count() == 1


def test_two_campaigns_for_one_car_are_two_touches(customer, generate):
    recall_rule()
    car = VehicleFactory(customer=customer)
    campaign("R-A", vins=[car.vin])
    campaign("R-B", vins=[car.vin], start=D(2026, 6, 5))
    tasks = generate(D(2026, 6, 10))
    assert sorted((t.occasion, t.event_date) for t in tasks) == [
        ("recall:R-A", D(2026, 6, 1)),
        ("recall:R-B", D(2026, 6, 5)),
    ]


def test_campaign_outside_its_dates_creates_nothing(customer, generate):
    recall_rule()
    car = VehicleFactory(customer=customer)
    campaign(vins=[car.vin], start=D(2026, 6, 1), end=D(2026, 6, 30))
    assert generate(D(2026, 7, 1)) == []


def test_a_store_campaign_reaches_only_that_stores_customers(customer, dealership, other_dealership, generate):
    recall_rule()
    ours = VehicleFactory(customer=customer)
    theirs = VehicleFactory(customer=CustomerFactory(dealership=other_dealership))
    campaign(vins=[ours.vin, theirs.vin], dealership=other_dealership)
    assert [t.vehicle_id for t in generate(D(2026, 6, 10))] == [theirs.pk]
    assert CareTask.objects.get().dealership_id == other_dealership.pk


def test_eligibility(customer, dealership, other_dealership, generate):
    rule = recall_rule(dealership=other_dealership)
    car = VehicleFactory(customer=customer)
    sold = VehicleFactory(customer=customer, status=Vehicle.Status.SOLD)
    campaign(vins=[car.vin, sold.vin])
    assert generate(D(2026, 6, 10)) == []  # another store's rule

    rule.dealership = dealership
    rule.save()
    tasks = generate(D(2026, 6, 10))
    assert [(t.vehicle_id, t.customer_id, t.dealership_id) for t in tasks] == [(car.pk, customer.pk, dealership.pk)]

    CareTask.objects.all().delete()
    CareOptOut.objects.create(customer=customer, kind="recall", reason="已在别处处理")
    assert generate(D(2026, 6, 10)) == []


def test_recall_recorded_as_completed_closes_the_touch(customer, generate):
    from care.models import CareTask, RecallCampaign, RecallVehicle
    from tests.care.factories import CareRuleFactory
    from tests.vehicles.factories import VehicleFactory

    CareRuleFactory(kind="recall", lead_days=0, expiry_days=90)
    car = VehicleFactory(customer=customer)
    campaign = RecallCampaign.objects.create(
        code="R-2026-01", title="燃油泵召回", start_date=D(2026, 11, 1), end_date=D(2027, 2, 1)
    )
    listed = RecallVehicle.objects.create(campaign=campaign, vin=car.vin)
    assert len(generate(D(2026, 11, 2))) == 1
    listed.completed_on = D(2026, 11, 5)
    listed.save()
    assert generate(D(2026, 11, 6)) == []
    assert CareTask.objects.get().outcome == "fulfilled"
