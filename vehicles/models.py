from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.validators import validate_plate, validate_vin
from customers.models import Customer


class VehicleModel(models.Model):
    """A model in the group's catalogue, with its maintenance schedule and warranty terms.

    Maintenance is due at whichever comes first: the months or the km since the
    last maintenance (the first one counted from delivery).
    """

    class VehicleClass(models.TextChoices):
        SEDAN = "sedan", _("Sedan")
        SUV = "suv", _("SUV")
        MPV = "mpv", _("MPV")
        HATCHBACK = "hatchback", _("Hatchback")
        PICKUP = "pickup", _("Pickup")
        VAN = "van", _("Van")

    class Energy(models.TextChoices):
        PETROL = "petrol", _("Petrol")
        HYBRID = "hybrid", _("Hybrid")
        PLUGIN = "plugin", _("Plug-in hybrid")
        ELECTRIC = "electric", _("Battery electric")

    brand = models.CharField(_("brand"), max_length=50)
    name = models.CharField(_("model"), max_length=80)
    vehicle_class = models.CharField(_("class"), max_length=20, choices=VehicleClass.choices)
    energy = models.CharField(_("energy"), max_length=20, choices=Energy.choices, default=Energy.PETROL)
    first_maintenance_km = models.PositiveIntegerField(_("first maintenance at (km)"))
    first_maintenance_months = models.PositiveSmallIntegerField(_("first maintenance at (months)"))
    maintenance_interval_km = models.PositiveIntegerField(_("maintenance interval (km)"))
    maintenance_interval_months = models.PositiveSmallIntegerField(_("maintenance interval (months)"))
    warranty_months = models.PositiveSmallIntegerField(_("warranty (months)"))
    warranty_km = models.PositiveIntegerField(_("warranty (km)"))
    is_active = models.BooleanField(_("sold currently"), default=True)

    class Meta:
        verbose_name = _("vehicle model")
        verbose_name_plural = _("vehicle models")
        ordering = ["brand", "name"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="vehicle_model_unique_name"),
            models.CheckConstraint(
                condition=models.Q(first_maintenance_km__gt=0, maintenance_interval_km__gt=0),
                name="vehicle_model_km_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(first_maintenance_months__gt=0, maintenance_interval_months__gt=0),
                name="vehicle_model_months_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} {self.name}"


class Vehicle(models.Model):
    class Usage(models.TextChoices):
        PRIVATE = "private", _("Private")
        OFFICIAL = "official", _("Official")
        COMMERCIAL = "commercial", _("Commercial")

    class Status(models.TextChoices):
        ACTIVE = "active", _("In use")
        SOLD = "sold", _("Sold on")
        SCRAPPED = "scrapped", _("Scrapped")

    customer = models.ForeignKey(Customer, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="vehicles")
    vin = models.CharField(_("VIN"), max_length=17, unique=True, validators=[validate_vin])
    model = models.ForeignKey(VehicleModel, verbose_name=_("model"), on_delete=models.PROTECT, related_name="vehicles")
    plate_number = models.CharField(
        _("plate number"), max_length=8, blank=True, validators=[validate_plate], db_index=True
    )
    engine_number = models.CharField(_("engine number"), max_length=30, blank=True)
    transmission_number = models.CharField(_("transmission number"), max_length=30, blank=True)
    colour = models.CharField(_("colour"), max_length=20, blank=True)
    purchase_date = models.DateField(_("purchase date"))
    sold_here = models.BooleanField(_("sold by us"), default=True)
    usage = models.CharField(_("usage"), max_length=12, choices=Usage.choices, default=Usage.PRIVATE)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    first_maintenance_date = models.DateField(_("first maintenance date"), null=True, blank=True)
    first_maintenance_mileage = models.PositiveIntegerField(_("first maintenance mileage"), null=True, blank=True)
    current_mileage = models.PositiveIntegerField(_("current mileage (km)"), default=0)
    current_mileage_date = models.DateField(_("mileage read on"), null=True, blank=True)
    # Kept by service.services.vehicle_service_stats_refresh (set-based, nightly and on demand).
    last_maintenance_date = models.DateField(_("last maintenance"), null=True, blank=True)
    last_maintenance_mileage = models.PositiveIntegerField(_("mileage at last maintenance"), null=True, blank=True)
    # How many maintenance visits the car made here (the nightly refresh): the
    # return rates of the first, second and third maintenance read it.
    maintenance_count = models.PositiveIntegerField(_("maintenance visits here"), default=0)
    km_per_day = models.DecimalField(
        _("km per day"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("From the odometer history; empty while the history is too short."),
    )
    warranty_end_date = models.DateField(_("warranty ends"), null=True, blank=True)
    warranty_end_km = models.PositiveIntegerField(_("warranty ends at (km)"), null=True, blank=True)
    insurance_expiry_date = models.DateField(_("insurance expires"), null=True, blank=True)
    insurer = models.CharField(_("insurer"), max_length=50, blank=True)
    inspection_due_date = models.DateField(_("next annual inspection"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    dealership_path = "customer__dealership"

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["plate_number", "vin"]
        # Care generators pick cars by these dates every morning.
        indexes = [
            models.Index(fields=["insurance_expiry_date"], name="vehicle_insurance_expiry"),
            models.Index(fields=["inspection_due_date"], name="vehicle_inspection_due"),
            models.Index(fields=["warranty_end_date"], name="vehicle_warranty_end"),
            models.Index(fields=["purchase_date"], name="vehicle_purchase_date"),
        ]

    def __str__(self) -> str:
        return self.plate_number or self.vin

    def clean(self) -> None:
        if self.first_maintenance_date and self.purchase_date and self.first_maintenance_date < self.purchase_date:
            raise ValidationError({"first_maintenance_date": _("The first maintenance cannot precede the purchase.")})


class MileageReading(models.Model):
    """An odometer reading. Readings never decrease over time for one car;
    ``vehicles.services.mileage_record`` checks that on every write."""

    class Source(models.TextChoices):
        REPAIR_ORDER = "repair_order", _("Repair order")
        CALL = "call", _("Customer call")
        DELIVERY = "delivery", _("Delivery")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        OTHER = "other", _("Other")

    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="mileage_readings"
    )
    read_on = models.DateField(_("read on"))
    mileage = models.PositiveIntegerField(_("mileage (km)"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.REPAIR_ORDER)

    dealership_path = "vehicle__customer__dealership"

    class Meta:
        verbose_name = _("mileage reading")
        verbose_name_plural = _("mileage readings")
        ordering = ["vehicle", "read_on", "mileage"]
        indexes = [models.Index(fields=["vehicle", "read_on"], name="mileage_vehicle_date")]

    def __str__(self) -> str:
        return f"{self.read_on}: {self.mileage} km"
