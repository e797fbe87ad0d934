"""Care campaigns measured against a holdout, and their members."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Dealership
from customers.models import Customer

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
