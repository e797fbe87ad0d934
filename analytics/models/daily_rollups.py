"""The daily rollup tables: orders, store, care and advisor figures by store-day."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import VehicleModel

# --- Rollups ------------------------------------------------------------------
# Nightly and incremental (analytics.rollups): each run recomputes the store-days
# whose sources changed since the last run. Dashboards read these tables only.


class DailyOrderStats(models.Model):
    """Closed, not voided repair orders of a store-day (the day the car came in),
    by order kind, payer, car model and the customer's tier."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=20, choices=RepairOrder.Kind.choices)
    payer = models.CharField(_("paid by"), max_length=20, choices=RepairOrder.Payer.choices)
    model = models.ForeignKey(
        VehicleModel, verbose_name=_("model"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    tier = models.CharField(_("value tier"), max_length=1, choices=Customer.ValueTier.choices)
    visits = models.PositiveIntegerField(_("returning visits"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)
    labor = models.DecimalField(_("labour"), max_digits=14, decimal_places=2, default=0)
    parts = models.DecimalField(_("parts"), max_digits=14, decimal_places=2, default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("daily orders figure")
        verbose_name_plural = _("daily orders figures")
        constraints = [
            models.UniqueConstraint(
                fields=["dealership", "day", "kind", "payer", "model", "tier"], name="dailyorderstats_key"
            )
        ]
        indexes = [models.Index(fields=["day", "dealership"], name="dailyorderstats_day")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.day} {self.kind}/{self.payer}: {self.visits}"


class DailyStoreStats(models.Model):
    """A store-day's figures other than the orders' (customers, churn,
    complaints, surveys, insurance, club)."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    new_customers = models.PositiveIntegerField(_("new customers"), default=0)
    at_risk_customers = models.PositiveIntegerField(_("customers turned at risk"), default=0)
    lost_customers = models.PositiveIntegerField(_("customers lost"), default=0)
    recovered_customers = models.PositiveIntegerField(_("customers recovered"), default=0)
    complaints = models.PositiveIntegerField(_("complaints received"), default=0)
    csat_count = models.PositiveIntegerField(_("CSAT answers"), default=0)
    csat_sum = models.PositiveIntegerField(_("CSAT sum"), default=0)
    csat_satisfied = models.PositiveIntegerField(_("CSAT answers of 4 or 5"), default=0)
    nps_count = models.PositiveIntegerField(_("NPS answers of returning customers"), default=0)
    nps_promoters = models.PositiveIntegerField(_("promoters (returning)"), default=0)
    nps_detractors = models.PositiveIntegerField(_("detractors (returning)"), default=0)
    lapsed_nps_count = models.PositiveIntegerField(_("NPS answers of lapsed customers"), default=0)
    lapsed_nps_promoters = models.PositiveIntegerField(_("promoters (lapsed)"), default=0)
    lapsed_nps_detractors = models.PositiveIntegerField(_("detractors (lapsed)"), default=0)
    insurance_due = models.PositiveIntegerField(_("policies ending"), default=0)
    insurance_renewed = models.PositiveIntegerField(_("policies renewed here"), default=0)
    membership_joins = models.PositiveIntegerField(_("club cards started"), default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("daily store figure")
        verbose_name_plural = _("daily store figures")
        constraints = [models.UniqueConstraint(fields=["dealership", "day"], name="dailystorestats_key")]
        indexes = [models.Index(fields=["day", "dealership"], name="dailystorestats_day")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.day}"


class DailyCareStats(models.Model):
    """The care funnel of the touches generated on a store-day, by kind and advisor."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=24)
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    generated = models.PositiveIntegerField(_("touches generated"), default=0)
    contacted = models.PositiveIntegerField(_("contacted"), default=0)
    reached = models.PositiveIntegerField(_("reached"), default=0)
    booked = models.PositiveIntegerField(_("booked"), default=0)
    arrived = models.PositiveIntegerField(_("arrived"), default=0)
    revenue = models.DecimalField(_("revenue of the visits"), max_digits=14, decimal_places=2, default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("daily care funnel")
        verbose_name_plural = _("daily care funnels")
        constraints = [
            models.UniqueConstraint(fields=["dealership", "day", "kind", "advisor"], name="dailycarestats_key")
        ]
        indexes = [models.Index(fields=["day", "dealership"], name="dailycarestats_day")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.day} {self.kind}: {self.generated}"


class DailyAdvisorStats(models.Model):
    """An advisor's calls of a day, their customers' CSAT, and the touches
    overdue at the end of it."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE, related_name="+"
    )
    calls = models.PositiveIntegerField(_("calls made"), default=0)
    reached = models.PositiveIntegerField(_("calls reaching the customer"), default=0)
    booked = models.PositiveIntegerField(_("calls ending in a booking"), default=0)
    csat_count = models.PositiveIntegerField(_("CSAT answers of their customers"), default=0)
    csat_sum = models.PositiveIntegerField(_("CSAT sum"), default=0)
    csat_satisfied = models.PositiveIntegerField(_("CSAT answers of 4 or 5"), default=0)
    overdue = models.PositiveIntegerField(_("touches overdue"), default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("daily advisor figure")
        verbose_name_plural = _("daily advisor figures")
        constraints = [models.UniqueConstraint(fields=["dealership", "day", "advisor"], name="dailyadvisorstats_key")]
        indexes = [models.Index(fields=["day", "dealership"], name="dailyadvisorstats_day")]

    def __str__(self) -> str:
        return f"{self.advisor_id} {self.day}: {self.calls}"
