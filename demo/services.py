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
"""

import contextlib
import dataclasses
import datetime
import functools
import gc
import itertools
import random
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from lunar_python import LunarYear, Solar

from analytics.services import tiers_recompute
from care.kinds.inspection import inspection_due_on_or_after
from care.models import MessagingProfile, WeatherLocation
from crm.models import Dealership, User
from crm.validators import id_number_check_digit, vin_check_digit
from customers.models import ChurnEvent, Customer, TierChange, TierSnapshot
from demo import data
from service.models import Appointment, RepairLine, RepairOrder
from service.services import vehicle_service_stats_refresh
from vehicles.models import MileageReading, Vehicle, VehicleModel

BATCH_SIZE = 2000
# Months of tier snapshots, tier changes and churn events before today's.
HISTORY_MONTHS = 12


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

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """How a customer uses the store over the car's life (seed 001 §三 tiers, seed 003 churn):
    the tier and churn state follow from it through the recompute."""

    name: str
    weight: int
    car_age_days: tuple[int, int]
    # Days between visits, and how long ago the last visit was.
    gap_days: tuple[int, int]
    last_visit_days_ago: tuple[int, int]


OLDEST_CAR_YEARS = 8
_OLDEST = OLDEST_CAR_YEARS * 365
# Loyal customers come back every 3–6 months (seed 003: about 4.5 on average);
# marginal and lost ones came less often even before they stopped.
LOYAL = Behaviour("loyal", 35, (370, _OLDEST), (90, 180), (1, 115))
DRIFTING = Behaviour("drifting", 25, (560, _OLDEST), (150, 300), (190, 350))
LOST = Behaviour("lost", 25, (760, _OLDEST), (180, 360), (380, 1100))
NEW = Behaviour("new", 15, (10, 355), (0, 0), (0, 0))
BEHAVIOURS = (LOYAL, DRIFTING, LOST, NEW)
# A customer without a visit or a car bought here came to us this long before today (a lead).
LEAD_DAYS = 30
NEW_ENERGY = (VehicleModel.Energy.ELECTRIC, VehicleModel.Energy.PLUGIN)
PAYERS = {
    RepairOrder.Kind.ACCIDENT: RepairOrder.Payer.INSURER,
    RepairOrder.Kind.WARRANTY: RepairOrder.Payer.MANUFACTURER,
    RepairOrder.Kind.ACTIVITY: RepairOrder.Payer.INTERNAL,
}
# Minutes in the workshop for kinds that take longer than a maintenance.
WORK_MINUTES = {RepairOrder.Kind.REPAIR: (120, 480), RepairOrder.Kind.WARRANTY: (120, 480)}
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O


def demo_usernames() -> list[str]:
    """``advisor``, ``advisor2``…, ``manager``, ``manager2``… and ``admin``."""
    stores = len(data.STORES)
    advisors = [_numbered("advisor", n) for n in range(1, stores * data.ADVISORS_PER_STORE + 1)]
    managers = [_numbered("manager", n) for n in range(1, stores + 1)]
    return [*advisors, *managers, "admin"]


def demo_data_exists() -> bool:
    """True when seeding would collide: any dealership, or a user with a demo username."""
    return Dealership.objects.exists() or User.objects.filter(username__in=demo_usernames()).exists()


def seed_demo(*, customers: int, seed: int, today: datetime.date) -> SeedSummary:
    """Create the demo dealer group with ``customers`` customers and their history, then
    what the nightly jobs make of it: each car's km per day, and a year of tier recomputes.

    Precondition: ``demo_data_exists()`` is false (call ``demo_reset`` first).
    Vehicle models are got-or-created by (brand, name), so a catalogue an admin
    already entered is reused as it stands.
    """
    rng = random.Random(seed)
    with transaction.atomic(), _cyclic_gc_paused():
        builder = _Builder(rng=rng, today=today)
        builder.create_stores_and_staff()
        builder.load_catalogue()
        for _ in range(customers):
            builder.add_customer()
        builder.add_appointments()
        builder.insert()
        _messaging_and_weather(builder.stores)
        # What the nightly jobs derive from the history: each car's km per day and
        # last maintenance (which the recompute reads), then tiers and churn states.
        vehicle_service_stats_refresh(full=True)
        _tier_history(today=today)
    return builder.summary()


def _tier_history(*, today: datetime.date) -> None:
    """Run the nightly recompute as it would have run over the last months:
    on the first of each, then today.

    The recompute counts every customer in the table; on a day before a
    customer came to us (``created_at``), the run only scored an empty record
    (tier B, active): that month's snapshot row and the score are taken back,
    so that the customer is new when they come, with no tier on record."""
    first = today.replace(day=1)
    for months in range(HISTORY_MONTHS, 0, -1):
        day = first - relativedelta(months=months)
        tiers_recompute(day=day)
        day_after = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))
        not_yet = Customer.objects.filter(created_at__gte=day_after)
        TierSnapshot.objects.filter(month=day, customer__in=not_yet).delete()
        not_yet.update(tier_score=None)
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
        for model in (Appointment, RepairLine, RepairOrder, MileageReading, Vehicle, Customer, VehicleModel):
            model.objects.all().delete()
        User.objects.filter(Q(dealership__isnull=False) | Q(username__in=demo_usernames())).delete()
        Dealership.objects.all().delete()


@functools.cache
def _lunar_months(solar_year: int) -> tuple[tuple[datetime.date, int, int], ...]:
    """(first day, length, month) of the lunar months ``Lunar.fromSolar`` scans for ``solar_year``.

    ``Solar.getLunar()`` recomputes a whole year of solar terms whenever the
    year changes (several ms), so converting thousands of random birthdays
    that way takes seconds; walking the same months ourselves costs one
    computation per year.
    """
    months = []
    for month in LunarYear.fromYear(solar_year).getMonths():
        first = Solar.fromJulianDay(month.getFirstJulianDay())
        start = datetime.date(first.getYear(), first.getMonth(), first.getDay())
        months.append((start, month.getDayCount(), month.getMonth()))
    return tuple(months)


@functools.cache
def lunar_birthday(day: datetime.date) -> tuple[int, int, bool]:
    """(month, day, leap) of the lunar date, as ``Solar.fromYmd(...).getLunar()`` gives it."""
    for start, length, month in _lunar_months(day.year):
        offset = (day - start).days
        if offset < length:
            # lunar_python marks a leap month with a negative month number.
            return abs(month), offset + 1, month < 0
    raise ValueError(f"No lunar month covers {day}.")


def next_anniversary(day: datetime.date, *, after: datetime.date) -> datetime.date:
    """The first anniversary of ``day`` strictly after ``after`` (29 February falls on the 28th)."""
    years = after.year - day.year
    candidate = day + relativedelta(years=years)
    if candidate <= after:
        candidate = day + relativedelta(years=years + 1)
    return candidate


def inspection_due(purchase: datetime.date, usage: str, *, today: datetime.date) -> datetime.date:
    """The next annual inspection (年检) strictly after ``today``, on the care engine's
    default schedule (``care.kinds.inspection``: one rule for the demo and the engine)."""
    return inspection_due_on_or_after(purchase, usage, today + datetime.timedelta(days=1))


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


def _numbered(role: str, number: int) -> str:
    return role if number == 1 else f"{role}{number}"


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


class _Table:
    """Rows of one model waiting for ``bulk_create``, with the parents their foreign keys point at.

    Children are built before their parents have pks. Instead of assigning the
    parent instance (a descriptor call per row now and a check per row at
    insert), the parent waits beside the row and ``<fk>_id`` is set once the
    parent's own ``bulk_create`` has given it a pk.
    """

    def __init__(self, model: type[models.Model], *links: str) -> None:
        self.model = model
        self.rows: list[models.Model] = []
        self.parents: dict[str, list[models.Model]] = {link: [] for link in links}

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: models.Model, **parents: models.Model) -> None:
        self.rows.append(row)
        for link, column in self.parents.items():
            column.append(parents[link])

    def insert(self) -> None:
        for link, parents in self.parents.items():
            for row, parent in zip(self.rows, parents, strict=True):
                setattr(row, link, parent.pk)
        self.model.objects.bulk_create(self.rows, batch_size=BATCH_SIZE)


@dataclasses.dataclass
class _Store:
    spec: data.StoreSpec
    dealership: Dealership
    advisors: list[User]
    # Customers who bought here, candidates to have referred a later customer.
    referrers: list[Customer] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Car:
    """A vehicle being built, with what its history needs but the table does not hold."""

    vehicle: Vehicle
    spec: data.ModelSpec
    model: VehicleModel
    km_per_day: float
    delivery_km: int
    visits: list[datetime.date] = dataclasses.field(default_factory=list)
    orders: list[RepairOrder] = dataclasses.field(default_factory=list)


class _Builder:
    """Holds the random source, the rows built so far and the uniqueness sets."""

    def __init__(self, *, rng: random.Random, today: datetime.date) -> None:
        self.rng = rng
        self.today = today
        self.yesterday = today - datetime.timedelta(days=1)
        self.tz = timezone.get_default_timezone()
        self.start_of_today = datetime.datetime(today.year, today.month, today.day, tzinfo=self.tz)
        self.stores: list[_Store] = []
        self.users: list[User] = []
        self.catalogue: list[tuple[data.ModelSpec, VehicleModel]] = []
        # In insert order: parents first. Referred customers come after the
        # others so that their referrer already has a pk.
        self.customers = _Table(Customer)
        self.referred_customers = _Table(Customer, "referred_by_id")
        self.vehicles = _Table(Vehicle, "customer_id")
        self.repair_orders = _Table(RepairOrder, "vehicle_id", "customer_id")
        self.repair_lines = _Table(RepairLine, "repair_order_id")
        self.readings = _Table(MileageReading, "vehicle_id")
        self.appointments = _Table(Appointment, "customer_id", "vehicle_id")
        self.loyal: list[tuple[Customer, Vehicle, _Store]] = []
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

    # --- Stores, staff and catalogue ----------------------------------------------

    def create_stores_and_staff(self) -> None:
        dealerships = Dealership.objects.bulk_create(
            [
                Dealership(
                    code=spec.code,
                    name=spec.name,
                    city=spec.city,
                    address=spec.address,
                    booking_phone=spec.booking_phone,
                    rescue_phone=spec.rescue_phone,
                )
                for spec in data.STORES
            ]
        )
        # One hash for everybody: hashing is deliberately slow (PBKDF2).
        password = make_password(data.DEMO_PASSWORD)
        self.users.append(self.staff("admin", User.Role.ADMIN, None, password, is_superuser=True))
        for index, (spec, dealership) in enumerate(zip(data.STORES, dealerships, strict=True)):
            first = index * data.ADVISORS_PER_STORE + 1
            advisors = [
                self.staff(_numbered("advisor", n), User.Role.ADVISOR, dealership, password)
                for n in range(first, first + data.ADVISORS_PER_STORE)
            ]
            manager = self.staff(_numbered("manager", index + 1), User.Role.MANAGER, dealership, password)
            self.users.extend([*advisors, manager])
            self.stores.append(_Store(spec=spec, dealership=dealership, advisors=advisors))
        User.objects.bulk_create(self.users)

    def staff(
        self, username: str, role: str, dealership: Dealership | None, password: str, *, is_superuser: bool = False
    ) -> User:
        male = self.rng.random() < 0.5
        return User(
            username=username,
            password=password,
            role=role,
            dealership=dealership,
            last_name=self.pick(data.SURNAMES),
            first_name=self.given_name(male),
            phone=self.mobile(),
            is_staff=role != User.Role.ADVISOR,
            is_superuser=is_superuser,
        )

    def load_catalogue(self) -> None:
        existing = {(m.brand, m.name): m for m in VehicleModel.objects.filter(brand__in={s.brand for s in data.MODELS})}
        missing = [
            VehicleModel(
                brand=spec.brand,
                name=spec.name,
                vehicle_class=spec.vehicle_class,
                energy=spec.energy,
                first_maintenance_km=spec.first_maintenance_km,
                first_maintenance_months=spec.first_maintenance_months,
                maintenance_interval_km=spec.maintenance_interval_km,
                maintenance_interval_months=spec.maintenance_interval_months,
                warranty_months=spec.warranty_months,
                warranty_km=spec.warranty_km,
            )
            for spec in data.MODELS
            if (spec.brand, spec.name) not in existing
        ]
        for model in VehicleModel.objects.bulk_create(missing):
            existing[model.brand, model.name] = model
        # Catalogue order, not database order, keeps the random draws stable.
        self.catalogue = [(spec, existing[spec.brand, spec.name]) for spec in data.MODELS]

    # --- Customers -------------------------------------------------------------------

    def add_customer(self) -> None:
        store = self.rng.choices(self.stores, [s.spec.weight for s in self.stores])[0]
        behaviour = self.rng.choices(BEHAVIOURS, [b.weight for b in BEHAVIOURS])[0]
        customer = self.new_customer(store)
        vehicle_count = 2 if behaviour is not NEW and self.rng.random() < 0.15 else 1
        cars = []
        for index in range(vehicle_count):
            car = self.new_car(customer, store, behaviour, sold_here=self.sold_here(customer.source, index))
            self.add_history(car, customer, store, behaviour)
            cars.append(car)
        self.finish_customer(customer, cars)
        if behaviour is LOYAL:
            self.loyal.append((customer, cars[0].vehicle, store))
        if customer.source == Customer.Source.BOUGHT_HERE:
            store.referrers.append(customer)

    def new_customer(self, store: _Store) -> Customer:
        rng = self.rng
        district = rng.choices(store.spec.districts, [d.weight for d in store.spec.districts])[0]
        male = rng.random() < 0.62
        occupation = self.pick(data.OCCUPATIONS)
        born = self.birth_date(occupation)
        id_number = self.id_number(district.region_code, born, male) if rng.random() < 0.85 else ""
        birthday = born if id_number or rng.random() < 0.3 else None
        gender = Customer.Gender.MALE if male else Customer.Gender.FEMALE
        if not id_number and rng.random() < 0.1:
            gender = Customer.Gender.UNKNOWN
        source = self.pick(data.SOURCES)
        customer = Customer(
            dealership_id=store.dealership.pk,
            name=self.pick(data.SURNAMES) + self.given_name(male),
            phone=self.mobile(),
            id_number=id_number,
            gender=gender,
            occupation=occupation,
            employer=self.employer(occupation, district),
            education=self.pick(data.EDUCATION),
            income_band=self.pick(data.INCOME_BANDS),
            hobbies="、".join(rng.sample(data.HOBBIES, rng.choice((0, 0, 1, 2)))),
            province=store.spec.province,
            city=store.spec.city,
            district=district.name,
            address=self.address(store.spec, district),
            preferred_channel=self.pick(data.CHANNELS),
            birthday=birthday,
            source=source,
            advisor_id=rng.choice(store.advisors).pk,
            status=Customer.Status.ACTIVE,
        )
        if birthday and rng.random() < 0.34:
            month, day, leap = lunar_birthday(birthday)
            customer.lunar_birthday_month, customer.lunar_birthday_day, customer.lunar_birthday_leap = month, day, leap
        if source == Customer.Source.REFERRAL and store.referrers:
            self.referred_customers.add(customer, referred_by_id=rng.choice(store.referrers))
        else:
            self.customers.add(customer)
        return customer

    def given_name(self, male: bool) -> str:
        chars = data.MALE_GIVEN if male else data.FEMALE_GIVEN
        length = 2 if self.rng.random() < 0.7 else 1
        return "".join(self.rng.choice(chars) for _ in range(length))

    def birth_date(self, occupation: str) -> datetime.date:
        """Born 1960–2002, and old enough to have held a licence when the oldest cars were bought."""
        rng = self.rng
        youngest = min(2002, self.today.year - OLDEST_CAR_YEARS - 18)
        if occupation == Customer.Occupation.RETIRED:
            year = rng.randint(1960, 1964)
        elif occupation == Customer.Occupation.STUDENT:
            year = rng.randint(youngest - 3, youngest)
        else:
            year = int(rng.triangular(1960, youngest + 1, min(1984, youngest)))
        return datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))

    def id_number(self, region_code: str, born: datetime.date, male: bool) -> str:
        """18-digit ID (GB 11643): region, birth date, sequence whose last digit is odd for men, check digit."""
        while True:
            sequence = self.rng.randrange(500) * 2 + (1 if male else 0)
            first17 = f"{region_code}{born:%Y%m%d}{sequence:03d}"
            number = first17 + id_number_check_digit(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def employer(self, occupation: str, district: data.District) -> str:
        names = data.EMPLOYERS.get(occupation)
        if not names or self.rng.random() < 0.4:
            return ""
        place = district.name.removesuffix("新区").removesuffix("区").removesuffix("市")
        return place + self.rng.choice(names)

    def address(self, spec: data.StoreSpec, district: data.District) -> str:
        rng = self.rng
        road = rng.choice(district.roads)
        room = f"{rng.randint(1, 28)}{rng.randint(1, 4):02d}室"
        if spec.city == "苏州":
            return f"{road}{rng.randint(1, 999)}号{rng.choice(data.SUZHOU_ESTATES)}{rng.randint(1, 40)}幢{room}"
        return f"{road}{rng.randint(1, 2000)}弄{rng.randint(1, 60)}号{room}"

    def sold_here(self, source: str, index: int) -> bool:
        if source == Customer.Source.BOUGHT_HERE:
            return index == 0 or self.rng.random() < 0.8
        if source == Customer.Source.FIRST_VISIT:
            return False
        # Campaign leads mostly own a car from elsewhere; referrals mostly bought here.
        return self.rng.random() < (0.7 if source == Customer.Source.REFERRAL else 0.3)

    def finish_customer(self, customer: Customer, cars: list[_Car]) -> None:
        visits = sorted({day for car in cars for day in car.visits})
        customer.last_visit_date = visits[-1] if visits else None
        # With us since the first car bought here or the first visit, whichever came first.
        starts = [c.vehicle.purchase_date for c in cars if c.vehicle.sold_here] + visits[:1]
        since = min(starts) if starts else self.today - datetime.timedelta(days=LEAD_DAYS)
        self.customer_since.append((customer, datetime.datetime(since.year, since.month, since.day, 8, tzinfo=self.tz)))
        if len(visits) >= 3:
            months = (visits[-1] - visits[0]).days / (len(visits) - 1) / 30.4
            customer.visit_pattern = f"平均约{months:.0f}个月回厂一次"
        if self.rng.random() < 0.7:
            customer.marketing_consent = True
            customer.marketing_consent_at = self.at(min(starts) if starts else self.days_ago(1, 30))

    # --- Vehicles ---------------------------------------------------------------------

    def new_car(self, customer: Customer, store: _Store, behaviour: Behaviour, *, sold_here: bool) -> _Car:
        rng = self.rng
        choices = [(s, m) for s, m in self.catalogue if not sold_here or s.brand in store.spec.brands]
        spec, model = rng.choices(choices, [s.weight for s, _ in choices])[0]
        purchase = self.today - datetime.timedelta(days=self.car_age(behaviour))
        usage = self.usage(customer.occupation)
        vehicle = Vehicle(
            vin=self.vin(spec, purchase.year),
            model_id=model.pk,
            plate_number=self.plate(store.spec, model.energy),
            engine_number=f"{spec.engine_prefix}{rng.randrange(10**6):06d}",
            colour=self.pick(data.COLOURS),
            purchase_date=purchase,
            sold_here=sold_here,
            usage=usage,
            status=Vehicle.Status.ACTIVE,
            warranty_end_date=purchase + relativedelta(months=model.warranty_months),
            warranty_end_km=model.warranty_km,
            insurance_expiry_date=next_anniversary(purchase, after=self.today),
            insurer=self.pick(data.INSURERS) if rng.random() < 0.85 else "",
            inspection_due_date=inspection_due(purchase, usage, today=self.today),
        )
        self.vehicles.add(vehicle, customer_id=customer)
        return _Car(
            vehicle=vehicle,
            spec=spec,
            model=model,
            km_per_day=self.km_per_day(usage),
            delivery_km=rng.randint(0, 50),
        )

    def car_age(self, behaviour: Behaviour) -> int:
        """Days since purchase, leaning young: older cars drift away from the dealer's workshop."""
        low, high = behaviour.car_age_days
        return int(self.rng.triangular(low, high, low + (high - low) // 5))

    def usage(self, occupation: str) -> str:
        if occupation == Customer.Occupation.DRIVER and self.rng.random() < 0.8:
            return Vehicle.Usage.COMMERCIAL
        return self.pick(data.USAGES)

    def km_per_day(self, usage: str) -> float:
        if usage == Vehicle.Usage.COMMERCIAL:
            return self.rng.uniform(100, 250)
        if usage == Vehicle.Usage.OFFICIAL:
            return self.rng.uniform(30, 90)
        return self.rng.triangular(15, 120, 35)

    def vin(self, spec: data.ModelSpec, year: int) -> str:
        """WMI + descriptor + check digit + model year + plant + a serial that only grows per model."""
        key = spec.wmi + spec.vds
        if key not in self.vin_serials:
            self.vin_serials[key] = self.rng.randint(100000, 300000)
        self.vin_serials[key] += self.rng.randint(1, 20)
        year_code = data.VIN_YEAR_CODES[(year - 1980) % 30]
        body = f"{spec.wmi}{spec.vds}0{year_code}{spec.plant}{self.vin_serials[key]:06d}"
        return body[:8] + vin_check_digit(body) + body[9:]

    def plate(self, spec: data.StoreSpec, energy: str) -> str:
        rng = self.rng
        while True:
            prefix = spec.plate_province + rng.choice(spec.plate_letters)
            if energy in NEW_ENERGY:
                # Small new-energy plates: D for battery electric, F for the rest, then five digits.
                kind = "D" if energy == VehicleModel.Energy.ELECTRIC else "F"
                plate = f"{prefix}{kind}{rng.randrange(10**5):05d}"
            else:
                plate = prefix + self.ordinary_plate_tail()
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def ordinary_plate_tail(self) -> str:
        chars = [str(self.rng.randrange(10)) for _ in range(5)]
        letters = self.rng.choices((0, 1, 2), (60, 30, 10))[0]
        for position in self.rng.sample(range(5), letters):
            chars[position] = self.rng.choice(PLATE_LETTERS)
        return "".join(chars)

    # --- Repair history ---------------------------------------------------------------

    def add_history(self, car: _Car, customer: Customer, store: _Store, behaviour: Behaviour) -> None:
        vehicle = car.vehicle
        delivery = MileageReading(
            read_on=vehicle.purchase_date, mileage=car.delivery_km, source=MileageReading.Source.DELIVERY
        )
        self.readings.add(delivery, vehicle_id=vehicle)
        car.visits = self.new_car_visits(car) if behaviour is NEW else self.visit_dates(car, behaviour)
        car.orders = self.repair_orders_for(car, customer, store)
        vehicle.current_mileage = car.orders[-1].mileage if car.orders else car.delivery_km
        vehicle.current_mileage_date = car.visits[-1] if car.visits else vehicle.purchase_date

    def first_maintenance_due(self, car: _Car) -> datetime.date:
        """Whichever comes first: the months, or the km at this car's daily distance."""
        purchase = car.vehicle.purchase_date
        by_time = purchase + relativedelta(months=car.model.first_maintenance_months)
        by_km = purchase + datetime.timedelta(days=int(car.model.first_maintenance_km / car.km_per_day))
        return min(by_time, by_km)

    def new_car_visits(self, car: _Car) -> list[datetime.date]:
        """A car bought this year: maybe accessories after delivery, maybe its first maintenance."""
        purchase = car.vehicle.purchase_date
        dates = []
        if car.vehicle.sold_here and self.rng.random() < 0.4:
            dates.append(purchase + datetime.timedelta(days=self.rng.randint(1, 20)))
        first_service = self.first_maintenance_due(car) + datetime.timedelta(days=self.rng.randint(-15, 10))
        if self.rng.random() < 0.85 and first_service > (dates[-1] if dates else purchase):
            dates.append(first_service)
        return [d for d in dates if d <= self.yesterday]

    def visit_dates(self, car: _Car, behaviour: Behaviour) -> list[datetime.date]:
        """Walk back from the last visit the behaviour calls for, so the recent past is what it should be."""
        purchase = car.vehicle.purchase_date
        last = self.last_visit(car, behaviour)
        start = purchase if car.vehicle.sold_here else self.first_visit_elsewhere_bought(purchase, last)
        # Commercial cars run up the km and come in more often.
        pace = 0.6 if car.vehicle.usage == Vehicle.Usage.COMMERCIAL else 1.0
        dates = [last]
        while True:
            previous = dates[-1] - datetime.timedelta(days=int(self.rng.randint(*behaviour.gap_days) * pace))
            if previous < start + datetime.timedelta(days=30):
                break
            dates.append(previous)
        dates.reverse()
        if car.vehicle.sold_here:
            first_service = self.first_maintenance_due(car) + datetime.timedelta(days=self.rng.randint(-10, 20))
            if first_service < dates[0] - datetime.timedelta(days=45):
                dates.insert(0, first_service)
        return dates

    def last_visit(self, car: _Car, behaviour: Behaviour) -> datetime.date:
        if behaviour is not LOST:
            return self.days_ago(*behaviour.last_visit_days_ago)
        purchase, warranty_end = car.vehicle.purchase_date, car.vehicle.warranty_end_date
        earliest = purchase + datetime.timedelta(days=180)
        latest = self.today - datetime.timedelta(days=behaviour.last_visit_days_ago[0])
        # Most churn follows the end of the warranty (seed 003).
        if earliest <= warranty_end <= latest and self.rng.random() < 0.6:
            last = warranty_end + datetime.timedelta(days=self.rng.randint(-120, 45))
            return min(max(last, earliest), latest)
        span = min((latest - earliest).days, behaviour.last_visit_days_ago[1] - behaviour.last_visit_days_ago[0])
        return latest - datetime.timedelta(days=self.rng.randint(0, span))

    def first_visit_elsewhere_bought(self, purchase: datetime.date, last: datetime.date) -> datetime.date:
        """A car bought elsewhere shows up here some time after its purchase."""
        span = max(60, (last - purchase).days)
        return min(last, purchase + datetime.timedelta(days=self.rng.randint(60, span)))

    def repair_orders_for(self, car: _Car, customer: Customer, store: _Store) -> list[RepairOrder]:
        vehicle = car.vehicle
        purchase = vehicle.purchase_date
        serviced_on, serviced_at_km, first = purchase, car.delivery_km, True
        previous_day, mileage = purchase, car.delivery_km
        orders = []
        for day in car.visits:
            # Each stretch is driven at the car's own pace, give or take a
            # quarter; adding stretches keeps the odometer from ever going back.
            mileage += int(car.km_per_day * (day - previous_day).days * self.rng.uniform(0.75, 1.25))
            previous_day = day
            kind = self.visit_kind(car, day, mileage, serviced_on, serviced_at_km, first)
            if kind == RepairOrder.Kind.MAINTENANCE:
                if first:
                    vehicle.first_maintenance_date, vehicle.first_maintenance_mileage = day, mileage
                serviced_on, serviced_at_km, first = day, mileage, False
            orders.append(self.repair_order(car, customer, store, kind, day, mileage))
            self.readings.add(
                MileageReading(read_on=day, mileage=mileage, source=MileageReading.Source.REPAIR_ORDER),
                vehicle_id=vehicle,
            )
        return orders

    def visit_kind(
        self,
        car: _Car,
        day: datetime.date,
        mileage: int,
        serviced_on: datetime.date,
        serviced_at_km: int,
        first: bool,
    ) -> str:
        vehicle, model = car.vehicle, car.model
        months = model.first_maintenance_months if first else model.maintenance_interval_months
        km = model.first_maintenance_km if first else model.maintenance_interval_km
        # A visit close to either limit is used for the maintenance.
        due = (day - serviced_on).days >= months * 30.4 * 0.7 or mileage - serviced_at_km >= km * 0.7
        if due and self.rng.random() < 0.92:
            return RepairOrder.Kind.MAINTENANCE
        if vehicle.sold_here and (day - vehicle.purchase_date).days <= 30:
            # Film, mats and a dash cam in the weeks after delivery.
            return RepairOrder.Kind.ACCESSORY
        kind = self.pick(data.OTHER_KINDS)
        in_warranty = day <= vehicle.warranty_end_date and mileage <= vehicle.warranty_end_km
        if kind == RepairOrder.Kind.WARRANTY and not in_warranty:
            return RepairOrder.Kind.REPAIR
        return kind

    def repair_order(
        self, car: _Car, customer: Customer, store: _Store, kind: str, day: datetime.date, mileage: int
    ) -> RepairOrder:
        rng = self.rng
        opened_at = self.at(day, earliest=8 * 60 + 30, latest=16 * 60 + 30)
        closed_at = opened_at + self.duration(kind)
        labour, parts = self.amounts(kind, car.spec)
        order = RepairOrder(
            dealership_id=store.dealership.pk,
            number=self.ro_number(store, day),
            advisor_id=customer.advisor_id if rng.random() < 0.85 else rng.choice(store.advisors).pk,
            kind=kind,
            opened_at=opened_at,
            # Work still in the bay on ``today`` is an open order.
            closed_at=closed_at if closed_at < self.start_of_today else None,
            mileage=mileage,
            payer=PAYERS.get(kind, RepairOrder.Payer.CUSTOMER),
            labor_amount=_cents(labour),
            parts_amount=_cents(parts),
            total_amount=_cents(labour + parts),
        )
        lines = self.lines(kind, car, labour, parts)
        order.work_done = "；".join(line.description for line in lines if line.status == RepairLine.Status.DONE)
        self.repair_orders.add(order, vehicle_id=car.vehicle, customer_id=customer)
        for line in lines:
            self.repair_lines.add(line, repair_order_id=order)
        return order

    def duration(self, kind: str) -> datetime.timedelta:
        if kind in (RepairOrder.Kind.ACCIDENT, RepairOrder.Kind.BODYWORK):
            # Body and paint work keeps the car for days.
            return datetime.timedelta(days=self.rng.randint(0, 5), minutes=self.rng.randint(120, 480))
        low, high = WORK_MINUTES.get(kind, (60, 180))
        return datetime.timedelta(minutes=self.rng.randint(low, high))

    def amounts(self, kind: str, spec: data.ModelSpec) -> tuple[int, int]:
        """Labour (whole tens of yuan) and parts, both in cents; never both zero."""
        (labour_low, labour_high), (parts_low, parts_high) = data.AMOUNTS[kind]
        labour = round(self.rng.randint(labour_low, labour_high) * spec.price_factor / 10) * 1000
        parts = int(self.rng.randint(parts_low * 100, parts_high * 100) * spec.price_factor)
        if labour + parts == 0:
            labour = 5000
        return labour, parts

    def ro_number(self, store: _Store, day: datetime.date) -> str:
        key = (store.spec.code, day)
        self.ro_numbers[key] += 1
        return f"RO{store.spec.code.upper()}{day.year}{day.month:02d}{day.day:02d}{self.ro_numbers[key]:03d}"

    def lines(self, kind: str, car: _Car, labour: int, parts: int) -> list[RepairLine]:
        """A labour line and one or two part lines that add up to the order's amounts."""
        rng = self.rng
        electric = car.model.energy == VehicleModel.Energy.ELECTRIC
        catalogue = "maintenance_ev" if kind == RepairOrder.Kind.MAINTENANCE and electric else kind
        lines = []
        if labour:
            lines.append(self.line(data.LABOUR_LINES[catalogue], RepairLine.LineType.LABOR, labour))
        if parts:
            split = [parts]
            if parts >= 2 and rng.random() < 0.15:
                first = min(max(parts * rng.randint(30, 70) // 100, 1), parts - 1)
                split = [first, parts - first]
            for description, amount in zip(rng.sample(data.PART_LINES[catalogue], len(split)), split, strict=True):
                lines.append(self.line(description, RepairLine.LineType.PART, amount))
        if rng.random() < 0.1:
            description, quote = rng.choice(data.DECLINED_WORK)
            lines.append(
                RepairLine(
                    line_type=RepairLine.LineType.PART,
                    description=description,
                    amount=Decimal("0.00"),
                    quoted_amount=Decimal(round(quote * car.spec.price_factor)).quantize(Decimal("0.01")),
                    status=RepairLine.Status.DECLINED,
                )
            )
        return lines

    @staticmethod
    def line(description: str, line_type: str, cents: int) -> RepairLine:
        return RepairLine(
            line_type=line_type,
            description=description,
            amount=_cents(cents),
            status=RepairLine.Status.DONE,
        )

    # --- Appointments ------------------------------------------------------------------

    def add_appointments(self) -> None:
        """Some loyal customers have booked their next visit within the fortnight."""
        rng = self.rng
        for customer, vehicle, store in self.loyal:
            if rng.random() >= 0.1:
                continue
            day = self.today + datetime.timedelta(days=rng.randint(1, 14))
            slot = rng.randint(0, 14)  # half-hour slots from 09:00
            kind = RepairOrder.Kind.MAINTENANCE if rng.random() < 0.8 else RepairOrder.Kind.REPAIR
            self.appointments.add(
                Appointment(
                    dealership_id=store.dealership.pk,
                    advisor_id=customer.advisor_id,
                    scheduled_at=datetime.datetime(
                        day.year, day.month, day.day, 9 + slot // 2, 30 * (slot % 2), tzinfo=self.tz
                    ),
                    kind=kind,
                    status=Appointment.Status.BOOKED,
                    notes=rng.choice(data.APPOINTMENT_NOTES[kind]),
                ),
                customer_id=customer,
                vehicle_id=vehicle,
            )

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
        )
