from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Dealership
from customers.models import Customer
from vehicles.models import Vehicle


class Technician(models.Model):
    """A workshop technician (技师) of a store: named on the repair orders they
    worked, so complaints and their rates can be read per technician. Not a
    user of the CRM: technicians do not log in."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.PROTECT, related_name="technicians"
    )
    name = models.CharField(_("name"), max_length=50)
    code = models.CharField(_("staff number"), max_length=30, blank=True)
    active = models.BooleanField(_("active"), default=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("technician")
        verbose_name_plural = _("technicians")
        ordering = ["dealership", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["dealership", "code"], condition=~models.Q(code=""), name="technician_code_unique_per_store"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RepairOrder(models.Model):
    """A repair order (派工单). ``total_amount`` is labour plus parts, held by the database."""

    class Kind(models.TextChoices):
        MAINTENANCE = "maintenance", _("Maintenance")
        REPAIR = "repair", _("Repair")
        WARRANTY = "warranty", _("Warranty")
        ACCIDENT = "accident", _("Accident / insurance")
        BODYWORK = "bodywork", _("Bodywork and paint")
        ACCESSORY = "accessory", _("Accessories and decoration")
        ACTIVITY = "activity", _("Activity / event")

    class Payer(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        INSURER = "insurer", _("Insurer")
        MANUFACTURER = "manufacturer", _("Manufacturer (warranty)")
        INTERNAL = "internal", _("Internal")

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.PROTECT, related_name="repair_orders"
    )
    number = models.CharField(_("RO number"), max_length=30)
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="repair_orders"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="repair_orders"
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="repair_orders",
    )
    technician = models.ForeignKey(
        Technician,
        verbose_name=_("technician"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="repair_orders",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    mileage = models.PositiveIntegerField(_("mileage (km)"))
    payer = models.CharField(_("paid by"), max_length=20, choices=Payer.choices, default=Payer.CUSTOMER)
    work_done = models.TextField(_("work done"), blank=True)
    labor_amount = models.DecimalField(_("labour amount"), max_digits=10, decimal_places=2, default=0)
    parts_amount = models.DecimalField(_("parts amount"), max_digits=10, decimal_places=2, default=0)
    total_amount = models.DecimalField(_("total amount"), max_digits=10, decimal_places=2, default=0)
    voided_at = models.DateTimeField(
        _("voided at"),
        null=True,
        blank=True,
        help_text=_("A cancelled order: it counts for nothing (points reversed)."),
    )
    # What the nightly rollups read to find the days a late or corrected order touched.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("repair order")
        verbose_name_plural = _("repair orders")
        ordering = ["-opened_at", "-pk"]
        indexes = [
            models.Index(fields=["vehicle", "opened_at"], name="ro_vehicle_opened"),
            models.Index(fields=["customer", "opened_at"], name="ro_customer_opened"),
            models.Index(fields=["dealership", "kind", "closed_at"], name="ro_store_kind_closed"),
            models.Index(fields=["dealership", "opened_at"], name="ro_store_opened"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "number"], name="ro_number_unique_per_dealership"),
            models.CheckConstraint(
                condition=Q(labor_amount__gte=0, parts_amount__gte=0, total_amount__gte=0),
                name="ro_amounts_non_negative",
            ),
            # Round: SQLite adds decimals in binary floating point (0.10 + 0.20
            # != 0.30 there); PostgreSQL's numeric is exact either way.
            models.CheckConstraint(
                condition=Q(total_amount=Round(F("labor_amount") + F("parts_amount"), 2)), name="ro_total_is_sum"
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("opened_at")), name="ro_closed_after_opened"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class RepairLine(models.Model):
    """One labour or parts line. A technician's recommendation the customer turned
    down stays on the order as ``declined`` with its quoted price, so care can
    come back to it."""

    class LineType(models.TextChoices):
        LABOR = "labor", _("Labour")
        PART = "part", _("Part")

    class Status(models.TextChoices):
        DONE = "done", _("Done")
        RECOMMENDED = "recommended", _("Recommended")
        DECLINED = "declined", _("Declined by customer")

    repair_order = models.ForeignKey(
        RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="lines"
    )
    line_type = models.CharField(_("type"), max_length=10, choices=LineType.choices, default=LineType.LABOR)
    description = models.CharField(_("description"), max_length=200)
    part_number = models.CharField(_("part number"), max_length=40, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=8, decimal_places=2, default=1)
    amount = models.DecimalField(_("amount charged"), max_digits=10, decimal_places=2, default=0)
    quoted_amount = models.DecimalField(_("quoted price"), max_digits=10, decimal_places=2, null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DONE)

    dealership_path = "repair_order__dealership"

    class Meta:
        verbose_name = _("repair line")
        verbose_name_plural = _("repair lines")
        ordering = ["repair_order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0, amount__gte=0) & (Q(quoted_amount__isnull=True) | Q(quoted_amount__gte=0)),
                name="repair_line_amounts_non_negative",
            ),
            # Nothing is charged for work the customer declined or has not yet accepted.
            models.CheckConstraint(condition=Q(status="done") | Q(amount=0), name="repair_line_only_done_is_charged"),
        ]

    def __str__(self) -> str:
        return self.description


class InsurancePolicy(models.Model):
    """A car insurance policy the store sold or renewed (投保/续保): what the
    renewal rate counts, and what earns club points."""

    class Kind(models.TextChoices):
        COMPULSORY = "compulsory", _("Compulsory (交强险)")
        COMMERCIAL = "commercial", pgettext_lazy("insurance", "Commercial")

    class Source(models.TextChoices):
        CALL = "call", _("Insurance renewal call")
        DESK = "desk", _("Service desk or admin")
        API = "api", _("API")

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.PROTECT, related_name="insurance_policies"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="insurance_policies"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="insurance_policies"
    )
    insurer = models.CharField(_("insurer"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    premium = models.DecimalField(_("premium"), max_digits=10, decimal_places=2)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    source = models.CharField(_("recorded from"), max_length=10, choices=Source.choices, default=Source.DESK)
    sold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sold by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("insurance policy")
        verbose_name_plural = _("insurance policies")
        ordering = ["-starts_on", "-pk"]
        indexes = [
            models.Index(fields=["dealership", "starts_on"], name="insurance_store_start"),
            models.Index(fields=["vehicle", "ends_on"], name="insurance_vehicle_end"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(premium__gte=0), name="insurance_premium_not_negative"),
            models.CheckConstraint(condition=Q(ends_on__gt=F("starts_on")), name="insurance_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.insurer} {self.starts_on}–{self.ends_on}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CONFIRMED = "confirmed", _("Confirmed")
        ARRIVED = "arrived", _("Arrived")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.PROTECT, related_name="appointments"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="appointments"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="appointments", null=True, blank=True
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
    )
    scheduled_at = models.DateTimeField(_("scheduled at"))
    kind = models.CharField(
        _("for"), max_length=20, choices=RepairOrder.Kind.choices, default=RepairOrder.Kind.MAINTENANCE
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.BOOKED)
    notes = models.TextField(_("notes"), blank=True)
    repair_order = models.OneToOneField(
        RepairOrder,
        verbose_name=_("repair order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointment",
        help_text=_("The visit the appointment turned into."),
    )
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["scheduled_at"]
        indexes = [models.Index(fields=["dealership", "scheduled_at"], name="appointment_store_time")]

    def __str__(self) -> str:
        return f"{self.customer} {self.scheduled_at:%Y-%m-%d %H:%M}"


class VehicleStatsWatermark(models.Model):
    """How far ``vehicle_service_stats_refresh`` has read: the highest reading and
    repair order ids already folded into the cars' figures. One row."""

    last_reading_id = models.BigIntegerField(default=0)
    last_repair_order_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("vehicle figures watermark")
        verbose_name_plural = _("vehicle figures watermark")

    def __str__(self) -> str:
        return f"{self.last_reading_id}/{self.last_repair_order_id}"
