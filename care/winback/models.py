"""Win-back: why customers stopped coming, and the campaigns that call them back."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from care.winback.segments import clean_campaign_segment
from crm.models import Dealership


class WinbackReason(models.TextChoices):
    """Why a customer stopped coming (seed 003's survey)."""

    PRICE = "price", _("Price")
    QUALITY = "quality", _("Repair quality / not fixed the first time")
    ATTITUDE = "attitude", _("Service attitude")
    BROKEN_PROMISE = "broken_promise", _("A promise not kept")
    DISTANCE = "distance", _("Distance or time")
    ASSIGNED_SHOP = "assigned_shop", _("Insurer or police assigned another shop")
    MOVED = "moved", _("Moved away")
    CAR_SOLD = "car_sold", _("Car sold")
    OTHER = "other", _("Other")


class WinbackCampaign(models.Model):
    """A manager's win-back push for a segment of at-risk and lost customers, with an offer."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="winback_campaigns"
    )
    name = models.CharField(_("name"), max_length=100)
    offer = models.CharField(_("offer"), max_length=200, help_text=_("What the call offers, e.g. 保养套餐八折."))
    segment = models.JSONField(
        _("segment"),
        default=dict,
        blank=True,
        help_text=_(
            'Optional keys: "models" (names), "brands", "min_age_years", "max_age_years", "tiers" (e.g. "CD"), '
            '"cities", "churn_states" (at_risk, lost).'
        ),
    )
    start_date = models.DateField(_("starts"))
    end_date = models.DateField(_("ends"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("win-back campaign")
        verbose_name_plural = _("win-back campaigns")
        ordering = ["-start_date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="winback_campaign_dates")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            clean_campaign_segment(self.segment)
        except ValidationError as exc:
            raise ValidationError({"segment": exc.messages}) from exc
