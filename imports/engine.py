"""The import run: rows are read in a stream, planned in batches against the
database and what the file said before them, and (unless a dry run) written
batch by batch.

Per batch, existing customers (by mobile, in the store), cars (by VIN, in any
store: a VIN is unique in the whole group), plates, orders (by number, in the
store) and the cars' odometer readings are each looked up with one query,
never one per row. What earlier rows of the file planned is kept in a
``FileState`` (keys and ids only), so that a dry run of a file with a
customer on 40 orders says "created" once, and a duplicate inside the file is
refused with the line it repeats.

Writes are set-based, a transaction per batch (rows sent by COPY on
PostgreSQL, ``bulk_create`` elsewhere), and keep what the per-row services
keep (``vehicles.services.vehicle_create``,
``service.services.repair_order_open`` / ``repair_line_add`` /
``repair_order_close``; those cost a dozen queries a row, and a DMS history is
hundreds of thousands of rows):

- a new customer's marketing consent is put on record (``ConsentChange``,
  source ``import``); a changed customer goes through
  ``customers.services.customer_update`` (source ``import``), a changed car
  through ``vehicles.services.vehicle_update``;
- a new car gets the model's warranty terms and its delivery reading;
- an order's totals are the sums of its done lines (a labour and a parts
  line), its reading is recorded (source ``import``) and must fit between the
  car's readings before and after it, as ``mileage_record`` demands;
- afterwards the customers' last visit moves forward (a customer who had
  drifted away goes through ``customer_visit_recorded``), the cars' figures
  are refreshed (``vehicle_service_stats_refresh``, every few thousand cars
  and at the end) and recent orders are linked to the appointments they
  fulfil (``appointments_link_repair_orders``). Care touches, points and
  rollups come from their own nightly scans of the orders, as for the API.
"""

import bisect
import dataclasses
import datetime
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import ConsentChange, Customer
from customers.services import customer_update, customer_visit_recorded
from imports import fields as F
from imports.models import ImportJob, ImportKind, ImportRow
from service.models import RepairLine, RepairOrder
from service.services import appointments_link_repair_orders, vehicle_service_stats_refresh
from vehicles.models import MileageReading, Vehicle, VehicleModel
from vehicles.services import mileage_record, vehicle_update, vehicle_warranty_fill

BATCH_SIZE = 1000
# Cars written to before their figures are refreshed (and at the end of the run).
STATS_EVERY = 5000
# Rows of each outcome but "refused" kept for the row-by-row report (refused rows are all kept).
REPORT_SAMPLE = 200
# Rows written to a table before PostgreSQL's statistics of it are refreshed (see _Statistics).
ANALYZE_EVERY = 10_000
# Orders this recent may fulfil an appointment still waiting for its visit.
APPOINTMENT_LINK_DAYS = 30
CUSTOMER_FIELDS = ("name", "gender", "city", "address", "email", "birthday", "marketing_consent")
VEHICLE_UPDATE_FIELDS = ("plate_number", "colour", "engine_number")
ORDER_COMPARED = ("vehicle_id", "kind", "opened_at", "closed_at", "mileage")
# What the look-ups read: the columns compared, not whole rows (a customer has fifty).
CUSTOMER_READ = ("dealership", "phone", "status", "churn_state", "last_visit_date", *CUSTOMER_FIELDS)
VEHICLE_READ = ("vin", *VEHICLE_UPDATE_FIELDS, "customer", "customer__dealership", "customer__phone", "customer__name")
ORDER_READ = ("number", "vehicle", "kind", "opened_at", "closed_at", "mileage", "labor_amount", "parts_amount")


@dataclasses.dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclasses.dataclass
class SeenCustomer:
    line: int
    pk: int | None  # None: created by this dry run


@dataclasses.dataclass
class SeenVehicle:
    line: int
    phone: str
    pk: int | None
    # The car's odometer readings (day, km), sorted: the database's, then the file's.
    readings: list[tuple[datetime.date, int]]


@dataclasses.dataclass
class FileState:
    """What the rows read so far decided: keys and ids, not rows."""

    customers: dict[str, SeenCustomer] = dataclasses.field(default_factory=dict)
    vehicles: dict[str, SeenVehicle] = dataclasses.field(default_factory=dict)
    plates: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)  # plate → (VIN, line)
    orders: dict[str, int] = dataclasses.field(default_factory=dict)  # number → line
    reported: int = 0


@dataclasses.dataclass
class Plan:
    """What one row does."""

    line: int
    values: list
    data: dict
    errors: list[str] = dataclasses.field(default_factory=list)
    actions: list[str] = dataclasses.field(default_factory=list)
    outcome: str = ImportRow.Outcome.UNCHANGED
    customer: Customer | None = None
    customer_seen: SeenCustomer | None = None
    new_customer: Customer | None = None
    customer_changes: dict = dataclasses.field(default_factory=dict)
    vehicle: Vehicle | None = None
    vehicle_seen: SeenVehicle | None = None
    new_vehicle: Vehicle | None = None
    vehicle_changes: dict = dataclasses.field(default_factory=dict)
    reading: tuple[datetime.date, int] | None = None
    new_order: "NewOrder | None" = None
    # What the file's later rows will know of this one, once it is not refused.
    pending: list[Callable[[], None]] = dataclasses.field(default_factory=list)
    order_lines: list[tuple[str, str, Decimal]] = dataclasses.field(default_factory=list)  # type, text, amount

    def refuse(self, reason: str) -> None:
        self.errors.append(reason)

    @property
    def refused(self) -> bool:
        return bool(self.errors)


def _batches(rows: Iterator[tuple[int, list]], size: int) -> Iterator[list[tuple[int, list]]]:
    batch: list[tuple[int, list]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Run:
    """One pass over the file (a dry run or the import) for ``job``."""

    def __init__(self, *, job: ImportJob, dry_run: bool, batch_size: int = BATCH_SIZE):
        self.job, self.dry_run, self.batch_size = job, dry_run, batch_size
        self.store_id = job.dealership_id
        self.kind = job.kind
        self.today = timezone.localdate()
        self.state = FileState()
        self.counts = Counts()
        index = {text: i for i, text in enumerate(job.header)}
        self.columns = {key: index[text] for key, text in job.mapping.items() if text in index}
        self.models = self._catalogue()
        self.required_cells = self._required_cells()
        self.statistics = _Statistics()
        self.touched: set[int] = set()  # cars whose figures wait for _refresh_cars

    @staticmethod
    def _catalogue() -> dict[str, VehicleModel]:
        """The group's models by the names a DMS writes: "帕萨特", "大众 帕萨特", "大众帕萨特"."""
        by_name: dict[str, VehicleModel] = {}
        for model in VehicleModel.objects.all():
            for key in (model.name, f"{model.brand}{model.name}", f"{model.brand} {model.name}"):
                by_name.setdefault(key.lower().replace(" ", ""), model)
        return by_name

    # --- the pass ------------------------------------------------------------------

    def batches(self, rows: Iterator[tuple[int, list]]) -> Iterator[list[Plan]]:
        """Plan (and unless a dry run, write) each batch; yields the batch's plans."""
        for batch in _batches(rows, self.batch_size):
            plans = [self._read(line, values) for line, values in batch]
            self._plan(plans)
            if not self.dry_run:
                with transaction.atomic():
                    self._write(plans)
                self.statistics.refresh()
            for plan in plans:
                self.counts.add(plan.outcome)
            yield plans
        if self.touched:
            self._refresh_cars()

    def _refresh_cars(self) -> None:
        """The cars' figures (current mileage, km per day, last maintenance)
        from their new readings and orders: one set-based refresh for
        thousands of cars, not one per batch."""
        with transaction.atomic():
            vehicle_service_stats_refresh(vehicle_ids=sorted(self.touched))
        self.touched.clear()

    def _read(self, line: int, values: list) -> Plan:
        data, errors = F.read_row(values, self.columns)
        plan = Plan(line=line, values=values, data=data, errors=errors)
        for key, message in self.required_cells:
            index = self.columns.get(key)
            if index is not None and F.is_blank(values[index] if index < len(values) else None):
                plan.refuse(message)
        return plan

    def _required_cells(self) -> list[tuple[str, str]]:
        """The cells a row of this kind cannot do without, and what to say when one is blank."""
        cells = [("phone", _("The mobile is missing."))]
        if self.kind != ImportKind.CUSTOMERS:
            cells.append(("vin", _("The VIN is missing.")))
        if self.kind == ImportKind.REPAIR_ORDERS:
            cells += [
                ("number", _("The RO number is missing.")),
                ("opened_at", _("The opening date is missing.")),
                ("mileage", _("The mileage is missing.")),
                ("kind", _("The kind of work is missing.")),
            ]
        return cells

    # --- planning ------------------------------------------------------------------

    def _plan(self, plans: list[Plan]) -> None:
        live = [p for p in plans if not p.refused]
        phones = {p.data["phone"] for p in live if p.data["phone"] not in self.state.customers}
        customers = self._customers_by_phone(phones)
        vins = {p.data["vin"] for p in live if "vin" in p.data and p.data["vin"] not in self.state.vehicles}
        vehicles = {}
        if vins:
            found = Vehicle.objects.filter(vin__in=vins).select_related("customer").only(*VEHICLE_READ).order_by()
            vehicles = {v.vin: v for v in found}
        readings = self._readings([v.pk for v in vehicles.values()])
        plates = {p.data["plate_number"] for p in live if "plate_number" in p.data}
        # By the plate's own index; the store is checked here (a join would let the planner scan the store).
        plate_owners = {
            plate: vin
            for plate, vin, store in Vehicle.objects.filter(plate_number__in=plates)
            .order_by()
            .values_list("plate_number", "vin", "customer__dealership_id")
            if store == self.store_id
        }
        numbers = {p.data["number"] for p in live if "number" in p.data}
        orders = (
            {
                o.number: o
                for o in RepairOrder.objects.filter(dealership_id=self.store_id, number__in=numbers)
                .only(*ORDER_READ)
                .order_by()
            }
            if numbers
            else {}
        )
        for plan in live:
            self._plan_customer(plan, customers)
            if not plan.refused and self.kind != ImportKind.CUSTOMERS:
                self._plan_vehicle(plan, vehicles, readings, plate_owners)
            if not plan.refused and self.kind == ImportKind.REPAIR_ORDERS:
                self._plan_order(plan, orders)
            self._settle(plan)
        for plan in plans:
            if plan.refused:
                plan.outcome = ImportRow.Outcome.REFUSED

    def _customers_by_phone(self, phones: set[str]) -> dict[str, Customer]:
        """The store's customer for each mobile: an active one first, then the oldest."""
        found: dict[str, Customer] = {}
        if not phones:
            return found
        rows = (
            Customer.objects.filter(dealership_id=self.store_id, phone__in=phones).order_by("pk").only(*CUSTOMER_READ)
        )
        for customer in rows:
            current = found.get(customer.phone)
            if current is None or (
                current.status != Customer.Status.ACTIVE and customer.status == Customer.Status.ACTIVE
            ):
                found[customer.phone] = customer
        return found

    @staticmethod
    def _readings(vehicle_ids: list[int]) -> dict[int, list[tuple[datetime.date, int]]]:
        by_car: dict[int, list[tuple[datetime.date, int]]] = {}
        if vehicle_ids:
            rows = MileageReading.objects.filter(vehicle_id__in=vehicle_ids).order_by("read_on", "mileage")
            for vehicle_id, day, km in rows.values_list("vehicle_id", "read_on", "mileage"):
                by_car.setdefault(vehicle_id, []).append((day, km))
        return by_car

    def _plan_customer(self, plan: Plan, customers: dict[str, Customer]) -> None:
        phone = plan.data["phone"]
        seen = self.state.customers.get(phone)
        if seen is not None:
            if self.kind == ImportKind.CUSTOMERS:
                plan.refuse(
                    _("The mobile %(phone)s is already on line %(line)d.") % {"phone": phone, "line": seen.line}
                )
            else:
                plan.customer_seen = seen
            return
        given = {k: plan.data[k] for k in CUSTOMER_FIELDS if k in plan.data}
        existing = customers.get(phone)
        if existing is None:
            if not given.get("name"):
                plan.refuse(_("The customer's name is missing (the mobile is new to the store)."))
                return
            plan.new_customer = Customer(
                dealership_id=self.store_id,
                phone=phone,
                source=Customer.Source.BOUGHT_HERE
                if self.kind != ImportKind.CUSTOMERS
                else Customer.Source.FIRST_VISIT,
                marketing_consent_at=timezone.now() if given.get("marketing_consent") else None,
                **given,
            )
            plan.actions.append(_("new customer %(name)s") % {"name": given["name"]})
        else:
            plan.customer = existing
            plan.customer_changes = {k: v for k, v in given.items() if getattr(existing, k) != v}
            if plan.customer_changes:
                names = ", ".join(str(F.FIELDS_BY_KEY[k].label) for k in plan.customer_changes)
                plan.actions.append(
                    _("customer %(name)s updated: %(fields)s") % {"name": existing.name, "fields": names}
                )
        plan.customer_seen = SeenCustomer(line=plan.line, pk=existing.pk if existing else None)
        plan.pending.append(partial(self.state.customers.__setitem__, phone, plan.customer_seen))

    def _plan_vehicle(self, plan: Plan, vehicles: dict[str, Vehicle], readings: dict, plate_owners: dict) -> None:
        vin, phone = plan.data["vin"], plan.data["phone"]
        plate = plan.data.get("plate_number")
        if plate:
            earlier = self.state.plates.get(plate)
            if earlier is not None and earlier[0] != vin:
                plan.refuse(
                    _("The plate %(plate)s is already on line %(line)d for another VIN.")
                    % {"plate": plate, "line": earlier[1]}
                )
                return
            owner_vin = plate_owners.get(plate)
            if owner_vin is not None and owner_vin != vin:
                plan.refuse(
                    _("The plate %(plate)s is on another car of the store (VIN %(vin)s).")
                    % {"plate": plate, "vin": owner_vin}
                )
                return
        seen = self.state.vehicles.get(vin)
        if seen is not None:
            if self.kind == ImportKind.VEHICLES:
                plan.refuse(_("The VIN %(vin)s is already on line %(line)d.") % {"vin": vin, "line": seen.line})
            elif seen.phone != phone:
                plan.refuse(
                    _("The VIN %(vin)s is on line %(line)d with another customer's mobile.")
                    % {"vin": vin, "line": seen.line}
                )
            else:
                plan.vehicle_seen = seen
            return
        existing = vehicles.get(vin)
        if existing is not None:
            if existing.customer.dealership_id != self.store_id:
                plan.refuse(_("The VIN %(vin)s is registered at another dealership.") % {"vin": vin})
                return
            if existing.customer.phone != phone:
                plan.refuse(
                    _("The car %(vin)s belongs to another customer (mobile ending %(end)s).")
                    % {"vin": vin, "end": existing.customer.phone[-4:]}
                )
                return
            plan.vehicle = existing
            plan.vehicle_changes = {
                k: plan.data[k]
                for k in VEHICLE_UPDATE_FIELDS
                if k in plan.data and getattr(existing, k) != plan.data[k]
            }
            if plan.vehicle_changes:
                names = ", ".join(str(F.FIELDS_BY_KEY[k].label) for k in plan.vehicle_changes)
                plan.actions.append(_("car %(vin)s updated: %(fields)s") % {"vin": vin, "fields": names})
            car_readings = readings.get(existing.pk, [])
        else:
            model = self._model(plan)
            if model is None:
                return
            purchase_date = plan.data.get("purchase_date")
            if purchase_date is None:
                plan.refuse(_("The purchase date is missing (the VIN is new)."))
                return
            plan.new_vehicle = Vehicle(
                vin=vin,
                model=model,
                purchase_date=purchase_date,
                plate_number=plate or "",
                colour=plan.data.get("colour", ""),
                engine_number=plan.data.get("engine_number", ""),
                sold_here=True,
                current_mileage=0,
                current_mileage_date=purchase_date,
            )
            vehicle_warranty_fill(plan.new_vehicle)
            plan.actions.append(_("new car %(vin)s") % {"vin": vin})
            car_readings = [(purchase_date, 0)]
        seen = SeenVehicle(line=plan.line, phone=phone, pk=existing.pk if existing else None, readings=car_readings)
        if self.kind == ImportKind.VEHICLES and "mileage" in plan.data:
            # A vehicle file's mileage is the odometer as of the upload.
            reading = (self.today, plan.data["mileage"])
            if not car_readings or reading[1] > max(km for _day, km in car_readings):
                problem = self._reading_problem(car_readings, *reading)
                if problem:
                    plan.refuse(problem)
                    return
                plan.reading = reading
                plan.actions.append(_("odometer %(km)d km") % {"km": reading[1]})
        plan.pending.append(partial(self.state.vehicles.__setitem__, vin, seen))
        if plate:
            plan.pending.append(partial(self.state.plates.__setitem__, plate, (vin, plan.line)))
        plan.vehicle_seen = seen
        if plan.reading:
            bisect.insort(seen.readings, plan.reading)

    def _model(self, plan: Plan) -> VehicleModel | None:
        text = plan.data.get("model")
        if not text:
            plan.refuse(_("The model is missing (the VIN is new)."))
            return None
        model = self.models.get(text.lower().replace(" ", ""))
        if model is None:
            plan.refuse(_("Unknown model “%(model)s”: add it to the vehicle models in admin first.") % {"model": text})
        return model

    @staticmethod
    def _reading_problem(readings: list[tuple[datetime.date, int]], day: datetime.date, km: int) -> str:
        """Why a reading of ``km`` on ``day`` does not fit the car's history, or ""."""
        before = max((k for d, k in readings if d <= day), default=None)
        after = min((k for d, k in readings if d > day), default=None)
        if before is not None and km < before:
            return _("The mileage %(km)d km is below the car's earlier reading of %(before)d km.") % {
                "km": km,
                "before": before,
            }
        if after is not None and km > after:
            return _("The mileage %(km)d km is above the car's later reading of %(after)d km.") % {
                "km": km,
                "after": after,
            }
        return ""

    def _plan_order(self, plan: Plan, orders: dict[str, RepairOrder]) -> None:
        data = plan.data
        number = data["number"]
        earlier = self.state.orders.get(number)
        if earlier is not None:
            plan.refuse(
                _("The RO number %(number)s is already on line %(line)d.") % {"number": number, "line": earlier}
            )
            return
        opened_at, closed_at = data["opened_at"], data.get("closed_at")
        if closed_at is not None and closed_at < opened_at:
            plan.refuse(_("The order closes before it opened."))
            return
        labour, parts = data.get("labor_amount", Decimal("0.00")), data.get("parts_amount", Decimal("0.00"))
        existing = orders.get(number)
        if existing is not None:
            car = plan.vehicle.pk if plan.vehicle is not None else plan.vehicle_seen.pk
            wanted = {
                "vehicle_id": car,
                "kind": data["kind"],
                "opened_at": opened_at,
                "closed_at": closed_at,
                "mileage": data["mileage"],
            }
            differs = [k for k in ORDER_COMPARED if getattr(existing, k) != wanted[k]]
            if closed_at is not None and (existing.labor_amount, existing.parts_amount) != (labour, parts):
                differs.append("amounts")
            if differs:
                plan.refuse(
                    _("The RO number %(number)s exists with other values; an import does not change orders.")
                    % {"number": number}
                )
            plan.pending.append(partial(self.state.orders.__setitem__, number, plan.line))
            return
        day = timezone.localtime(opened_at).date()
        readings = plan.vehicle_seen.readings
        problem = self._reading_problem(readings, day, data["mileage"])
        if problem:
            plan.refuse(problem)
            return
        closed = closed_at is not None
        plan.new_order = NewOrder(
            number=number,
            kind=data["kind"],
            opened_at=opened_at,
            closed_at=closed_at,
            mileage=data["mileage"],
            payer=_PAYER.get(data["kind"], RepairOrder.Payer.CUSTOMER),
            work_done=data.get("work_done", ""),
            # repair_order_close sums the done lines; an order still open shows nothing yet.
            labor_amount=labour if closed else Decimal("0"),
            parts_amount=parts if closed else Decimal("0"),
        )
        plan.order_lines = [
            (line_type, (data.get("work_done") or str(label))[:200], amount)
            for line_type, label, amount in (
                (RepairLine.LineType.LABOR, F.FIELDS_BY_KEY["labor_amount"].label, labour),
                (RepairLine.LineType.PART, F.FIELDS_BY_KEY["parts_amount"].label, parts),
            )
            if amount
        ]
        plan.reading = (day, data["mileage"])
        bisect.insort(readings, plan.reading)
        plan.pending.append(partial(self.state.orders.__setitem__, number, plan.line))
        plan.actions.append(_("new order %(number)s") % {"number": number})

    @staticmethod
    def _settle(plan: Plan) -> None:
        """The row's outcome; only a row that is not refused leaves its keys for the rows after it."""
        if not plan.refused:
            for register in plan.pending:
                register()
        if plan.refused:
            plan.outcome = ImportRow.Outcome.REFUSED
        elif plan.new_customer or plan.new_vehicle or plan.new_order:
            plan.outcome = ImportRow.Outcome.CREATED
        elif plan.customer_changes or plan.vehicle_changes or plan.reading:
            plan.outcome = ImportRow.Outcome.UPDATED
        else:
            plan.outcome = ImportRow.Outcome.UNCHANGED

    # --- writing -------------------------------------------------------------------

    def _write(self, plans: list[Plan]) -> None:
        live = [p for p in plans if not p.refused]
        now = timezone.now()
        by_id = self.job.created_by_id
        note = _("import %(job)d, line %(line)d")
        orders = [p for p in live if p.new_order is not None]
        new_customers = [p for p in live if p.new_customer is not None]
        # A new customer's last visit is known before the insert: their latest closed order of the batch.
        creating = {id(p.customer_seen): p.new_customer for p in new_customers}
        visits: dict[int, datetime.date] = {}  # existing customers' pk → latest visit in the batch
        for p in orders:
            if p.new_order.closed_at is None:
                continue
            day = timezone.localtime(p.new_order.opened_at).date()
            customer = creating.get(id(p.customer_seen))
            if customer is not None:
                if customer.last_visit_date is None or customer.last_visit_date < day:
                    customer.last_visit_date = day
            elif day > visits.get(p.customer_seen.pk, datetime.date.min):
                visits[p.customer_seen.pk] = day
        if new_customers:
            _create([p.new_customer for p in new_customers])
            self.statistics.wrote(Customer, len(new_customers))
            for p in new_customers:
                p.customer_seen.pk = p.new_customer.pk
            _insert(
                ConsentChange,
                ("customer_id", "granted", "source", "detail", "changed_at", "recorded_by_id"),
                [
                    (
                        p.new_customer.pk,
                        True,
                        ConsentChange.Source.IMPORT,
                        note % {"job": self.job.pk, "line": p.line},
                        now,
                        by_id,
                    )
                    for p in new_customers
                    if p.new_customer.marketing_consent
                ],
            )
        for p in live:
            if p.customer_changes:
                # The service validates, locks the row and puts a consent change on record.
                customer_update(
                    customer=p.customer,
                    by=self.job.created_by,
                    source=ConsentChange.Source.IMPORT,
                    **p.customer_changes,
                )
        if self.kind == ImportKind.CUSTOMERS:
            return
        readings: list[tuple] = []
        new_vehicles = [p for p in live if p.new_vehicle is not None]
        for p in new_vehicles:
            p.new_vehicle.customer_id = p.customer_seen.pk
        if new_vehicles:
            _create([p.new_vehicle for p in new_vehicles])
            self.statistics.wrote(Vehicle, len(new_vehicles))
            for p in new_vehicles:
                p.vehicle_seen.pk = p.new_vehicle.pk
                # As vehicle_create: the odometer at delivery.
                readings.append((p.new_vehicle.pk, p.new_vehicle.purchase_date, 0, MileageReading.Source.DELIVERY))
        for p in live:
            if p.vehicle_changes:
                vehicle_update(vehicle=p.vehicle, by=self.job.created_by, **p.vehicle_changes)
        for p in live:
            if p.reading is None:
                continue
            if self.kind == ImportKind.VEHICLES and p.vehicle is not None:
                # An existing car: the service checks the reading under the car's row lock.
                mileage_record(
                    vehicle=p.vehicle, read_on=p.reading[0], mileage=p.reading[1], source=MileageReading.Source.IMPORT
                )
            else:
                readings.append((p.vehicle_seen.pk, p.reading[0], p.reading[1], MileageReading.Source.IMPORT))
        if orders:
            ids = _insert(
                RepairOrder,
                ORDER_COLUMNS,
                [p.new_order.row(self.store_id, p.vehicle_seen.pk, p.customer_seen.pk, now) for p in orders],
                ids=True,
            )
            for p, pk in zip(orders, ids, strict=True):
                p.new_order.pk = pk
            self.statistics.wrote(RepairOrder, len(orders))
            _insert(
                RepairLine,
                ("repair_order_id", "line_type", "description", "part_number", "quantity", "amount", "status"),
                [
                    (p.new_order.pk, line_type, text, "", Decimal("1"), amount, RepairLine.Status.DONE)
                    for p in orders
                    for line_type, text, amount in p.order_lines
                ],
            )
        _insert(MileageReading, ("vehicle_id", "read_on", "mileage", "source"), readings)
        self.statistics.wrote(MileageReading, len(readings))
        if visits:
            self._visits(visits)
        self.touched.update(
            p.vehicle_seen.pk for p in live if p.vehicle_seen is not None and (p.reading or p.new_vehicle)
        )
        if len(self.touched) >= STATS_EVERY:
            self._refresh_cars()
        recent = self.today - datetime.timedelta(days=APPOINTMENT_LINK_DAYS)
        days = sorted({timezone.localtime(p.new_order.opened_at).date() for p in orders})
        for day in days:
            if recent <= day <= self.today:
                appointments_link_repair_orders(day=day)

    @staticmethod
    def _visits(visits: dict[int, datetime.date]) -> None:
        """Existing customers' last visit moves forward to their latest closed order."""
        rows = Customer.objects.filter(pk__in=list(visits)).values_list("pk", "last_visit_date", "churn_state")
        moved = []
        for pk, last_visit, churn_state in rows:
            day = visits[pk]
            if last_visit is not None and last_visit >= day:
                continue
            if churn_state != Customer.ChurnState.ACTIVE:
                # A drifting or lost customer came back: the service records the recovery.
                customer_visit_recorded(customer_id=pk, day=day)
            else:
                moved.append(pk)
        if moved:
            latest = (
                RepairOrder.objects.filter(customer=OuterRef("pk"), closed_at__isnull=False, voided_at__isnull=True)
                .order_by("-opened_at")
                .annotate(day=TruncDate("opened_at"))
                .values("day")[:1]
            )
            Customer.objects.filter(pk__in=moved).update(last_visit_date=Subquery(latest))


class _Statistics:
    """PostgreSQL's planner statistics of the tables the batches look up, kept
    fresh while an import fills them. A first import into an empty store
    grows them from nothing to hundreds of thousands of rows in a minute,
    faster than autovacuum analyses them; planned on the empty tables' figures,
    each batch's look-ups scan a whole store instead of using the indexes.
    A table is analysed once the rows written since its last analysis reach
    half of what it held then (at least ``ANALYZE_EVERY``): a few times in a
    big first import, never for a daily file into a full database."""

    def __init__(self):
        self.enabled = connection.vendor == "postgresql"
        self.added: dict[type, int] = {}
        self.known: dict[type, float] = {}

    def wrote(self, model: type, rows: int) -> None:
        if self.enabled and rows:
            self.added[model] = self.added.get(model, 0) + rows

    def refresh(self) -> None:
        if not self.enabled:
            return
        for model, added in self.added.items():
            if model not in self.known:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
                    self.known[model] = max(0.0, cursor.fetchone()[0])
            if added >= max(ANALYZE_EVERY, self.known[model] / 2):
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
                self.known[model] += added
                self.added[model] = 0


def _create(objects: list) -> None:
    """``bulk_create`` of new model instances, ids set. On PostgreSQL the ids
    are drawn from the table's sequence and the rows sent by COPY, with each
    field's value prepared as Django's INSERT prepares it (``pre_save`` then
    ``get_db_prep_save``: defaults, encrypted and hashed fields alike), which
    skips building a statement with a parameter per value."""
    if not objects:
        return
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects)
        return
    meta = model._meta
    fields = meta.concrete_fields
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objects)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({names}) FROM STDIN") as copy:
            for obj, pk in zip(objects, ids, strict=True):
                obj.pk = pk
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias


def _insert(model, columns: tuple[str, ...], rows: list[tuple], *, ids: bool = False) -> list[int]:
    """Insert plain rows of database values: PostgreSQL's COPY (the ids drawn
    from the table's sequence first when ``ids``), else ``bulk_create``.
    Returns the new ids when asked for."""
    if not rows:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects)
        return [obj.pk for obj in objects]
    names = [meta.get_field(c.removesuffix("_id")).column for c in columns]
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            new_ids = [row[0] for row in cursor.fetchall()]
            names.insert(0, meta.pk.column)
            rows = [(pk, *row) for pk, row in zip(new_ids, rows, strict=True)]
        table = connection.ops.quote_name(meta.db_table)
        quoted = ", ".join(connection.ops.quote_name(name) for name in names)
        with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return new_ids


ORDER_COLUMNS = (
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
)


@dataclasses.dataclass(slots=True)
class NewOrder:
    """An order a row opens: its values, cheaper than a model instance a row."""

    number: str
    kind: str
    opened_at: datetime.datetime
    closed_at: datetime.datetime | None
    mileage: int
    payer: str
    work_done: str
    labor_amount: Decimal
    parts_amount: Decimal
    pk: int | None = None

    def row(self, store_id: int, vehicle_id: int, customer_id: int, now: datetime.datetime) -> tuple:
        """The values of ``ORDER_COLUMNS``; the total is labour plus parts, as the database checks."""
        return (
            store_id,
            self.number,
            vehicle_id,
            customer_id,
            None,
            None,
            self.kind,
            self.opened_at,
            self.closed_at,
            self.mileage,
            self.payer,
            self.work_done,
            self.labor_amount,
            self.parts_amount,
            self.labor_amount + self.parts_amount,
            None,
            now,
        )


_PAYER = {
    RepairOrder.Kind.WARRANTY: RepairOrder.Payer.MANUFACTURER,
    RepairOrder.Kind.ACCIDENT: RepairOrder.Payer.INSURER,
}
