"""The run loop: a pass over the file's rows, batch by batch."""

from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imports import fields as F
from imports.engine.planning import _PlanningMixin
from imports.engine.state import BATCH_SIZE, Counts, FileState, Plan
from imports.engine.writer import _Statistics, _WriterMixin
from imports.models import ImportJob, ImportKind
from service.services import vehicle_service_stats_refresh
from vehicles.models import VehicleModel


def _batches(rows: Iterator[tuple[int, list]], size: int) -> Iterator[list[tuple[int, list]]]:
    batch: list[tuple[int, list]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Run(_PlanningMixin, _WriterMixin):
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
