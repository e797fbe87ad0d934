"""The rows of ``bench/fill_group.py``: one worker process writes one slice of
the group's customers (with their cars, odometer readings, repair orders,
insurance policies, club cards and churn events) as COPY text files.

The people and the cars are drawn the way the demo draws them: its lists
(``demo.data``), its behaviours (``demo.services.behaviour``) and its
drawing methods (``demo.services.customers/vehicles/workshop``), called on a
small stand-in for the demo's ``Builder`` that carries the random source.
What the demo keeps unique with Python sets across one process (mobiles, ID
numbers, VINs, plates, repair order numbers) is made unique here by
construction, so that two workers never collide. The hot path (ten million
repair orders) formats rows itself: a Django model instance per row would cost
more than the whole target.

Nothing here touches the database; ``bench/_group_load.py`` COPYs the files.
"""

import bisect
import dataclasses
import datetime
import functools
import itertools
import json
import math
import random
from pathlib import Path

from dateutil.relativedelta import relativedelta

from crm.fields import encrypt_text, id_number_digest
from crm.validators import id_number_check_digit, vin_check_digit
from customers.models import ChurnEvent, Customer
from demo import data
from demo.services.behaviour import BEHAVIOURS, LEAD_DAYS, LOST, LOYAL, NEW, Behaviour
from demo.services.builder import Builder
from demo.services.customers import Customers
from demo.services.dates import inspection_due, lunar_birthday, next_anniversary
from demo.services.vehicles import NEW_ENERGY, PLATE_LETTERS, Vehicles
from demo.services.workshop import PAYERS, WORK_MINUTES, RepairHistory
from loyalty.models import MembershipCard
from service.models import InsurancePolicy, RepairOrder
from vehicles.models import MileageReading, Vehicle, VehicleModel

NULL = "\\N"
# Asia/Shanghai has kept UTC+8 all year since 1991: every timestamp is written with it.
OFFSET = "+08"
# Coprime with 10**8: the mobile number's last eight digits are a bijection of the customer's index.
MOBILE_MULTIPLIER = 73_939_133
# Repair orders by kind of visit in the demo's ratio of the kinds it bills to insurers and carmakers.
CUSTOMER_PAYER = RepairOrder.Payer.CUSTOMER.value
MAINTENANCE_VALUE = RepairOrder.Kind.MAINTENANCE.value
ACCESSORY_VALUE = RepairOrder.Kind.ACCESSORY.value
WARRANTY_VALUE = RepairOrder.Kind.WARRANTY.value
REPAIR_VALUE = RepairOrder.Kind.REPAIR.value
# The demo's catalogue of lines for an electric car's maintenance (demo.data.LABOUR_LINES).
MAINTENANCE_EV = "maintenance_ev"
# demo RepairHistory.duration: body and paint work keeps the car 0–5 days and 120–480 minutes;
# other kinds take WORK_MINUTES or 60–180 minutes.
LONG_KINDS = (RepairOrder.Kind.ACCIDENT.value, RepairOrder.Kind.BODYWORK.value)
# Pre-drawn visits per kind and price level (Slice.kind_table).
POOL = 2048
# A small share of orders is cancelled after opening (voided: they count for nothing).
VOID_SHARE = 0.004
# Shares of cars whose insurance the store sold, by the customer's behaviour:
# loyal customers renew with us, lost ones did so before they left.
INSURED_HERE = {LOYAL.name: 0.35, "drifting": 0.2, LOST.name: 0.05, NEW.name: 0.5}
RENEWED_HERE = 0.7
# Club members: most loyal customers, some of the others.
CARD_SHARE = {LOYAL.name: 0.3, "drifting": 0.1, LOST.name: 0.05, NEW.name: 0.05}


# --- What the worker is given ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StoreRow:
    id: int
    code: str
    spec_index: int
    weight: float
    advisors: tuple[int, ...]
    technicians: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class ModelRow:
    id: int
    spec_index: int


@dataclasses.dataclass(frozen=True)
class Policy:
    """The tier policy's figures the recompute scores with (customers.TierPolicy)."""

    window_months: int
    weights: tuple[int, int, int, int, int, int]
    spend_target: float
    visits_target: int
    tenure_target_years: int
    a_min_score: int
    a_min_visits: int
    a_min_paid_share: int
    c_visit_cycle_months: int
    at_risk_months: int
    lost_months: int
    default_km_per_day: int


@dataclasses.dataclass(frozen=True)
class Job:
    """One worker's slice: customers ``first_customer``… and the ids it may use."""

    worker: int
    workers: int
    seed: int
    today: datetime.date
    window_days: int
    density: float
    customers: int
    first_customer: int  # 0-based global index of the slice's first customer (its id is this + 1)
    vehicles: int
    first_vehicle: int
    orders: int
    stores: tuple[StoreRow, ...]
    models: tuple[ModelRow, ...]
    policy: Policy
    directory: str
    constants: dict  # table -> the COPY text of the columns the fill does not draw (field defaults)
    pilot: bool = False


@dataclasses.dataclass
class Counts:
    customers: int = 0
    vehicles: int = 0
    readings: int = 0
    orders: int = 0
    policies: int = 0
    cards: int = 0
    churn_events: int = 0
    natural_visits: int = 0
    months: list = dataclasses.field(default_factory=list)


# --- The demo's drawing methods on a stand-in Builder -------------------------------


class FastRandom(random.Random):
    """The same draws as ``random.Random`` for what the fill needs, from one
    ``random()`` each: the standard integer draws go through four Python calls
    and ``getrandbits`` (several µs here); a float scaled to the range is
    uniform enough for test data."""

    def _randbelow(self, n: int) -> int:
        return int(self.random() * n)

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]


class Draws:
    """Carries what the demo's drawing methods read from ``self`` (the random
    source, today, the weight tables) and lends them those methods; nothing
    else of the demo's Builder (its row tables, its uniqueness sets)."""

    days_ago = Builder.days_ago
    given_name = Customers.given_name
    birth_date = Customers.birth_date
    employer = Customers.employer
    address = Customers.address
    sold_here = Customers.sold_here
    car_age = Vehicles.car_age
    usage = Vehicles.usage
    km_per_day = Vehicles.km_per_day
    ordinary_plate_tail = Vehicles.ordinary_plate_tail
    new_car_visits = RepairHistory.new_car_visits
    visit_dates = RepairHistory.visit_dates
    last_visit = RepairHistory.last_visit
    first_visit_elsewhere_bought = RepairHistory.first_visit_elsewhere_bought
    visit_kind = RepairHistory.visit_kind
    amounts = RepairHistory.amounts
    duration = RepairHistory.duration

    def __init__(self, rng: random.Random, today: datetime.date) -> None:
        self.rng = rng
        self.today = today
        self.yesterday = today - datetime.timedelta(days=1)
        self.weight_tables: dict = {}

    def pick(self, weighted: tuple[tuple[str, int], ...]) -> str:
        """Builder.pick (a value of a weighted list) with one bisect instead of ``choices``."""
        table = self.weight_tables.get(id(weighted))
        if table is None:
            values, weights = zip(*weighted, strict=True)
            table = self.weight_tables[id(weighted)] = (values, list(itertools.accumulate(weights)))
        values, cum = table
        return values[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def first_maintenance_due(self, car) -> datetime.date:
        """RepairHistory.first_maintenance_due with the month arithmetic cached."""
        purchase = car.vehicle.purchase_date
        by_time = _add_months(purchase, car.model.first_maintenance_months)
        by_km = purchase + datetime.timedelta(days=int(car.model.first_maintenance_km / car.km_per_day))
        return min(by_time, by_km)


class CarVehicle:
    """The attributes of a Vehicle the demo's visit methods read."""

    __slots__ = ("purchase_date", "sold_here", "usage", "warranty_end_date", "warranty_end_km")

    def __init__(self, purchase_date, sold_here, usage, warranty_end_date, warranty_end_km):
        self.purchase_date = purchase_date
        self.sold_here = sold_here
        self.usage = usage
        self.warranty_end_date = warranty_end_date
        self.warranty_end_km = warranty_end_km


class Car:
    """The demo's ``Car`` (rows.Car) without a Vehicle instance."""

    __slots__ = ("delivery_km", "km_per_day", "model", "spec", "vehicle", "visits")

    def __init__(self, vehicle, spec, model, km_per_day, delivery_km):
        self.vehicle = vehicle
        self.spec = spec
        self.model = model
        self.km_per_day = km_per_day
        self.delivery_km = delivery_km
        self.visits = []


# --- Cached dates --------------------------------------------------------------------


@functools.cache
def _add_months(day: datetime.date, months: int) -> datetime.date:
    return day + relativedelta(months=months)


@functools.cache
def _anniversary(day: datetime.date, after: datetime.date) -> datetime.date:
    return next_anniversary(day, after=after)


@functools.cache
def _inspection(day: datetime.date, usage: str, today: datetime.date) -> datetime.date:
    return inspection_due(day, usage, today=today)


@functools.cache
def _lunar(day: datetime.date) -> tuple[int, int, bool]:
    return lunar_birthday(day)


def _text(value) -> str:
    """A constant as COPY text (only field defaults go through here)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --- The worker ----------------------------------------------------------------------


class Slice:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.rng = FastRandom(f"fill-group:{job.seed}:{job.worker}:{job.workers}:{int(job.pilot)}")
        self.rnd = self.rng.random
        self.today = job.today
        self.draws = Draws(self.rng, job.today)
        self.window_start = job.today - datetime.timedelta(days=job.window_days)
        self.counts = Counts()
        self.specs = data.MODELS
        self.models = {m.spec_index: m for m in job.models}
        self.model_objects = [
            VehicleModel(
                id=m.id,
                brand=data.MODELS[m.spec_index].brand,
                name=data.MODELS[m.spec_index].name,
                energy=data.MODELS[m.spec_index].energy,
                first_maintenance_km=data.MODELS[m.spec_index].first_maintenance_km,
                first_maintenance_months=data.MODELS[m.spec_index].first_maintenance_months,
                maintenance_interval_km=data.MODELS[m.spec_index].maintenance_interval_km,
                maintenance_interval_months=data.MODELS[m.spec_index].maintenance_interval_months,
                warranty_months=data.MODELS[m.spec_index].warranty_months,
                warranty_km=data.MODELS[m.spec_index].warranty_km,
            )
            for m in sorted(job.models, key=lambda m: m.spec_index)
        ]
        self.store_cum = list(itertools.accumulate(s.weight for s in job.stores))
        # Catalogue choices per store template: every model, or the brands the store sells.
        self.catalogue = {}
        for index, spec in enumerate(data.STORES):
            sold = [i for i, m in enumerate(data.MODELS) if m.brand in spec.brands]
            every = list(range(len(data.MODELS)))
            self.catalogue[index] = {
                True: (sold, list(itertools.accumulate(data.MODELS[i].weight for i in sold))),
                False: (every, list(itertools.accumulate(data.MODELS[i].weight for i in every))),
            }
        self.behaviour_cum = list(itertools.accumulate(b.weight for b in BEHAVIOURS))
        self.districts = {
            i: (spec.districts, list(itertools.accumulate(d.weight for d in spec.districts)))
            for i, spec in enumerate(data.STORES)
        }
        self.technician_cum = list(itertools.accumulate(data.TECHNICIAN_WEIGHTS[: data.TECHNICIANS_PER_STORE]))
        # Dates as text, by ordinal: every date the rows use lies within these years.
        first = datetime.date(job.today.year - 12, 1, 1)
        self.day_base = first.toordinal()
        self.day_text = [
            (first + datetime.timedelta(days=i)).isoformat() for i in range((job.today - first).days + 8 * 366)
        ]
        self.minute_text = [f"{m // 60:02d}:{m % 60:02d}:00{OFFSET}" for m in range(1440)]
        # The same by day ordinal, for the hot path (repair orders).
        self.day_text_ord = {self.day_base + i: text for i, text in enumerate(self.day_text)}
        self.day_compact_ord = {o: text.replace("-", "") for o, text in self.day_text_ord.items()}
        month_base = self.window_start.year * 12 + self.window_start.month - 1
        self.month_of_ord = {
            o: f"orders_{int(text[:4]) * 12 + int(text[5:7]) - 1 - month_base:03d}"
            for o, text in self.day_text_ord.items()
            if o >= self.window_start.toordinal()
        }
        self.today_ord = job.today.toordinal()
        self.window_ord = self.window_start.toordinal()
        values, weights = zip(*data.OTHER_KINDS, strict=True)
        self.other_kinds = ([str(v) for v in values], list(itertools.accumulate(weights)), sum(weights))
        self.kind_tables = {
            (spec.price_factor, spec.energy == VehicleModel.Energy.ELECTRIC): self.kind_table(
                spec.price_factor, spec.energy == VehicleModel.Energy.ELECTRIC
            )
            for spec in data.MODELS
        }
        self.month_base = self.window_start.year * 12 + self.window_start.month - 1
        self.n_days = (job.today - self.window_start).days + 10
        self.ro_counters = [0] * (len(job.stores) * self.n_days)
        self.id_numbers: set[str] = set()
        self.vin_serials = [0] * len(data.MODELS)
        self.plate_counters: dict = {}
        self.recent_referrers: dict[int, list[int]] = {}
        # The tier policy's thresholds as of today (the recompute's ``_before``).
        p = job.policy
        self.window_from = job.today - relativedelta(months=p.window_months)
        self.window_from_ord = self.window_from.toordinal()
        # analytics.services._steps and _tenure, as day ordinals.
        self.recency_steps = [
            ((job.today - relativedelta(months=m)).toordinal(), v)
            for m, v in ((1, 1.0), (3, 0.75), (6, 0.5), (12, 0.25))
        ]
        self.at_risk_before = (job.today - relativedelta(months=p.at_risk_months)).toordinal()
        self.lost_before = (job.today - relativedelta(months=p.lost_months)).toordinal()
        years = max(p.tenure_target_years, 1)
        self.tenure_steps = [((job.today - relativedelta(years=n)).toordinal(), n / years) for n in range(years, 0, -1)]
        self.cycle_visits = max(p.window_months // max(p.c_visit_cycle_months, 1), 1)
        self.weight_total = sum(p.weights) or 1
        self.natural_in_window = 0
        self.files: dict[str, object] = {}

    def kind_table(self, price: float, electric: bool) -> dict:
        """Per kind of order: a pool of pre-drawn visits with the demo's rules
        (RepairHistory.amounts on data.AMOUNTS, RepairHistory.duration, the lines
        of data.LABOUR_LINES / PART_LINES, the payer of PAYERS), as (minutes in
        the workshop, total in cents, the row's text from payer to total). An
        order takes one at random: one draw instead of eight per order."""
        rng = self.rng
        table = {}
        for kind, ((labour_low, labour_high), (parts_low, parts_high)) in data.AMOUNTS.items():
            payer = str(PAYERS.get(kind, CUSTOMER_PAYER))
            catalogue = MAINTENANCE_EV if kind == MAINTENANCE_VALUE and electric else kind
            work_low, work_high = (120, 480) if kind in LONG_KINDS else WORK_MINUTES.get(kind, (60, 180))
            pool = []
            for _ in range(POOL):
                labour = round(rng.randint(labour_low, labour_high) * price / 10) * 1000
                parts = int(rng.randint(parts_low * 100, parts_high * 100) * price)
                if labour + parts == 0:
                    labour = 5000
                minutes = rng.randint(work_low, work_high) + (1440 * rng.randint(0, 5) if kind in LONG_KINDS else 0)
                work_done = data.LABOUR_LINES[catalogue] if labour else ""
                if parts:
                    part = rng.choice(data.PART_LINES[catalogue])
                    work_done = f"{work_done}；{part}" if work_done else part
                total = labour + parts
                text = f"{payer}\t{work_done}\t{money(labour)}\t{money(parts)}\t{money(total)}"
                pool.append((minutes, total, text))
            table[kind] = (pool, payer == CUSTOMER_PAYER, kind in data.WORKSHOP_KINDS)
        return table

    # --- Output --------------------------------------------------------------------

    def open(self, name: str):
        handle = self.files.get(name)
        if handle is None:
            path = Path(self.job.directory) / f"{name}.w{self.job.worker}.tsv"
            handle = self.files[name] = open(path, "w", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
        return handle

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()

    def day(self, d: datetime.date) -> str:
        return self.day_text[d.toordinal() - self.day_base]

    def stamp(self, d: datetime.date, minute: int) -> str:
        """A timestamp ``minute`` minutes after midnight of ``d`` (may run into later days)."""
        days, minute = divmod(minute, 1440)
        return f"{self.day_text[d.toordinal() - self.day_base + days]} {self.minute_text[minute]}"

    # --- Drawing -------------------------------------------------------------------

    def run(self) -> Counts:
        job = self.job
        customers_file = self.open("customers")
        vehicles_file = self.open("vehicles")
        readings_file = self.open("readings")
        cars_made = 0
        orders_made = 0
        extra_cars_mean = max(job.vehicles - job.customers * (1 - NEW.weight / 100), 0) / max(
            job.customers * (1 - NEW.weight / 100), 1
        )
        q = extra_cars_mean / (1 + extra_cars_mean)
        for i in range(job.customers):
            behaviour = BEHAVIOURS[bisect.bisect(self.behaviour_cum, self.rnd() * self.behaviour_cum[-1])]
            # Cars per customer: one, more for some (steered so the slice ends on its exact count).
            wanted = 1
            if behaviour is not NEW:
                while self.rnd() < q:
                    wanted += 1
            target = round((i + 1) * job.vehicles / job.customers)
            slack = min(5, job.customers - 1 - i)
            wanted = min(max(wanted, target - slack - cars_made), target + slack - cars_made)
            if i == job.customers - 1:
                wanted = job.vehicles - cars_made
            wanted = max(wanted, 0)
            orders_made = self.customer(job.first_customer + i, behaviour, wanted, cars_made, orders_made)
            cars_made += wanted
        self.counts.customers = job.customers
        self.counts.vehicles = cars_made
        self.counts.orders = orders_made
        self.counts.natural_visits = self.natural_in_window
        del customers_file, vehicles_file, readings_file
        self.close()
        self.counts.months = sorted(int(name.split("_")[1]) for name in self.files if name.startswith("orders_"))
        return self.counts

    def customer(self, index: int, behaviour: Behaviour, car_count: int, cars_made: int, orders_made: int) -> int:
        job, rng, rnd, draws = self.job, self.rng, self.rnd, self.draws
        customer_id = index + 1
        store_no = bisect.bisect(self.store_cum, rnd() * self.store_cum[-1])
        store = job.stores[store_no]
        spec = data.STORES[store.spec_index]
        districts, district_cum = self.districts[store.spec_index]
        district = districts[bisect.bisect(district_cum, rnd() * district_cum[-1])]
        male = rnd() < 0.62
        occupation = draws.pick(data.OCCUPATIONS)
        born = draws.birth_date(occupation)
        id_number = self.id_number(district.region_code, born, male) if rnd() < 0.85 else ""
        birthday = born if id_number or rnd() < 0.3 else None
        gender = Customer.Gender.MALE if male else Customer.Gender.FEMALE
        if not id_number and rnd() < 0.1:
            gender = Customer.Gender.UNKNOWN
        source = draws.pick(data.SOURCES)
        advisor = store.advisors[int(rnd() * len(store.advisors))]
        referred_by = NULL
        referrers = self.recent_referrers.setdefault(store.id, [])
        if source == Customer.Source.REFERRAL and referrers:
            referred_by = str(referrers[int(rnd() * len(referrers))])
        lunar = (NULL, NULL, "f")
        if birthday and rnd() < 0.34:
            month, day, leap = _lunar(birthday)
            lunar = (str(month), str(day), "t" if leap else "f")

        # Cars and their history.
        visits_all: list[int] = []  # day ordinals of the orders written
        window_orders: list[tuple] = []  # (day ordinal, paid by the customer, total cents) in the tier window
        starts: list[datetime.date] = []
        cars = []
        for car_index in range(car_count):
            sold_here = draws.sold_here(source, car_index)
            car, orders_made = self.car(
                customer_id,
                cars_made + car_index,
                store_no,
                store,
                behaviour,
                occupation,
                sold_here,
                advisor,
                orders_made,
                visits_all,
                window_orders,
            )
            cars.append(car)
            if car.vehicle.sold_here:
                starts.append(car.vehicle.purchase_date)
        visits_all.sort()
        if visits_all:
            starts.append(datetime.date.fromordinal(visits_all[0]))
        since = min(starts) if starts else self.today - datetime.timedelta(days=LEAD_DAYS)
        # The tier and churn state the nightly recompute would give (analytics.services).
        tier, churn, score, confirm = self.tier(window_orders, cars, since)
        last_visit = visits_all[-1] if visits_all else None
        visit_pattern = ""
        if len(visits_all) >= 3:
            months = (visits_all[-1] - visits_all[0]) / (len(visits_all) - 1) / 30.4
            visit_pattern = f"平均约{months:.0f}个月回厂一次"
        consent, consent_at = "f", NULL
        if rnd() < 0.7:
            consent = "t"
            consent_at = self.stamp(since, 9 * 60 + int(rnd() * 480))
        created = self.stamp(since, 8 * 60)
        phone = self.mobile(index)
        encrypted, digest = (encrypt_text(id_number), id_number_digest(id_number)) if id_number else ("", "")
        name = draws.pick(data.SURNAMES) + draws.given_name(male)
        hobbies = "、".join(rng.sample(data.HOBBIES, rng.choice((0, 0, 1, 2))))
        self.files["customers"].write(
            "\t".join(
                (
                    str(customer_id),
                    str(store.id),
                    name,
                    phone,
                    encrypted,
                    digest,
                    gender,
                    occupation,
                    draws.employer(occupation, district),
                    draws.pick(data.EDUCATION),
                    draws.pick(data.INCOME_BANDS),
                    hobbies,
                    spec.province,
                    spec.city,
                    district.name,
                    draws.address(spec, district),
                    draws.pick(data.CHANNELS),
                    birthday.isoformat() if birthday else NULL,
                    *lunar,
                    consent,
                    consent_at,
                    source,
                    referred_by,
                    str(advisor),
                    tier,
                    churn,
                    self.day_text_ord[last_visit] if last_visit else NULL,
                    f"{score:.1f}",
                    "t" if confirm else "f",
                    visit_pattern,
                    created,
                    created,
                )
            )
            + self.job.constants["customers"]
            + "\n"
        )
        if source == Customer.Source.BOUGHT_HERE:
            referrers.append(customer_id)
            if len(referrers) > 200:
                del referrers[:100]
        self.churn_events(customer_id, visits_all, confirm)
        self.card(customer_id, store, behaviour, since, window_orders)
        return orders_made

    def car(
        self,
        customer_id,
        car_no,
        store_no,
        store,
        behaviour,
        occupation,
        sold_here,
        advisor,
        orders_made,
        visits_all,
        window_orders,
    ):
        job, rnd, draws = self.job, self.rnd, self.draws
        vehicle_id = job.first_vehicle + car_no + 1
        # The model: one of the brands the store sells when bought here (demo Vehicles.new_car).
        indices, cum = self.catalogue[store.spec_index][sold_here]
        spec_index = indices[bisect.bisect(cum, rnd() * cum[-1])]
        spec, model = data.MODELS[spec_index], self.model_objects[spec_index]
        purchase = self.today - datetime.timedelta(days=draws.car_age(behaviour))
        usage = draws.usage(occupation)
        warranty_end = _add_months(purchase, model.warranty_months)
        vehicle = CarVehicle(purchase, sold_here, usage, warranty_end, model.warranty_km)
        car = Car(vehicle, spec, model, draws.km_per_day(usage), int(rnd() * 51))
        natural = draws.new_car_visits(car) if behaviour is NEW else draws.visit_dates(car, behaviour)
        window_start = self.window_start
        in_window = [d for d in natural if d >= window_start]
        self.natural_in_window += len(in_window)
        # More visits than the demo's rhythm where the group's order count asks for it
        # (repairs, accessories, events between the maintenances), steered to the slice's count.
        wanted = len(in_window)
        extra_mean = (job.density - 1) * len(in_window)
        if not job.pilot and in_window:
            # Feedback on the running deficit against the slice's count, spread over
            # the next cars, so no car is pinned to an exact number by the clamp below.
            extra_mean += 0.02 * (car_no * job.orders / job.vehicles - orders_made)
        if extra_mean > 0:
            wanted += self.poisson(extra_mean)
        elif extra_mean < 0 and len(in_window) > 1:
            wanted -= sum(1 for _ in in_window[:-1] if rnd() < -extra_mean / len(in_window))
        if not job.pilot:
            target = round((car_no + 1) * job.orders / job.vehicles)
            slack = min(200, job.vehicles - 1 - car_no)
            wanted = min(max(wanted, target - slack - orders_made), target + slack - orders_made)
            if not in_window and behaviour is not NEW:
                # The car's last visit was before the window: nothing to add after it.
                wanted = 0
            if car_no == job.vehicles - 1:
                wanted = job.orders - orders_made
            wanted = max(wanted, 0)
        lo = max(window_start, purchase + datetime.timedelta(days=1)).toordinal()
        visits = [d.toordinal() for d in natural if d < window_start]
        in_window = [d.toordinal() for d in in_window]
        if wanted <= len(in_window):
            keep = in_window[-1:] if wanted else []
            if wanted > 1:
                keep = sorted(self.rng.sample(in_window[:-1], wanted - 1)) + keep
            visits += keep
        else:
            end = in_window[-1] if in_window else self.today_ord - 1
            span = end - lo
            if span <= 0:
                lo, span = end, 1
            visits += sorted(in_window + [lo + int(rnd() * span) for _ in range(wanted - len(in_window))])
        self.counts.readings += 1
        vid, cid = str(vehicle_id), str(customer_id)
        made, mileage, first_m, last_m = self.history(
            car, visits, store_no, store, advisor, vid, cid, visits_all, window_orders
        )
        orders_made += made
        # The car's figures as service.services.vehicle_service_stats_refresh keeps them.
        current_km, current_on = car.delivery_km, purchase
        if visits:
            current_km, current_on = mileage, datetime.date.fromordinal(visits[-1])
        span = (current_on - purchase).days
        km_per_day = NULL
        if span >= 30:
            km_per_day = f"{(current_km - car.delivery_km) / span:.1f}"
        readings = self.files["readings"]
        extra = job.constants["readings"]
        readings.write(f"{vid}\t{self.day(purchase)}\t{car.delivery_km}\t{MileageReading.Source.DELIVERY}{extra}\n")
        if visits:
            readings.write(
                f"{vid}\t{self.day(current_on)}\t{current_km}\t{MileageReading.Source.REPAIR_ORDER}{extra}\n"
            )
            self.counts.readings += 1
        expiry = _anniversary(purchase, self.today)
        insurer = draws.pick(data.INSURERS) if rnd() < 0.85 else ""
        self.files["vehicles"].write(
            "\t".join(
                (
                    vid,
                    cid,
                    self.vin(spec, spec_index, purchase.year),
                    str(model.id),
                    self.plate(data.STORES[store.spec_index], model.energy),
                    f"{spec.engine_prefix}{int(rnd() * 10**6):06d}",
                    draws.pick(data.COLOURS),
                    self.day(purchase),
                    "t" if sold_here else "f",
                    usage,
                    *first_m,
                    str(current_km),
                    self.day(current_on),
                    *last_m,
                    km_per_day,
                    self.day(warranty_end),
                    str(model.warranty_km),
                    self.day(expiry),
                    insurer,
                    self.day(_inspection(purchase, usage, self.today)),
                    self.stamp(purchase, 10 * 60),
                )
            )
            + job.constants["vehicles"]
            + "\n"
        )
        self.policies(vehicle_id, customer_id, store, behaviour, purchase, expiry, insurer, spec, advisor)
        car.visits = visits
        car.km_per_day = float(km_per_day) if km_per_day != NULL else None
        return car, orders_made

    def history(self, car, visits, store_no, store, advisor, vid, cid, visits_all, window_orders):
        """The car's repair orders, one per visit inside the window (``visits``:
        day ordinals, the demo's rhythm and the added visits, oldest first).

        The rules per visit are the demo's (demo.services.workshop.RepairHistory:
        ``visit_kind``, ``amounts``, ``duration``, ``repair_order``) with its
        constants (data.OTHER_KINDS, data.AMOUNTS, PAYERS, WORK_MINUTES), restated
        on day numbers and one random draw each: the demo's methods cost ~30 µs a
        visit here, ten million visits cannot afford them. Returns the orders
        written, the last mileage, and the first and last maintenance (COPY text)."""
        job, rnd = self.job, self.rnd
        vehicle, model = car.vehicle, car.model
        purchase = vehicle.purchase_date.toordinal()
        warranty_end = vehicle.warranty_end_date.toordinal()
        warranty_km = vehicle.warranty_end_km
        sold_here = vehicle.sold_here
        # A visit close to either limit is used for the maintenance (70 % of months or km).
        due_days = (model.first_maintenance_months * 30.4 * 0.7, model.maintenance_interval_months * 30.4 * 0.7)
        due_km = (model.first_maintenance_km * 0.7, model.maintenance_interval_km * 0.7)
        kinds = self.kind_tables[car.spec.price_factor, model.energy == VehicleModel.Energy.ELECTRIC]
        other_values, other_cum, other_total = self.other_kinds
        serviced_on, serviced_km, first = purchase, car.delivery_km, 1
        previous, mileage = purchase, car.delivery_km
        kpd = car.km_per_day
        first_m = (NULL, NULL)
        last_m = (NULL, NULL)
        team = store.technicians
        tech_cum, tech_total = self.technician_cum, self.technician_cum[-1]
        advisors = store.advisors
        ro_counters, ro_base = self.ro_counters, store_no * self.n_days - self.window_ord
        code = store.code.upper()
        day_text, day_compact, month_of = self.day_text_ord, self.day_compact_ord, self.month_of_ord
        minute_text = self.minute_text
        window_start, window_from, today = self.window_ord, self.window_from_ord, self.today_ord
        workers, worker = job.workers, job.worker
        tail = f"\t{vid}\t{cid}\t"
        after = job.constants["orders"] + "\n"
        number_prefix = f"{store.id}\tRO{code}"
        files, open_file = self.files, self.open
        made = 0
        for day in visits:
            mileage += int(kpd * (day - previous) * (0.75 + 0.5 * rnd()))
            previous = day
            # demo RepairHistory.visit_kind
            if (
                day - serviced_on >= due_days[1 - first] or mileage - serviced_km >= due_km[1 - first]
            ) and rnd() < 0.92:
                kind = MAINTENANCE_VALUE
                if first:
                    first_m = (day_text[day], str(mileage))
                serviced_on, serviced_km, first = day, mileage, 0
                if day >= window_start:
                    # As vehicle_service_stats_refresh derives it: from the maintenance orders on record.
                    last_m = (day_text[day], str(mileage))
            elif sold_here and day - purchase <= 30:
                kind = ACCESSORY_VALUE
            else:
                kind = other_values[bisect.bisect(other_cum, rnd() * other_total)]
                if kind == WARRANTY_VALUE and not (day <= warranty_end and mileage <= warranty_km):
                    kind = REPAIR_VALUE
            if day < window_start:
                continue
            made += 1
            pool, paid, workshop = kinds[kind]
            minutes, total, text = pool[int(rnd() * POOL)]
            # demo RepairHistory.repair_order: opened 08:30–16:30; work still in the bay today is open.
            opened_minute = 510 + int(rnd() * 481)
            closed_minute = opened_minute + minutes
            closed_day, closed_in_day = day + closed_minute // 1440, closed_minute % 1440
            opened = f"{day_text[day]} {minute_text[opened_minute]}"
            if closed_day >= today:
                closed = NULL
                updated = opened
                technician = NULL
            else:
                closed = updated = f"{day_text[closed_day]} {minute_text[closed_in_day]}"
                technician = str(team[bisect.bisect(tech_cum, rnd() * tech_total)]) if workshop else NULL
            slot = ro_base + day
            sequence = ro_counters[slot] * workers + worker + 1
            ro_counters[slot] += 1
            order_advisor = advisor if rnd() < 0.85 else advisors[int(rnd() * len(advisors))]
            voided = NULL
            if rnd() < VOID_SHARE:
                voided = updated = f"{day_text[day]} {minute_text[min(opened_minute + 30, 1439)]}"
            month = month_of[day]
            handle = files.get(month) or open_file(month)
            handle.write(
                f"{number_prefix}{day_compact[day]}{sequence:03d}{tail}{order_advisor}\t{technician}\t"
                f"{kind}\t{opened}\t{closed}\t{mileage}\t{text}\t{voided}\t{updated}{after}"
            )
            visits_all.append(day)
            if day >= window_from:
                window_orders.append((day, paid, total))
        return made, mileage, first_m, last_m

    def poisson(self, mean: float) -> int:
        """A Poisson draw (Knuth's method for small means, a rounded normal for large ones)."""
        if mean > 30:
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, k, p = math.exp(-mean), 0, self.rnd()
        while p > limit:
            k += 1
            p *= self.rnd()
        return k

    # --- Identities, unique by construction ----------------------------------------

    def mobile(self, index: int) -> str:
        prefixes = data.MOBILE_PREFIXES
        prefix = prefixes[index % len(prefixes)]
        return f"{prefix}{(index // len(prefixes) * MOBILE_MULTIPLIER + 12_345_678) % 10**8:08d}"

    def id_number(self, region_code: str, born: datetime.date, male: bool) -> str:
        """GB 11643 like the demo's (Customers.id_number); each worker draws from its own
        share of the sequence numbers, so two workers never give the same number."""
        share = 500 // self.job.workers
        for attempt in range(50):
            sequence = (int(self.rnd() * share) * self.job.workers + self.job.worker) * 2 + (1 if male else 0)
            first17 = f"{region_code}{born.year}{born.month:02d}{born.day:02d}{sequence:03d}"
            number = first17 + id_number_check_digit(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number
            if attempt % 10 == 9:
                born += datetime.timedelta(days=1)
        return ""

    def vin(self, spec, spec_index: int, year: int) -> str:
        """The demo's VIN layout (Vehicles.vin) with a serial per model that only grows, split between workers."""
        serial = 100_000 + self.vin_serials[spec_index] * self.job.workers + self.job.worker
        self.vin_serials[spec_index] += 1
        year_code = data.VIN_YEAR_CODES[(year - 1980) % 30]
        body = f"{spec.wmi}{spec.vds}0{year_code}{spec.plant}{serial:06d}"
        return body[:8] + vin_check_digit(body) + body[9:]

    def plate(self, spec, energy: str) -> str:
        """Plates like the demo's (Vehicles.plate), unique per province: the n-th car
        of a province and kind gets the n-th plate of a scrambled sequence."""
        new_energy = energy in NEW_ENERGY
        key = (spec.plate_province, new_energy)
        n = self.plate_counters.get(key, 0)
        self.plate_counters[key] = n + 1
        n = n * self.job.workers + self.job.worker
        letters = spec.plate_letters
        letter, n = letters[n % len(letters)], n // len(letters)
        if new_energy:
            kind = "D" if energy == VehicleModel.Energy.ELECTRIC else "F"
            return f"{spec.plate_province}{letter}{kind}{(n * 7919 + 31) % 10**5:05d}"
        # 10**5 all-digit tails, then a letter at one of five places before four digits.
        capacity = 10**5 + 10**4 * 5 * len(PLATE_LETTERS)
        m = (n * 7_919 + 31) % capacity
        if m < 10**5:
            tail = f"{m:05d}"
        else:
            m -= 10**5
            digits, r = f"{m % 10**4:04d}", m // 10**4
            position, chosen = r % 5, PLATE_LETTERS[r // 5]
            tail = digits[:position] + chosen + digits[position:]
        return f"{spec.plate_province}{letter}{tail}"

    # --- What the recompute would decide ---------------------------------------------

    def tier(self, window_orders, cars, since) -> tuple[str, str, float, bool]:
        """Score, churn state and tier as analytics.services.tiers_recompute decides
        them from the orders (the window's visits and spend, the last and first
        visit), without referrals and complaints (written later)."""
        p = self.job.policy
        visits = len(window_orders)
        paid = total = 0
        for _day, by_customer, cents in window_orders:
            total += cents
            if by_customer:
                paid += cents
        paid, total = paid / 100, total / 100
        window = self.window_ord
        first = last = None
        for car in cars:
            for d in car.visits:
                if d >= window:
                    if first is None or d < first:
                        first = d
                    if last is None or d > last:
                        last = d
        w_spend, w_visits, w_recency, w_share, w_tenure, _w_referrals = p.weights
        recency = 0.0
        if last:
            for bound, value in self.recency_steps:
                if last >= bound:
                    recency = value
                    break
        tenure = 0.0
        if first:
            for bound, value in self.tenure_steps:
                if first < bound:
                    tenure = value
                    break
        parts = (
            w_spend * min(paid / p.spend_target, 1.0) if p.spend_target else 0.0,
            w_visits * min(visits / p.visits_target, 1.0) if p.visits_target else 0.0,
            w_recency * recency,
            w_share * (paid / total if total > 0 else 0.0),
            w_tenure * tenure,
        )
        score = round(max(0.0, 100.0 * sum(parts) / self.weight_total), 1)
        reference = last or since.toordinal()
        churn = Customer.ChurnState.ACTIVE
        if reference < self.lost_before:
            churn = Customer.ChurnState.LOST
        elif reference < self.at_risk_before:
            churn = Customer.ChurnState.AT_RISK
        confirm = False
        if churn != Customer.ChurnState.ACTIVE and last:
            days = self.today_ord - last
            for car in cars:
                kpd = car.km_per_day if car.km_per_day is not None else p.default_km_per_day
                if car.model.maintenance_interval_km > kpd * days:
                    churn, confirm = Customer.ChurnState.ACTIVE, True
                    break
        tier = Customer.ValueTier.B
        if churn == Customer.ChurnState.LOST:
            tier = Customer.ValueTier.D
        elif (
            churn == Customer.ChurnState.AT_RISK
            or (visits > 0 and paid == 0)
            or (visits < self.cycle_visits and first and first < self.window_from_ord)
        ):
            tier = Customer.ValueTier.C
        elif score >= p.a_min_score and visits >= p.a_min_visits and paid >= total * p.a_min_paid_share / 100:
            tier = Customer.ValueTier.A
        return tier, churn, score, confirm

    def churn_events(self, customer_id: int, visits: list[datetime.date], confirm: bool) -> None:
        """The churn history the nightly recompute would have written: turned at
        risk and lost as the months without a visit passed, recovered by a visit."""
        if not visits:
            return
        p = self.job.policy
        handle = self.open("churn")
        active, at_risk, lost = (
            Customer.ChurnState.ACTIVE,
            Customer.ChurnState.AT_RISK,
            Customer.ChurnState.LOST,
        )
        marks = [datetime.date.fromordinal(v) for v in sorted(set(visits))]
        extra = self.job.constants["churn"]
        shortest = datetime.timedelta(days=28 * p.at_risk_months)
        for index, visit in enumerate(marks):
            following = marks[index + 1] if index + 1 < len(marks) else None
            end = following or self.today
            if following is None and confirm:
                return  # today's state is active, to be confirmed by a call: nothing moved
            if end - visit < shortest:
                continue  # back well within the at-risk months: nothing moved
            state = active
            risk_on = _add_months(visit, p.at_risk_months)
            lost_on = _add_months(visit, p.lost_months)
            for on, to in ((risk_on, at_risk), (lost_on, lost)):
                if on < end and on <= self.today and on >= self.window_start:
                    handle.write(f"{customer_id}\t{self.day(on)}\t{state}\t{to}\tf\t{self.stamp(on, 150)}{extra}\n")
                    self.counts.churn_events += 1
                if on < end:
                    state = to
            if following is not None and state != active and following >= self.window_start:
                back = f"{customer_id}\t{self.day(following)}\t{state}\t{active}\tt\t{self.stamp(following, 1410)}"
                handle.write(f"{back}{extra}\n")
                self.counts.churn_events += 1

    # --- Insurance and the club ------------------------------------------------------

    def policies(self, vehicle_id, customer_id, store, behaviour, purchase, expiry, insurer, spec, advisor) -> None:
        """The last two policy years of a car insured here: the one that ends at
        the car's insurance expiry and, for older cars, the one before it."""
        rnd = self.rnd
        share = INSURED_HERE[behaviour.name]
        current_start = _add_months(expiry, -12)
        previous_start = _add_months(expiry, -24)
        terms = []
        previous_here = previous_start >= purchase and rnd() < share
        if previous_here:
            terms.append((previous_start, current_start))
        if current_start >= purchase and rnd() < (RENEWED_HERE if previous_here else share * 0.3):
            terms.append((current_start, expiry))
        if not terms:
            return
        handle = self.open("policies")
        company = insurer or self.draws.pick(data.INSURERS)
        for starts, ends in terms:
            if starts > self.today:
                continue
            premium = int((3000 + rnd() * 6000) * spec.price_factor * 100)
            source = InsurancePolicy.Source.CALL if rnd() < 0.6 else InsurancePolicy.Source.DESK
            sold = self.stamp(starts - datetime.timedelta(days=int(rnd() * 20) + 1), 600 + int(rnd() * 420))
            handle.write(
                f"{store.id}\t{vehicle_id}\t{customer_id}\t{company}\t{InsurancePolicy.Kind.COMMERCIAL}\t"
                f"{money(premium)}\t{self.day(starts)}\t{self.day(ends)}\t{source}\t{advisor}\t{sold}"
                f"{self.job.constants['policies']}\n"
            )
            self.counts.policies += 1

    def card(self, customer_id, store, behaviour, since, window_orders) -> None:
        rnd = self.rnd
        if rnd() >= CARD_SHARE[behaviour.name]:
            return
        span = max((self.today - max(since, self.window_start)).days, 1)
        valid_from = self.today - datetime.timedelta(days=int(rnd() * span))
        valid_until = _add_months(valid_from, 12)
        status = MembershipCard.Status.ACTIVE if valid_until > self.today else MembershipCard.Status.LAPSED
        spend = sum(o[2] for o in window_orders)
        level = (
            MembershipCard.Level.GOLD
            if spend > 1_500_000
            else MembershipCard.Level.SILVER
            if spend > 500_000
            else MembershipCard.Level.ORDINARY
        )
        route = (
            MembershipCard.Route.VISITS_AND_SPEND
            if level != MembershipCard.Level.ORDINARY
            else MembershipCard.Route.BOUGHT_HERE
        )
        self.open("cards").write(
            f"{store.id}\t{customer_id}\t{store.code.upper()}{customer_id:08d}\t{level}\t{status}\t{route}\t"
            f"{self.day(valid_from)}\t{self.day(valid_until)}\t0.00\t{self.stamp(valid_from, 600)}"
            f"{self.job.constants['cards']}\n"
        )
        self.counts.cards += 1


# The columns each file holds, in order (the rest of each table is its field defaults).
CUSTOMER_COLUMNS = [
    "id",
    "dealership_id",
    "name",
    "phone",
    "id_number",
    "id_number_hash",
    "gender",
    "occupation",
    "employer",
    "education",
    "income_band",
    "hobbies",
    "province",
    "city",
    "district",
    "address",
    "preferred_channel",
    "birthday",
    "lunar_birthday_month",
    "lunar_birthday_day",
    "lunar_birthday_leap",
    "marketing_consent",
    "marketing_consent_at",
    "source",
    "referred_by_id",
    "advisor_id",
    "value_tier",
    "churn_state",
    "last_visit_date",
    "tier_score",
    "churn_confirm_by_call",
    "visit_pattern",
    "created_at",
    "updated_at",
]
VEHICLE_COLUMNS = [
    "id",
    "customer_id",
    "vin",
    "model_id",
    "plate_number",
    "engine_number",
    "colour",
    "purchase_date",
    "sold_here",
    "usage",
    "first_maintenance_date",
    "first_maintenance_mileage",
    "current_mileage",
    "current_mileage_date",
    "last_maintenance_date",
    "last_maintenance_mileage",
    "km_per_day",
    "warranty_end_date",
    "warranty_end_km",
    "insurance_expiry_date",
    "insurer",
    "inspection_due_date",
    "created_at",
]
READING_COLUMNS = ["vehicle_id", "read_on", "mileage", "source"]
ORDER_COLUMNS = [
    "dealership_id",
    "number",
    "vehicle_id",
    "customer_id",
    "advisor_id",
    "technician_id",
    "kind",
    "opened_at",
    "closed_at",
    "mileage",
    "payer",
    "work_done",
    "labor_amount",
    "parts_amount",
    "total_amount",
    "voided_at",
    "updated_at",
]
POLICY_COLUMNS = [
    "dealership_id",
    "vehicle_id",
    "customer_id",
    "insurer",
    "kind",
    "premium",
    "starts_on",
    "ends_on",
    "source",
    "sold_by_id",
    "created_at",
]
CARD_COLUMNS = [
    "dealership_id",
    "customer_id",
    "number",
    "level",
    "status",
    "obtained",
    "valid_from",
    "valid_until",
    "fee_paid",
    "created_at",
]
CHURN_COLUMNS = ["customer_id", "day", "from_state", "to_state", "recovered", "created_at"]

# table name -> (model, the file's columns): the tables the workers write.
FILES = {
    "customers": (Customer, CUSTOMER_COLUMNS),
    "vehicles": (Vehicle, VEHICLE_COLUMNS),
    "readings": (MileageReading, READING_COLUMNS),
    "orders": (RepairOrder, ORDER_COLUMNS),
    "policies": (InsurancePolicy, POLICY_COLUMNS),
    "cards": (MembershipCard, CARD_COLUMNS),
    "churn": (ChurnEvent, CHURN_COLUMNS),
}


def constant_columns(model, drawn: list[str], now: str) -> tuple[list[str], str]:
    """The model's other columns and their defaults as COPY text (appended to every row):
    a field added to a model later is filled with its default, not left to fail the COPY."""
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in drawn or field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            text = now
        else:
            default = field.get_default() if field.has_default() else (None if field.null else "")
            if isinstance(default, (dict, list)):
                default = json.dumps(default)
            elif isinstance(default, datetime.datetime):
                default = default.isoformat()
            text = _text(default)
        columns.append(field.column)
        values.append(text)
    return columns, "".join("\t" + v for v in values)


def run_slice(job: Job) -> Counts:
    return Slice(job).run()
