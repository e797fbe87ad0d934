"""The builder of the demo dealer group: the random source, the rows built so far, and writing them."""

import contextlib
import dataclasses
import datetime
import itertools
import random
from collections import defaultdict
from collections.abc import Iterator

from django.utils import timezone

from analytics.models import Survey, SurveyResponse
from care.models import CareTask, Outbox
from crm.models import User
from customers.models import ChurnEvent, Customer, TierChange, TierSnapshot
from demo import data
from demo.services.complaints import ComplaintHistory
from demo.services.customers import Customers
from demo.services.rows import BATCH_SIZE, Store, Table
from demo.services.stores import StoresAndStaff
from demo.services.technicians import Technicians
from demo.services.vehicles import Vehicles
from demo.services.workshop import Appointments, RepairHistory
from loyalty.models import BenefitUse, EventRegistration, MembershipCard, PointsEntry, Referral
from service.models import Appointment, RepairLine, RepairOrder, Technician
from vehicles.models import MileageReading, Vehicle, VehicleModel


@dataclasses.dataclass(frozen=True)
class SeedSummary:
    dealerships: int
    users: int
    vehicle_models: int
    customers: int
    vehicles: int
    repair_orders: int
    repair_lines: int
    mileage_readings: int
    appointments: int
    tier_snapshots: int
    tier_changes: int
    churn_events: int
    watched: int
    technicians: int
    complaints: int
    membership_cards: int
    points_entries: int
    referrals: int
    club_registrations: int
    benefit_uses: int
    surveys: int
    survey_responses: int
    # The touches and messages the services made on the way (survey links, complaint receipts…).
    care_touches: int
    messages: int

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class Builder(StoresAndStaff, Customers, Vehicles, RepairHistory, Appointments, Technicians, ComplaintHistory):
    """Holds the random source, the rows built so far and the uniqueness sets."""

    def __init__(self, *, rng: random.Random, today: datetime.date) -> None:
        self.rng = rng
        # Where the side streams start from (``side_stream``): the seed's own state, untouched.
        self.seed_state = rng.getstate()
        self.streams: dict[str, random.Random] = {}
        self.technicians: list[Technician] = []
        self.complaint_plans: list = []
        self.complaints_made: list = []
        self.today = today
        self.yesterday = today - datetime.timedelta(days=1)
        self.tz = timezone.get_default_timezone()
        self.start_of_today = datetime.datetime(today.year, today.month, today.day, tzinfo=self.tz)
        # The demo's present: its history, complaint steps included, runs up to the end of yesterday.
        self.now = self.start_of_today
        self.stores: list[Store] = []
        self.users: list[User] = []
        self.catalogue: list[tuple[data.ModelSpec, VehicleModel]] = []
        # In insert order: parents first. Referred customers come after the
        # others so that their referrer already has a pk.
        self.customers = Table(Customer)
        self.referred_customers = Table(Customer, "referred_by_id")
        self.vehicles = Table(Vehicle, "customer_id")
        self.repair_orders = Table(RepairOrder, "vehicle_id", "customer_id")
        self.repair_lines = Table(RepairLine, "repair_order_id")
        self.readings = Table(MileageReading, "vehicle_id")
        self.appointments = Table(Appointment, "customer_id", "vehicle_id")
        self.loyal: list[tuple[Customer, Vehicle, Store]] = []
        # When each customer came to us: ``created_at`` is set on insert, so it is updated after.
        self.customer_since: list[tuple[Customer, datetime.datetime]] = []
        self.phones: set[str] = set()
        self.id_numbers: set[str] = set()
        self.plates: set[str] = set()
        self.vin_serials: dict[str, int] = {}
        self.ro_numbers: dict[tuple[str, datetime.date], int] = defaultdict(int)
        # (values, cumulative weights) per list in demo.data, keyed by the list's id.
        self.weight_tables: dict[int, tuple[tuple[str, ...], list[int]]] = {}

    # --- Small random helpers -------------------------------------------------

    @contextlib.contextmanager
    def side_stream(self, name: str) -> Iterator[None]:
        """Draw from a stream of ``name``'s own while inside (every helper reads
        ``self.rng``), seeded from the seed and the name alone.

        What the demo gained later (technicians, complaints) draws from its own
        stream: the main stream, and with it every row built before, stays the
        same whatever is added after it."""
        stream = self.streams.get(name)
        if stream is None:
            origin = random.Random()
            origin.setstate(self.seed_state)
            stream = self.streams[name] = random.Random(f"{name}:{origin.getrandbits(64)}")
        main, self.rng = self.rng, stream
        try:
            yield
        finally:
            self.rng = main

    def pick(self, weighted: tuple[tuple[str, int], ...]) -> str:
        table = self.weight_tables.get(id(weighted))
        if table is None:
            values, weights = zip(*weighted, strict=True)
            table = self.weight_tables[id(weighted)] = (values, list(itertools.accumulate(weights)))
        return self.rng.choices(table[0], cum_weights=table[1])[0]

    def days_ago(self, low: int, high: int) -> datetime.date:
        return self.today - datetime.timedelta(days=self.rng.randint(low, high))

    def at(self, day: datetime.date, *, earliest: int = 9 * 60, latest: int = 17 * 60) -> datetime.datetime:
        """An aware datetime on ``day`` between two times of day given in minutes."""
        minutes = self.rng.randint(earliest, latest)
        return datetime.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=self.tz)

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(data.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    # --- Writing -------------------------------------------------------------------------

    def insert(self) -> None:
        """Parents before children: each ``bulk_create`` gives the pks the next table's keys need."""
        for table in (
            self.customers,
            self.referred_customers,
            self.vehicles,
            self.repair_orders,
            self.repair_lines,
            self.readings,
            self.appointments,
        ):
            table.insert()
        for customer, since in self.customer_since:
            customer.created_at = since
        Customer.objects.bulk_update([c for c, _ in self.customer_since], ["created_at"], batch_size=BATCH_SIZE)

    def summary(self) -> SeedSummary:
        return SeedSummary(
            dealerships=len(self.stores),
            users=len(self.users),
            vehicle_models=len(self.catalogue),
            customers=len(self.customers) + len(self.referred_customers),
            vehicles=len(self.vehicles),
            repair_orders=len(self.repair_orders),
            repair_lines=len(self.repair_lines),
            mileage_readings=len(self.readings),
            appointments=len(self.appointments),
            tier_snapshots=TierSnapshot.objects.count(),
            tier_changes=TierChange.objects.count(),
            churn_events=ChurnEvent.objects.count(),
            watched=Customer.objects.exclude(watch_reason="").count(),
            technicians=len(self.technicians),
            complaints=len(self.complaints_made),
            membership_cards=MembershipCard.objects.count(),
            points_entries=PointsEntry.objects.count(),
            referrals=Referral.objects.count(),
            club_registrations=EventRegistration.objects.count(),
            benefit_uses=BenefitUse.objects.count(),
            surveys=Survey.objects.count(),
            survey_responses=SurveyResponse.objects.count(),
            care_touches=CareTask.objects.count(),
            messages=Outbox.objects.count(),
        )
