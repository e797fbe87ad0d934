"""The plan of a row and what the file decided so far: constants, counts, seen keys and new orders."""

import dataclasses
import datetime
from collections.abc import Callable
from decimal import Decimal

from customers.models import Customer
from imports.models import ImportRow
from service.models import RepairOrder
from vehicles.models import Vehicle

BATCH_SIZE = 1000
# Cars written to before their figures are refreshed (and at the end of the run).
STATS_EVERY = 5000
# Rows of each outcome but "refused" kept for the row-by-row report (refused rows are all kept).
REPORT_SAMPLE = 200
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
