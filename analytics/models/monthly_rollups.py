"""The monthly rollup tables summed from the daily ones, the tier figures and the watch list."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import VehicleModel

# --- Monthly rollups --------------------------------------------------------------
# What the dashboards read: the daily tables summed by month (one row per store-month
# and key instead of one per store-day), recomputed for the store-months whose days a
# run recomputed. A row with no dealership, where a table has them, sums every store:
# the group's figures, which a group-level user without a store chosen reads instead
# of adding up every store's rows.


class MonthlyOrderStats(models.Model):
    """DailyOrderStats by month, with the car model and the customer's tier: what the
    pages read when the model filter is set."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    kind = models.CharField(_("kind"), max_length=20, choices=RepairOrder.Kind.choices)
    payer = models.CharField(_("paid by"), max_length=20, choices=RepairOrder.Payer.choices)
    model = models.ForeignKey(
        VehicleModel, verbose_name=_("model"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    tier = models.CharField(_("value tier"), max_length=1, choices=Customer.ValueTier.choices)
    visits = models.PositiveIntegerField(_("returning visits"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2, default=0)
    labor = models.DecimalField(_("labour"), max_digits=16, decimal_places=2, default=0)
    parts = models.DecimalField(_("parts"), max_digits=16, decimal_places=2, default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly orders figure by model")
        verbose_name_plural = _("monthly orders figures by model")
        constraints = [
            models.UniqueConstraint(
                fields=["dealership", "month", "kind", "payer", "model", "tier"], name="monthlyorderstats_key"
            )
        ]
        indexes = [models.Index(fields=["dealership", "month"], name="monthlyorderstats_store")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m} {self.kind}/{self.payer}: {self.visits}"


class MonthlyOrderTotals(models.Model):
    """DailyOrderStats by month over every car model: the pages' visits and revenue
    without the model filter (a store-month has a few dozen rows here, a few
    hundred with the models)."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    kind = models.CharField(_("kind"), max_length=20, choices=RepairOrder.Kind.choices)
    payer = models.CharField(_("paid by"), max_length=20, choices=RepairOrder.Payer.choices)
    tier = models.CharField(_("value tier"), max_length=1, choices=Customer.ValueTier.choices)
    visits = models.PositiveIntegerField(_("returning visits"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2, default=0)
    labor = models.DecimalField(_("labour"), max_digits=16, decimal_places=2, default=0)
    parts = models.DecimalField(_("parts"), max_digits=16, decimal_places=2, default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly orders figure")
        verbose_name_plural = _("monthly orders figures")
        constraints = [
            models.UniqueConstraint(
                fields=["dealership", "month", "kind", "payer", "tier"], name="monthlyordertotals_key"
            )
        ]
        indexes = [models.Index(fields=["dealership", "month"], name="monthlyordertotals_store")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m} {self.kind}/{self.payer}/{self.tier}: {self.visits}"


class MonthlyStoreStats(models.Model):
    """DailyStoreStats by month."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
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
        verbose_name = _("monthly store figure")
        verbose_name_plural = _("monthly store figures")
        constraints = [models.UniqueConstraint(fields=["dealership", "month"], name="monthlystorestats_key")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m}"


class MonthlyCareStats(models.Model):
    """DailyCareStats by month (no group rows: the advisors are a store's)."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    kind = models.CharField(_("kind"), max_length=24)
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    generated = models.PositiveIntegerField(_("touches generated"), default=0)
    contacted = models.PositiveIntegerField(_("contacted"), default=0)
    reached = models.PositiveIntegerField(_("reached"), default=0)
    booked = models.PositiveIntegerField(_("booked"), default=0)
    arrived = models.PositiveIntegerField(_("arrived"), default=0)
    revenue = models.DecimalField(_("revenue of the visits"), max_digits=16, decimal_places=2, default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly care funnel")
        verbose_name_plural = _("monthly care funnels")
        constraints = [
            models.UniqueConstraint(fields=["dealership", "month", "kind", "advisor"], name="monthlycarestats_key")
        ]
        indexes = [models.Index(fields=["month", "dealership"], name="monthlycarestats_month")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m} {self.kind}: {self.generated}"


class MonthlyAdvisorStats(models.Model):
    """DailyAdvisorStats by month; ``overdue`` is not a sum but the snapshot of the
    month's last day the store has figures for."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
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
        verbose_name = _("monthly advisor figure")
        verbose_name_plural = _("monthly advisor figures")
        constraints = [
            models.UniqueConstraint(fields=["dealership", "month", "advisor"], name="monthlyadvisorstats_key")
        ]
        indexes = [models.Index(fields=["month", "dealership"], name="monthlyadvisorstats_month")]

    def __str__(self) -> str:
        return f"{self.advisor_id} {self.month:%Y-%m}: {self.calls}"


class MonthlyCareTotals(models.Model):
    """MonthlyCareStats over the advisors: a store-month's funnel by kind (and the group's, with
    no dealership), what a group-level user's funnel by store reads."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    kind = models.CharField(_("kind"), max_length=24)
    generated = models.PositiveIntegerField(_("touches generated"), default=0)
    contacted = models.PositiveIntegerField(_("contacted"), default=0)
    reached = models.PositiveIntegerField(_("reached"), default=0)
    booked = models.PositiveIntegerField(_("booked"), default=0)
    arrived = models.PositiveIntegerField(_("arrived"), default=0)
    revenue = models.DecimalField(_("revenue of the visits"), max_digits=16, decimal_places=2, default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly care funnel of a store")
        verbose_name_plural = _("monthly care funnels of a store")
        constraints = [models.UniqueConstraint(fields=["dealership", "month", "kind"], name="monthlycaretotals_key")]
        indexes = [models.Index(fields=["month", "dealership"], name="monthlycaretotals_month")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m} {self.kind}: {self.generated}"


class MonthlyAdvisorTotals(models.Model):
    """MonthlyAdvisorStats over a store's advisors (``overdue``: their month's snapshots added up),
    what a group-level user's advisors by store reads."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    calls = models.PositiveIntegerField(_("calls made"), default=0)
    reached = models.PositiveIntegerField(_("calls reaching the customer"), default=0)
    booked = models.PositiveIntegerField(_("calls ending in a booking"), default=0)
    csat_count = models.PositiveIntegerField(_("CSAT answers of their customers"), default=0)
    csat_sum = models.PositiveIntegerField(_("CSAT sum"), default=0)
    csat_satisfied = models.PositiveIntegerField(_("CSAT answers of 4 or 5"), default=0)
    overdue = models.PositiveIntegerField(_("touches overdue"), default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly advisor figure of a store")
        verbose_name_plural = _("monthly advisor figures of a store")
        constraints = [models.UniqueConstraint(fields=["dealership", "month"], name="monthlyadvisortotals_key")]
        indexes = [models.Index(fields=["month", "dealership"], name="monthlyadvisortotals_month")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m}: {self.calls}"


class MonthlyVisitorStats(models.Model):
    """Customers with a repair order opened in a store-month (any order: open, closed
    or voided), distinct per attribution: the complaint rate's base. ``all`` counts
    the store's; ``advisor`` by the order's advisor, else the customer's; ``technician``
    by the order's technician; ``model`` by the car's model. A customer belongs to one
    store, so a group's count is the sum of its stores'."""

    class Attribution(models.TextChoices):
        ALL = "all", _("All")
        ADVISOR = "advisor", _("advisor")
        TECHNICIAN = "technician", _("technician")
        MODEL = "model", _("model")

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    attribution = models.CharField(_("by"), max_length=12, choices=Attribution.choices)
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    technician = models.ForeignKey(
        "service.Technician", verbose_name=_("technician"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    model = models.ForeignKey(
        VehicleModel, verbose_name=_("model"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    customers = models.PositiveIntegerField(_("customers with a visit"), default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly customers with a visit")
        verbose_name_plural = _("monthly customers with a visit")
        indexes = [models.Index(fields=["month", "attribution", "dealership"], name="monthlyvisitorstats_month")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m} {self.attribution}: {self.customers}"


class MonthlyTierStats(models.Model):
    """The customers of a store-month by value tier and churn state: the month's tier
    snapshot for a past month, the active customers as of the run for the current
    one (the churn rate's base, the tiers month by month)."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    tier = models.CharField(_("value tier"), max_length=1, choices=Customer.ValueTier.choices)
    churn_state = models.CharField(_("churn state"), max_length=10, choices=Customer.ChurnState.choices)
    customers = models.PositiveIntegerField(_("customers"), default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly tier figure")
        verbose_name_plural = _("monthly tier figures")
        constraints = [
            models.UniqueConstraint(fields=["dealership", "month", "tier", "churn_state"], name="monthlytierstats_key")
        ]
        indexes = [models.Index(fields=["dealership", "month"], name="monthlytierstats_store")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m} {self.tier}/{self.churn_state}: {self.customers}"


class MonthlyAdvisorTierStats(models.Model):
    """MonthlyTierStats by the customer's advisor (as of the run), with the month's
    churn moves: customers who turned at risk, turned lost or were recovered in the
    month (distinct customers, by their churn events' day) — the tiers page."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    # Blank on the rows of the churn moves (a customer moved need not be counted in the month).
    tier = models.CharField(_("value tier"), max_length=1, choices=Customer.ValueTier.choices, blank=True)
    churn_state = models.CharField(_("churn state"), max_length=10, choices=Customer.ChurnState.choices, blank=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    turned_at_risk = models.PositiveIntegerField(_("customers turned at risk"), default=0)
    turned_lost = models.PositiveIntegerField(_("customers turned lost"), default=0)
    recovered = models.PositiveIntegerField(_("customers recovered"), default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly tier figure by advisor")
        verbose_name_plural = _("monthly tier figures by advisor")
        indexes = [models.Index(fields=["month", "dealership"], name="monthlyadvisortier_month")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m} {self.advisor_id} {self.tier}/{self.churn_state}"


class MonthlyTierMoves(models.Model):
    """Customers of a store by their tier the month before (blank: no snapshot then,
    new) and in the month (blank: no longer counted)."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    from_tier = models.CharField(_("tier the month before"), max_length=1, blank=True)
    to_tier = models.CharField(_("tier in the month"), max_length=1, blank=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("monthly tier movement")
        verbose_name_plural = _("monthly tier movements")
        indexes = [models.Index(fields=["month", "dealership"], name="monthlytiermoves_month")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.month:%Y-%m} {self.from_tier or 'new'}→{self.to_tier or 'left'}"


class WatchListEntry(models.Model):
    """A store's newest watch-list flags as of the run (at most ``WATCH_LIST_SIZE`` per
    store): the tiers page lists the newest of them without ordering every customer."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+")
    since = models.DateField(_("on the watch list since"), null=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("watch-list entry")
        verbose_name_plural = _("watch-list entries")
        constraints = [models.UniqueConstraint(fields=["customer"], name="watchlistentry_once")]
        indexes = [models.Index(fields=["dealership", "since"], name="watchlistentry_store")]

    def __str__(self) -> str:
        return f"{self.dealership_id} {self.customer_id} {self.since}"
