from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Dealership
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import VehicleModel


class CustomerStats(models.Model):
    """Each customer's figures as of the last tier recompute: the working table
    the recompute fills with one INSERT … SELECT and reads back set-wise."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    day = models.DateField(_("as of"))
    visits = models.PositiveIntegerField(_("visits in the window"), default=0)
    paid_visits = models.PositiveIntegerField(_("paid visits in the window"), default=0)
    paid_spend = models.DecimalField(_("paid spend in the window"), max_digits=12, decimal_places=2, default=0)
    total_spend = models.DecimalField(_("spend in the window"), max_digits=12, decimal_places=2, default=0)
    last_visit_at = models.DateTimeField(_("last visit"), null=True)
    last_visit_on = models.DateField(_("last visit (local date)"), null=True)
    first_visit_at = models.DateTimeField(_("first visit"), null=True)
    customer_since = models.DateTimeField(_("customer since"), null=True)
    referrals = models.PositiveIntegerField(_("referrals"), default=0)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, default=0)
    tier = models.CharField(_("value tier"), max_length=1, choices=Customer.ValueTier.choices, default="B")
    churn_state = models.CharField(
        _("churn state"), max_length=10, choices=Customer.ChurnState.choices, default="active"
    )
    confirm_by_call = models.BooleanField(_("confirm by call"), default=False)
    # The early warning: the customer's usual gap between visits (the median of the last
    # gaps, NULL with too few visits), the days since the last visit, and what they decide.
    usual_gap_days = models.PositiveIntegerField(_("usual days between visits"), null=True)
    days_since_visit = models.PositiveIntegerField(_("days since the last visit"), null=True)
    watch_visit_rate = models.BooleanField(_("watch: visits falling behind"), default=False)
    watch_tier_down = models.BooleanField(_("watch: if the tier went down"), default=False)

    dealership_path = "customer__dealership"

    class Meta:
        verbose_name = _("customer figures")
        verbose_name_plural = _("customer figures")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day}: {self.tier}/{self.churn_state} ({self.score})"


# --- Surveys ------------------------------------------------------------------


class Survey(models.Model):
    """One invitation to answer the two questions (CSAT 1–5, NPS 0–10): a link
    sent by SMS, or the questions asked on a call. The SMS link carries a signed
    token of this row; answering it once sets ``answered_at`` (one use)."""

    class Kind(models.TextChoices):
        POST_SERVICE = "post_service", _("After a service visit")
        LAPSED = "lapsed", _("Lapsed customer")

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS link")
        CALL = "call", _("Phone call")

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="surveys")
    repair_order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("repair order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
    )
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=6, choices=Channel.choices)
    sent_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("link valid until"))
    opened_at = models.DateTimeField(_("first opened at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-sent_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "sent_at"], name="survey_customer_sent"),
            models.Index(fields=["dealership", "sent_at"], name="survey_store_sent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=F("sent_at")), name="survey_expires_after_sent"),
            # One invitation per order: the nightly invitations can run twice.
            models.UniqueConstraint(
                fields=["repair_order", "kind"],
                condition=Q(repair_order__isnull=False),
                name="survey_once_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} · {self.get_kind_display()} · {self.sent_at:%Y-%m-%d}"


class SurveyResponse(models.Model):
    """The customer's answers: CSAT (1–5) and NPS (0–10, "how likely to
    recommend us"), either may be left out, with a comment."""

    survey = models.OneToOneField(
        Survey, verbose_name=_("survey"), on_delete=models.SET_NULL, null=True, blank=True, related_name="response"
    )
    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="survey_responses"
    )
    repair_order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("repair order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
    )
    # The advisor whose customer answered (the order's, else the customer's):
    # the advisor page's CSAT. ``asked_by`` made the call, if it was a call.
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    contact = models.OneToOneField(
        "care.Contact",
        verbose_name=_("call"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_response",
    )
    kind = models.CharField(_("kind"), max_length=14, choices=Survey.Kind.choices)
    channel = models.CharField(_("channel"), max_length=6, choices=Survey.Channel.choices)
    complaint = models.OneToOneField(
        "complaints.Complaint",
        verbose_name=_("complaint raised from it"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_response",
    )
    csat = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("likely to recommend (0–10)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"))

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-answered_at", "-pk"]
        indexes = [
            models.Index(fields=["dealership", "answered_at"], name="surveyresponse_store_time"),
            models.Index(fields=["customer", "answered_at"], name="surveyresponse_customer_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5), name="surveyresponse_csat_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(nps__isnull=True) | Q(nps__gte=0, nps__lte=10), name="surveyresponse_nps_0_to_10"
            ),
            models.CheckConstraint(
                condition=Q(csat__isnull=False) | Q(nps__isnull=False), name="surveyresponse_has_an_answer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} · CSAT {self.csat} · NPS {self.nps}"

    @property
    def is_detractor(self) -> bool:
        """NPS ≤ 6 or CSAT ≤ 2 (DETRACTOR_NPS_MAX, DETRACTOR_CSAT_MAX)."""
        return (self.nps is not None and self.nps <= DETRACTOR_NPS_MAX) or (
            self.csat is not None and self.csat <= DETRACTOR_CSAT_MAX
        )


# The one place the survey scales are cut: the selectors, the rollups and the
# follow-up touch read these.
PROMOTER_NPS_MIN = 9
DETRACTOR_NPS_MAX = 6
SATISFIED_CSAT_MIN = 4
DETRACTOR_CSAT_MAX = 2


# --- Campaigns ----------------------------------------------------------------


class Campaign(models.Model):
    """A care campaign measured against a holdout: a random share of its
    customers (stable: a hash of campaign and customer) gets no touch, and the
    results compare the two groups within the campaign's window."""

    class Kind(models.TextChoices):
        SEASONAL = "seasonal", _("Seasonal")
        WINBACK = "winback", _("Win-back")
        RECALL = "recall", _("Recall")
        LIST = "list", _("Uploaded list")

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="campaigns"
    )
    name = models.CharField(_("campaign name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    starts_on = models.DateField(pgettext_lazy("campaign", "starts on"))
    ends_on = models.DateField(pgettext_lazy("campaign", "ends on"))
    cost = models.DecimalField(_("cost (yuan)"), max_digits=12, decimal_places=2, default=0)
    holdout_share = models.DecimalField(
        _("holdout share"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.10"),
        help_text=_("The share of the campaign's customers who get no touch, to measure against (0–0.5)."),
    )
    # Who is in it (for the segment kinds): e.g. {"tiers": ["B", "C"], "churn_states": ["at_risk"]}.
    audience = models.JSONField(_("audience"), default=dict, blank=True)
    rule = models.ForeignKey(
        "care.CareRule",
        verbose_name=_("touch rule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The care rule whose script and channel the campaign's touches use."),
    )
    drawn_at = models.DateTimeField(_("customers drawn at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="campaign_ends_after_start"),
            models.CheckConstraint(
                condition=Q(holdout_share__gte=0, holdout_share__lte=Decimal("0.5")), name="campaign_holdout_share"
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="campaign_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignMember(models.Model):
    """A customer of a campaign, in the treated group or the holdout."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+")
    holdout = models.BooleanField(_("in the holdout"))
    task = models.ForeignKey(
        "care.CareTask",
        verbose_name=_("care touch"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    dealership_path = "campaign__dealership"

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_member_once")]
        indexes = [models.Index(fields=["campaign", "holdout"], name="campaign_member_group")]

    def __str__(self) -> str:
        return f"{self.campaign_id} · {self.customer_id}{' (holdout)' if self.holdout else ''}"


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
