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

from imports.engine.planning import _PlanningMixin
from imports.engine.run import Run, _batches
from imports.engine.state import (
    _PAYER,
    APPOINTMENT_LINK_DAYS,
    BATCH_SIZE,
    CUSTOMER_FIELDS,
    CUSTOMER_READ,
    ORDER_COLUMNS,
    ORDER_COMPARED,
    ORDER_READ,
    REPORT_SAMPLE,
    STATS_EVERY,
    VEHICLE_READ,
    VEHICLE_UPDATE_FIELDS,
    Counts,
    FileState,
    NewOrder,
    Plan,
    SeenCustomer,
    SeenVehicle,
)
from imports.engine.writer import ANALYZE_EVERY, _create, _insert, _Statistics, _WriterMixin

__all__ = [
    "ANALYZE_EVERY",
    "APPOINTMENT_LINK_DAYS",
    "BATCH_SIZE",
    "CUSTOMER_FIELDS",
    "CUSTOMER_READ",
    "ORDER_COLUMNS",
    "ORDER_COMPARED",
    "ORDER_READ",
    "REPORT_SAMPLE",
    "STATS_EVERY",
    "VEHICLE_READ",
    "VEHICLE_UPDATE_FIELDS",
    "_PAYER",
    "Counts",
    "FileState",
    "NewOrder",
    "Plan",
    "Run",
    "SeenCustomer",
    "SeenVehicle",
    "_PlanningMixin",
    "_Statistics",
    "_WriterMixin",
    "_batches",
    "_create",
    "_insert",
]
