"""The demo generator: believable, valid, deterministic, and quick.

Expected values are worked out here (ID birth dates read off the digits, the
lunar calendar asked of lunar_python directly, churn boundaries counted by
hand), never by calling the generator's own helpers. Tiers and churn states
come from the nightly recompute, which the generator runs over a year of
history: the tests check that they agree with it.
"""

import datetime
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from lunar_python import Solar

from analytics.services import tiers_recompute
from complaints.models import Complaint, ComplaintEvent
from crm.models import Dealership, User
from crm.validators import validate_id_number, validate_mobile, validate_plate, validate_vin
from customers.models import ChurnEvent, Customer, TierChange, TierSnapshot
from demo.services import demo_reset, inspection_due, lunar_birthday, next_anniversary, seed_demo
from loyalty.models import (
    BenefitUse,
    CardEvent,
    ClubEvent,
    EventRegistration,
    MembershipCard,
    PointsEntry,
    Referral,
)
from service.models import Appointment, RepairLine, RepairOrder, Technician
from vehicles.models import MileageReading, Vehicle, VehicleModel

TODAY = datetime.date(2025, 6, 15)
N = 60
SEED = 7


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker):
    """The seed, once for the module (each test's own writes roll back to it), rolled back after it.
    Tests that need an empty database live in test_seed_demo_runs.py."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield seed_demo(customers=N, seed=SEED, today=TODAY)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def seeded(seeded_once, db):
    return seeded_once


def local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def snapshot() -> dict[str, list[tuple]]:
    """Natural fields of every generated row, in an order that does not depend on pks."""
    return {
        "dealerships": sorted(Dealership.objects.values_list("code", "name", "booking_phone", "rescue_phone")),
        "users": sorted(
            User.objects.values_list("username", "last_name", "first_name", "phone", "role", "dealership__code")
        ),
        "customers": sorted(
            Customer.objects.values_list(
                "dealership__code",
                "name",
                "phone",
                "id_number",
                "gender",
                "birthday",
                "lunar_birthday_month",
                "lunar_birthday_day",
                "lunar_birthday_leap",
                "occupation",
                "district",
                "address",
                "source",
                "advisor__username",
                "referred_by__phone",
                "marketing_consent",
                "marketing_consent_at",
                "value_tier",
                "churn_state",
                "churn_confirm_by_call",
                "tier_score",
                "last_visit_date",
                "created_at",
                "watch_reason",
                "watch_since",
                "watch_usual_days",
                "watch_days_since",
                "watch_from_tier",
            )
        ),
        "tier_snapshots": sorted(
            TierSnapshot.objects.values_list("customer__phone", "month", "tier", "churn_state", "dealership__code")
        ),
        "tier_changes": sorted(
            TierChange.objects.values_list("customer__phone", "day", "from_tier", "to_tier", "cause", "score")
        ),
        "churn_events": sorted(
            ChurnEvent.objects.values_list("customer__phone", "day", "from_state", "to_state", "recovered")
        ),
        "vehicles": sorted(
            Vehicle.objects.values_list(
                "vin",
                "plate_number",
                "customer__phone",
                "model__name",
                "purchase_date",
                "usage",
                "sold_here",
                "colour",
                "engine_number",
                "current_mileage",
                "insurance_expiry_date",
                "inspection_due_date",
                "first_maintenance_date",
                "first_maintenance_mileage",
            )
        ),
        "repair_orders": sorted(
            RepairOrder.objects.values_list(
                "dealership__code",
                "number",
                "vehicle__vin",
                "customer__phone",
                "advisor__username",
                "kind",
                "opened_at",
                "closed_at",
                "mileage",
                "payer",
                "labor_amount",
                "parts_amount",
                "total_amount",
                "work_done",
            )
        ),
        "repair_lines": sorted(
            RepairLine.objects.values_list(
                "repair_order__dealership__code",
                "repair_order__number",
                "description",
                "line_type",
                "amount",
                "quoted_amount",
                "status",
            ),
            key=repr,  # quoted_amount may be None; repr orders None and Decimal alike
        ),
        "readings": sorted(MileageReading.objects.values_list("vehicle__vin", "read_on", "mileage", "source")),
        "appointments": sorted(
            Appointment.objects.values_list("customer__phone", "vehicle__vin", "scheduled_at", "kind", "notes")
        ),
        # What the demo gained with complaints (issue 11): store hours, the
        # workshop's technicians and who worked each order, the cases and their steps.
        "store_hours": sorted(
            Dealership.objects.values_list(
                "code", "opens_at", "closes_at", "open_weekdays", "closed_on_public_holidays"
            )
        ),
        "technicians": sorted(Technician.objects.values_list("dealership__code", "code", "name", "active")),
        "repair_order_technicians": sorted(
            RepairOrder.objects.values_list("dealership__code", "number", "technician__code"), key=repr
        ),
        "complaints": sorted(
            Complaint.objects.values_list(
                "dealership__code",
                "number",
                "customer__phone",
                "repair_order__number",
                "channel",
                "category__code",
                "severity",
                "status",
                "sla_state",
                "received_at",
                "received_by__username",
                "handler__username",
                "staff_involved__username",
                "cause",
                "remedy",
                "goodwill_cost",
                "closed_at",
                "paused_at",
                "paused_minutes",
                "reopen_count",
                "resolution_due",
            ),
            key=repr,
        ),
        "complaint_events": sorted(
            ComplaintEvent.objects.values_list(
                "complaint__dealership__code", "complaint__number", "at", "action", "from_status", "to_status", "note"
            )
        ),
        # What the demo gained with the membership club (issue 12). Card
        # numbers and ledger sources hold ids, so the cards are named by their
        # customer and start instead.
        "membership_cards": sorted(
            MembershipCard.objects.values_list(
                "dealership__code",
                "customer__phone",
                "level",
                "status",
                "obtained",
                "valid_from",
                "valid_until",
                "fee_paid",
                "previous__valid_from",
                "created_at",
            ),
            key=repr,
        ),
        "card_events": sorted(
            CardEvent.objects.values_list(
                "card__customer__phone",
                "card__valid_from",
                "action",
                "from_status",
                "to_status",
                "by__username",
                "reason",
                "at",
            ),
            key=repr,
        ),
        "points_entries": sorted(
            PointsEntry.objects.values_list(
                "card__customer__phone",
                "card__valid_from",
                "points",
                "kind",
                "repair_order__number",
                "insurance_policy__premium",
                "registration__event__title",
                "referral__referred__phone",
                "reason",
                "by__username",
                "earned_on",
                "created_at",
            ),
            key=repr,
        ),
        "referrals": sorted(
            Referral.objects.values_list(
                "referrer__phone",
                "referred__phone",
                "status",
                "reward_service",
                "created_at",
                "confirmed_at",
                "rewarded_at",
            ),
            key=repr,
        ),
        "club_events": sorted(
            ClubEvent.objects.values_list("dealership__code", "title", "starts_at", "capacity", "created_at")
        ),
        "registrations": sorted(
            EventRegistration.objects.values_list(
                "event__title",
                "event__starts_at",
                "customer__phone",
                "status",
                "source",
                "registered_at",
                "attended_at",
            ),
            key=repr,
        ),
        "benefit_uses": sorted(
            BenefitUse.objects.values_list(
                "card__customer__phone", "card__valid_from", "benefit", "quantity", "card_year", "by__username", "at"
            ),
            key=repr,
        ),
    }


# --- What gets created --------------------------------------------------------------------


def test_seed_creates_stores_staff_and_exactly_n_customers(seeded):
    assert 2 <= Dealership.objects.count() <= 3
    assert Customer.objects.count() == N
    assert Vehicle.objects.count() >= N
    assert RepairOrder.objects.exists()
    assert seeded.customers == N
    assert seeded.vehicles == Vehicle.objects.count()
    assert seeded.repair_orders == RepairOrder.objects.count()
    assert seeded.repair_lines == RepairLine.objects.count()
    assert seeded.mileage_readings == MileageReading.objects.count()
    for dealership in Dealership.objects.all():
        staff = dealership.staff.all()
        assert staff.filter(role=User.Role.ADVISOR).count() == 3
        assert staff.filter(role=User.Role.MANAGER, is_staff=True).count() == 1


def test_demo_logins_work_with_the_demo_password(seeded):
    advisor = authenticate(username="advisor", password="demo1234")
    manager = authenticate(username="manager", password="demo1234")
    admin = authenticate(username="admin", password="demo1234")
    assert advisor.role == User.Role.ADVISOR
    assert manager.role == User.Role.MANAGER and manager.is_staff
    # The advisor and the manager work in the same (the first) store.
    assert advisor.dealership_id == manager.dealership_id is not None
    assert admin.role == User.Role.ADMIN and admin.dealership is None
    assert admin.is_staff and admin.is_superuser
    assert User.objects.filter(username__in=["advisor2", "manager2"]).count() == 2
    assert authenticate(username="advisor", password="wrong") is None


def test_staff_and_customers_have_chinese_names_and_unique_valid_mobiles(seeded):
    phones = list(Customer.objects.values_list("phone", flat=True))
    assert len(set(phones)) == len(phones)
    for phone in phones + list(User.objects.values_list("phone", flat=True)):
        validate_mobile(phone)
    for name in Customer.objects.values_list("name", flat=True):
        assert 2 <= len(name) <= 4 and all("\u4e00" <= char <= "\u9fff" for char in name)
    assert all(u.last_name and u.first_name for u in User.objects.all())


def test_every_customer_is_served_by_an_advisor_of_their_own_store(seeded):
    for customer in Customer.objects.select_related("advisor"):
        assert customer.advisor.role == User.Role.ADVISOR
        assert customer.advisor.dealership_id == customer.dealership_id
        assert customer.status == Customer.Status.ACTIVE


def test_vehicle_models_are_created_once_per_brand_and_name(seeded):
    names = list(VehicleModel.objects.values_list("brand", "name"))
    assert 8 <= len(names) <= 12
    assert len(set(names)) == len(names)
    assert VehicleModel.objects.filter(energy=VehicleModel.Energy.ELECTRIC).exists()


# --- Validity of the identifiers -----------------------------------------------------


def test_every_vin_is_valid(seeded):
    for vin in Vehicle.objects.values_list("vin", flat=True):
        validate_vin(vin)


def test_id_numbers_are_valid_and_agree_with_birthday_and_gender(seeded):
    with_id = 0
    for customer in Customer.objects.all():
        if not customer.id_number:
            continue
        with_id += 1
        number = customer.id_number
        validate_id_number(number)
        assert customer.birthday == datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        assert 1960 <= customer.birthday.year <= 2002
        expected = Customer.Gender.MALE if int(number[16]) % 2 else Customer.Gender.FEMALE
        assert customer.gender == expected
    # About 85% carry an ID number; the rest leave it blank.
    assert N * 0.6 < with_id < N


def test_plates_are_valid_and_new_energy_cars_have_eight_characters(seeded):
    for plate, energy in Vehicle.objects.values_list("plate_number", "model__energy"):
        validate_plate(plate)
        if energy in (VehicleModel.Energy.ELECTRIC, VehicleModel.Energy.PLUGIN):
            assert len(plate) == 8 and plate[2] in "DF"
        else:
            assert len(plate) == 7
        assert plate[0] in "沪苏"


# --- Consistency of the history -------------------------------------------------------


def test_mileage_never_decreases_and_current_mileage_is_the_latest_reading(seeded):
    readings = defaultdict(list)
    for vehicle_id, read_on, mileage, source in MileageReading.objects.order_by("read_on", "pk").values_list(
        "vehicle_id", "read_on", "mileage", "source"
    ):
        readings[vehicle_id].append((read_on, mileage, source))
    for vehicle in Vehicle.objects.all():
        history = readings[vehicle.pk]
        mileages = [mileage for _, mileage, _ in history]
        assert mileages == sorted(mileages)
        assert history[0] == (vehicle.purchase_date, history[0][1], MileageReading.Source.DELIVERY)
        assert history[0][1] <= 50
        assert (vehicle.current_mileage_date, vehicle.current_mileage) == history[-1][:2]
    orders = defaultdict(list)
    for order in RepairOrder.objects.order_by("opened_at"):
        orders[order.vehicle_id].append(order.mileage)
    assert all(m == sorted(m) for m in orders.values())
    from_orders = MileageReading.objects.filter(source=MileageReading.Source.REPAIR_ORDER)
    assert from_orders.count() == RepairOrder.objects.count()


def test_repair_orders_fall_within_the_life_of_the_car(seeded):
    for order in RepairOrder.objects.select_related("vehicle", "customer"):
        opened_on = local_date(order.opened_at)
        assert order.vehicle.purchase_date <= opened_on <= TODAY
        assert order.closed_at is None or order.opened_at <= order.closed_at
        assert order.closed_at is None or local_date(order.closed_at) <= TODAY
        assert order.customer_id == order.vehicle.customer_id
        assert order.dealership_id == order.customer.dealership_id
        if order.kind == RepairOrder.Kind.WARRANTY:
            assert opened_on <= order.vehicle.warranty_end_date
            assert order.payer == RepairOrder.Payer.MANUFACTURER
        if order.kind == RepairOrder.Kind.ACCIDENT:
            assert order.payer == RepairOrder.Payer.INSURER


def test_amounts_add_up_and_only_done_lines_are_charged(seeded):
    numbers = list(RepairOrder.objects.values_list("dealership_id", "number"))
    assert len(set(numbers)) == len(numbers)
    lines = defaultdict(list)
    for line in RepairLine.objects.all():
        lines[line.repair_order_id].append(line)
    kinds = set()
    for order in RepairOrder.objects.all():
        kinds.add(order.kind)
        assert order.total_amount == order.labor_amount + order.parts_amount > 0
        assert order.total_amount == order.total_amount.quantize(Decimal("0.01"))
        done = [line for line in lines[order.pk] if line.status == RepairLine.Status.DONE]
        assert 1 <= len(done) <= 3
        assert all(line.amount > 0 for line in done)
        for line in lines[order.pk]:
            if line.status == RepairLine.Status.DECLINED:
                assert line.amount == 0 and line.quoted_amount > 0
    assert RepairOrder.Kind.MAINTENANCE in kinds
    maintenance = RepairOrder.objects.filter(kind=RepairOrder.Kind.MAINTENANCE).count()
    assert maintenance > RepairOrder.objects.count() / 2


def test_vehicle_dates_follow_purchase_model_and_history(seeded):
    first_maintenance = {}
    for vehicle_id, opened_at in RepairOrder.objects.filter(kind=RepairOrder.Kind.MAINTENANCE).values_list(
        "vehicle_id", "opened_at"
    ):
        day = local_date(opened_at)
        first_maintenance[vehicle_id] = min(day, first_maintenance.get(vehicle_id, day))
    for vehicle in Vehicle.objects.select_related("model", "customer"):
        purchase = vehicle.purchase_date
        born = vehicle.customer.birthday
        if born:
            age_at_purchase = purchase.year - born.year - ((purchase.month, purchase.day) < (born.month, born.day))
            assert age_at_purchase >= 18
        assert TODAY - datetime.timedelta(days=8 * 366) <= purchase < TODAY
        assert vehicle.warranty_end_km == vehicle.model.warranty_km
        warranty_end, insurance = vehicle.warranty_end_date, vehicle.insurance_expiry_date
        months = (warranty_end.year - purchase.year) * 12 + warranty_end.month - purchase.month
        assert months == vehicle.model.warranty_months
        assert TODAY < insurance <= TODAY + datetime.timedelta(days=366)
        if (purchase.month, purchase.day) != (2, 29):
            assert (insurance.month, insurance.day) == (purchase.month, purchase.day)
        assert vehicle.inspection_due_date > TODAY
        assert vehicle.first_maintenance_date == first_maintenance.get(vehicle.pk)


def test_last_visit_date_is_the_latest_repair_order_of_the_customer(seeded):
    latest = {}
    for customer_id, opened_at in RepairOrder.objects.values_list("customer_id", "opened_at"):
        day = local_date(opened_at)
        latest[customer_id] = max(day, latest.get(customer_id, day))
    for customer in Customer.objects.all():
        assert customer.last_visit_date == latest.get(customer.pk)


def test_churn_state_follows_the_last_visit_as_the_recompute_counts_it(seeded):
    # The group's tier policy: at risk after 6 months, lost after 12, to the day: on
    # 2025-06-15 a last visit on 2024-12-15 is six months old, one on 2024-06-15 twelve.
    six_months_ago, a_year_ago = datetime.date(2024, 12, 15), datetime.date(2024, 6, 15)
    kept_for_the_mileage = 0
    for customer in Customer.objects.all():
        # Without a visit, the time runs from when the customer came to us.
        last = customer.last_visit_date or local_date(customer.created_at)
        if last > six_months_ago:
            expected = Customer.ChurnState.ACTIVE
        elif last > a_year_ago:
            expected = Customer.ChurnState.AT_RISK
        else:
            expected = Customer.ChurnState.LOST
        if customer.churn_confirm_by_call:
            # The car has not driven a service interval since: active, to be confirmed by a call.
            assert expected != Customer.ChurnState.ACTIVE and customer.churn_state == Customer.ChurnState.ACTIVE
            kept_for_the_mileage += 1
        else:
            assert customer.churn_state == expected, (customer.last_visit_date, customer.created_at)
    assert kept_for_the_mileage < N / 4


def test_tiers_and_churn_states_are_what_the_recompute_says(seeded):
    report = tiers_recompute(day=TODAY)
    assert (report.customers, report.tier_changes, report.churn_changes, report.watched) == (N, 0, 0, 0)


def test_lunar_birthdays_are_the_lunar_date_of_the_solar_birthday(seeded):
    customers = Customer.objects.filter(lunar_birthday_month__isnull=False)
    assert customers.count() >= 5
    for customer in customers:
        assert 1 <= customer.lunar_birthday_month <= 12
        assert 1 <= customer.lunar_birthday_day <= 30
        born = customer.birthday
        lunar = Solar.fromYmd(born.year, born.month, born.day).getLunar()
        expected = (abs(lunar.getMonth()), lunar.getDay(), lunar.getMonth() < 0)
        assert (customer.lunar_birthday_month, customer.lunar_birthday_day, customer.lunar_birthday_leap) == expected


def test_appointments_are_booked_within_the_next_fortnight(seeded):
    for appointment in Appointment.objects.select_related("customer", "vehicle"):
        assert appointment.status == Appointment.Status.BOOKED
        assert TODAY < local_date(appointment.scheduled_at) <= TODAY + datetime.timedelta(days=14)
        assert appointment.vehicle.customer_id == appointment.customer_id
        assert appointment.dealership_id == appointment.customer.dealership_id


# --- Determinism -------------------------------------------------------------------------


def test_same_seed_and_day_give_the_same_data(seeded):
    first = snapshot()

    demo_reset()
    assert not Customer.objects.exists() and not Dealership.objects.exists()
    seed_demo(customers=N, seed=SEED, today=TODAY)

    assert snapshot() == first


def test_a_different_seed_gives_different_data(seeded):
    first = snapshot()

    demo_reset()
    seed_demo(customers=N, seed=SEED + 1, today=TODAY)

    second = snapshot()
    assert second["customers"] != first["customers"]
    assert {v[0] for v in second["vehicles"]} != {v[0] for v in first["vehicles"]}


# --- Helpers, worked out by hand ---------------------------------------------------------


def test_lunar_birthday_of_known_dates():
    assert lunar_birthday(datetime.date(1990, 1, 27)) == (1, 1, False)  # Spring Festival 1990
    assert lunar_birthday(datetime.date(1990, 1, 26)) == (12, 30, False)  # its eve
    assert lunar_birthday(datetime.date(2020, 5, 23)) == (4, 1, True)  # first day of 2020's leap 4th month
    assert lunar_birthday(datetime.date(2020, 6, 21)) == (5, 1, False)  # new moon of the solar eclipse


def test_next_anniversary_is_strictly_after_the_day():
    assert next_anniversary(datetime.date(2019, 6, 15), after=TODAY) == datetime.date(2026, 6, 15)
    assert next_anniversary(datetime.date(2019, 6, 16), after=TODAY) == datetime.date(2025, 6, 16)
    assert next_anniversary(datetime.date(2020, 2, 29), after=TODAY) == datetime.date(2026, 2, 28)


def test_inspection_due_dates():
    # Private cars: first on-site inspection in year 6, then year 10.
    assert inspection_due(datetime.date(2021, 3, 1), Vehicle.Usage.PRIVATE, today=TODAY) == datetime.date(2027, 3, 1)
    assert inspection_due(datetime.date(2018, 3, 1), Vehicle.Usage.PRIVATE, today=TODAY) == datetime.date(2028, 3, 1)
    # Commercial cars: yearly, and every six months after five years.
    commercial = Vehicle.Usage.COMMERCIAL
    assert inspection_due(datetime.date(2023, 3, 1), commercial, today=TODAY) == datetime.date(2026, 3, 1)
    assert inspection_due(datetime.date(2019, 3, 1), commercial, today=TODAY) == datetime.date(2025, 9, 1)
    # Private cars from year 10: yearly up to 15 years, then every six months.
    assert inspection_due(datetime.date(2013, 7, 1), Vehicle.Usage.PRIVATE, today=TODAY) == datetime.date(2025, 7, 1)
    assert inspection_due(datetime.date(2009, 3, 1), Vehicle.Usage.PRIVATE, today=TODAY) == datetime.date(2025, 9, 1)
    # Due on the purchase anniversary, clamped at the month's end; a date due today is past.
    assert inspection_due(datetime.date(2020, 2, 29), commercial, today=TODAY) == datetime.date(2025, 8, 29)
    assert inspection_due(datetime.date(2019, 6, 15), Vehicle.Usage.PRIVATE, today=TODAY) == datetime.date(2029, 6, 15)
    assert inspection_due(datetime.date(2024, 6, 15), commercial, today=TODAY) == datetime.date(2026, 6, 15)


# --- The command ---------------------------------------------------------------------------


def test_if_empty_is_a_no_op_on_a_populated_database(seeded):
    before = snapshot()
    out = io.StringIO()

    call_command("seed_demo", "--customers", "5", "--if-empty", stdout=out)

    assert "nothing to do" in out.getvalue()
    assert snapshot() == before


def test_without_reset_a_populated_database_is_refused(seeded):
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", "--customers", "5", stdout=io.StringIO())

    assert Customer.objects.count() == N


def test_reset_replaces_the_existing_data(seeded):
    call_command("seed_demo", "--customers", "9", "--reset", "--today", "2025-06-15", stdout=io.StringIO())

    assert Customer.objects.count() == 9
    assert Dealership.objects.count() == 3
    assert User.objects.filter(username="advisor").count() == 1


def test_reset_keeps_a_group_account_made_by_hand(seeded):
    User.objects.create_user(username="boss", password="x", role=User.Role.ADMIN)

    demo_reset()

    assert list(User.objects.values_list("username", flat=True)) == ["boss"]
