"""The customers' figures the tier recompute works from (CustomerStats)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


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
