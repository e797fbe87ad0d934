"""The cars' retention figures and the log of the rollup runs."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership
from vehicles.models import VehicleModel


class RetentionStats(models.Model):
    """Cars of a store as of a day (the last run), grouped by a band — the car's
    age band, or its purchase cohort for the maintenance-number return rates —
    with how many came back. Rebuilt whole each night: a GROUP BY over the
    cars' stored figures, not over the repair orders."""

    class Dimension(models.TextChoices):
        AGE = "age", _("Vehicle age")
        MAINTENANCE = "maintenance", _("Maintenance number")

    # No dealership: the group's row, every store's summed (what a group-level user reads).
    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    dimension = models.CharField(_("by"), max_length=12, choices=Dimension.choices)
    band = models.CharField(_("band"), max_length=20)
    model = models.ForeignKey(
        VehicleModel, verbose_name=_("model"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    cars = models.PositiveIntegerField(_("cars"), default=0)
    # Age: cars that visited in the last 12 months. Maintenance: came back for
    # the first, second and third maintenance.
    returned = models.PositiveIntegerField(_("came back"), default=0)
    returned_2 = models.PositiveIntegerField(_("came back a second time"), default=0)
    returned_3 = models.PositiveIntegerField(_("came back a third time"), default=0)
    as_of = models.DateField(_("as of"))

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("retention figure")
        verbose_name_plural = _("retention figures")
        constraints = [
            models.UniqueConstraint(fields=["dealership", "dimension", "band", "model"], name="retentionstats_key")
        ]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.dimension}/{self.band}: {self.returned}/{self.cars}"


class RollupRun(models.Model):
    """One run of the rollups: the watermark the next run starts from."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    full = models.BooleanField(_("full rebuild"), default=False)
    store_days = models.PositiveIntegerField(_("store-days recomputed"), default=0)
    seconds = models.DecimalField(_("seconds"), max_digits=8, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("rollup run")
        verbose_name_plural = _("rollup runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} ({self.store_days})"
