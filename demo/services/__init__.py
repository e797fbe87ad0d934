"""Builds a believable dealer group for demos, training and load tests.

Everything is drawn from one ``random.Random(seed)`` and dated relative to
``today``, so the same seed and day give the same data. Rows are built in
Python and written with ``bulk_create`` in batches, never a query per row
(``bench/seed_demo.py`` measures 10,000 customers).

Tiers and churn states are not the generator's to decide: the nightly
recompute (``analytics.services.tiers_recompute``) works them out from the
history, with the tier policy's thresholds. It runs on the first of each of
the last ``HISTORY_MONTHS`` months, then on ``today``, so the month-on-month
movement, the churn funnel and the tier history have a year to show.

The workshop's technicians and the year's complaint cases came later: they
draw from streams of their own (``Builder.side_stream``), so the rows built
before them are the same data for the same seed. The cases are opened and
worked through the complaint services (``demo.services.complaints``), a month
at a time between the recomputes, since a case counts in the tier score.
"""

import contextlib
import datetime
import gc
import random
from collections.abc import Iterator

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analytics.rollups import rollups_run
from analytics.services import tiers_recompute
from care.models import MessagingProfile, WeatherLocation
from complaints.models import Complaint
from crm.models import Dealership, User
from customers.models import Customer, TierSnapshot
from demo import data
from demo.services.builder import Builder, SeedSummary
from demo.services.club import club_history
from demo.services.dates import inspection_due, lunar_birthday, next_anniversary
from demo.services.rows import numbered
from demo.services.surveys import survey_history
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
from service.services import vehicle_service_stats_refresh
from vehicles.models import MileageReading, Vehicle, VehicleModel

__all__ = [
    "HISTORY_MONTHS",
    "Builder",
    "SeedSummary",
    "demo_data_exists",
    "demo_reset",
    "demo_usernames",
    "inspection_due",
    "lunar_birthday",
    "next_anniversary",
    "seed_demo",
]

# Months of tier snapshots, tier changes and churn events before today's.
HISTORY_MONTHS = 12


def demo_usernames() -> list[str]:
    """``advisor``, ``advisor2``…, ``manager``, ``manager2``… and ``admin``."""
    stores = len(data.STORES)
    advisors = [numbered("advisor", n) for n in range(1, stores * data.ADVISORS_PER_STORE + 1)]
    managers = [numbered("manager", n) for n in range(1, stores + 1)]
    return [*advisors, *managers, "admin"]


def demo_data_exists() -> bool:
    """True when seeding would collide: any dealership, or a user with a demo username."""
    return Dealership.objects.exists() or User.objects.filter(username__in=demo_usernames()).exists()


def seed_demo(*, customers: int, seed: int, today: datetime.date) -> SeedSummary:
    """Create the demo dealer group with ``customers`` customers and their history, then
    what the nightly jobs make of it: each car's km per day, and a year of tier recomputes
    with the year's complaint cases coming in between them.

    Precondition: ``demo_data_exists()`` is false (call ``demo_reset`` first).
    Vehicle models are got-or-created by (brand, name), so a catalogue an admin
    already entered is reused as it stands.
    """
    rng = random.Random(seed)
    with transaction.atomic(), _cyclic_gc_paused():
        builder = Builder(rng=rng, today=today)
        builder.create_stores_and_staff()
        builder.load_catalogue()
        for _ in range(customers):
            builder.add_customer()
        builder.add_appointments()
        # Drawn from their own streams, after everything else (Builder.side_stream).
        builder.add_technicians()
        builder.insert()
        _messaging_and_weather(builder.stores)
        # What the nightly jobs derive from the history: each car's km per day and
        # last maintenance (which the recompute reads), then tiers and churn states.
        vehicle_service_stats_refresh(full=True)
        builder.plan_complaints()
        _tier_history(today=today, builder=builder)
        # The membership club's three years, through its services (demo.services.club).
        club_history(builder)
        # Two months of survey links sent and answered, through the survey services.
        survey_history(builder)
        # Last: the dashboards' figures of all that history (the nightly rollups, rebuilt whole).
        rollups_run(day=today, full=True)
    return builder.summary()


def _tier_history(*, today: datetime.date, builder: Builder) -> None:
    """Run the nightly recompute as it would have run over the last months:
    on the first of each, then today, with the complaints of the days before
    each run received (and worked) first: a case counts in the tier score from
    the day it came in, and a tier-A customer's case starts one level up as of
    the tier they then had. Today's run follows the SLA sweep of the open cases.

    The recompute counts every customer in the table; on a day before a
    customer came to us (``created_at``), the run only scored an empty record
    (tier B, active): that month's snapshot row and the score are taken back,
    so that the customer is new when they come, with no tier on record."""
    first = today.replace(day=1)
    for months in range(HISTORY_MONTHS, 0, -1):
        day = first - relativedelta(months=months)
        day_after = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))
        builder.open_complaints(before=day_after)
        tiers_recompute(day=day)
        not_yet = Customer.objects.filter(created_at__gte=day_after)
        TierSnapshot.objects.filter(month=day, customer__in=not_yet).delete()
        not_yet.update(tier_score=None)
    builder.open_complaints(before=builder.now)
    builder.complaints_finish()
    tiers_recompute(day=today)


def _messaging_and_weather(stores) -> None:
    """Each store's SMS signature, and the cities polled for severe weather
    (group-wide: kept across resets, an admin may have edited them)."""
    MessagingProfile.objects.bulk_create(
        [MessagingProfile(dealership=store.dealership, sms_sign_name=store.spec.name) for store in stores]
    )
    for city, (latitude, longitude, provider_id) in data.WEATHER_LOCATIONS.items():
        WeatherLocation.objects.get_or_create(
            city=city,
            district="",
            defaults={"latitude": latitude, "longitude": longitude, "provider_id": provider_id},
        )


def demo_reset() -> None:
    """Delete the business data ``seed_demo`` creates, children first since most foreign keys PROTECT.

    Users are deleted when they belong to a dealership or carry a demo
    username; a group-level account someone made by hand survives.
    """
    with transaction.atomic():
        for model in (
            # The club first: its ledger points at repair orders, its cards at customers.
            BenefitUse,
            PointsEntry,
            CardEvent,
            EventRegistration,
            ClubEvent,
            Referral,
            MembershipCard,
            Complaint,
            Appointment,
            RepairLine,
            RepairOrder,
            Technician,
            MileageReading,
            Vehicle,
            Customer,
            VehicleModel,
        ):
            model.objects.all().delete()
        User.objects.filter(Q(dealership__isnull=False) | Q(username__in=demo_usernames())).delete()
        Dealership.objects.all().delete()


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while hundreds of thousands of rows are alive.

    Each full collection walks every live model instance; for 10,000
    customers that was several seconds of the run, and the build creates no
    reference cycles that need collecting early. Reference counting still
    frees memory as usual, and the collector's previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
