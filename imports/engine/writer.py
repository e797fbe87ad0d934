"""The batch writer: set-based writes of a batch, planner statistics, COPY / bulk insert helpers."""

import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import ConsentChange, Customer
from customers.services import customer_update, customer_visit_recorded
from imports.engine.state import APPOINTMENT_LINK_DAYS, ORDER_COLUMNS, STATS_EVERY, Plan
from imports.models import ImportKind
from service.models import RepairLine, RepairOrder
from service.services import appointments_link_repair_orders
from vehicles.models import MileageReading, Vehicle
from vehicles.services import mileage_record, vehicle_update

# Rows written to a table before PostgreSQL's statistics of it are refreshed (see _Statistics).
ANALYZE_EVERY = 10_000


class _WriterMixin:
    """The batch writer: a transaction's set-based writes of the batch's plans."""

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
