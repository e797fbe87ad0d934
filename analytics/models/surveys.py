"""Surveys and their responses, and the cuts of the CSAT and NPS scales."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership
from customers.models import Customer
from service.models import RepairOrder

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
