"""What a campaign earned, treated against holdout, within its window.

Per group: members; returned (members with a closed, not voided repair order
opened, in local dates, within [starts_on, ends_on]); the return rate;
revenue (the sum of those orders' ``total_amount``) and revenue per member.
Then:

- lift = treated rate − holdout rate;
- incremental revenue = (treated revenue per member − holdout revenue per
  member) × treated members, i.e. what the treated group earned beyond what
  it would have earned at the holdout's pace;
- ROI = (incremental revenue − cost) / cost (None when the campaign cost nothing);
- a 95 % confidence interval on the difference of the return rates, by the
  normal approximation: lift ± 1.96 · √(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂).

It is *significant* when the interval excludes 0 and both groups have at
least ``MIN_GROUP`` members (the normal approximation is poor below that);
otherwise the page says plainly that it is not yet.

One query for any number of campaigns: their members grouped by (campaign,
holdout), each member's returns and revenue from correlated subqueries on
the repair orders of that customer (the index on customer and opening time).
"""

import dataclasses
import datetime
import math
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from analytics.models import Campaign, CampaignMember
from service.models import RepairOrder

MIN_GROUP = 30
Z_95 = 1.96
_CENT = Decimal("0.01")
_MONEY = DecimalField(max_digits=16, decimal_places=2)


class Verdict:
    NOT_DRAWN = "not_drawn"
    NO_HOLDOUT = "no_holdout"
    TOO_SMALL = "too_small"
    NOT_SIGNIFICANT = "not_significant"
    BETTER = "better"
    WORSE = "worse"


@dataclasses.dataclass(frozen=True)
class Group:
    members: int = 0
    returned: int = 0
    revenue: Decimal = Decimal("0.00")
    touched: int = 0  # members linked to a care touch (the treated group's)

    @property
    def rate(self) -> Decimal | None:
        """The return rate as a fraction (0–1), None for an empty group."""
        return Decimal(self.returned) / Decimal(self.members) if self.members else None

    @property
    def revenue_per_member(self) -> Decimal | None:
        return self.revenue / Decimal(self.members) if self.members else None

    @property
    def rate_percent(self) -> Decimal | None:
        return _percent(self.rate)

    @property
    def revenue_per_member_yuan(self) -> Decimal | None:
        per = self.revenue_per_member
        return None if per is None else per.quantize(_CENT, rounding=ROUND_HALF_UP)


def _percent(fraction: Decimal | float | None) -> Decimal | None:
    """A fraction as a percentage to one decimal (0.125 → 12.5)."""
    if fraction is None:
        return None
    return (Decimal(str(fraction)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class CampaignResults:
    campaign: Campaign
    treated: Group
    holdout: Group
    today: datetime.date

    # --- the figures -------------------------------------------------------------------
    @property
    def lift(self) -> Decimal | None:
        """Treated return rate − holdout return rate (a fraction; ×100 is percentage points)."""
        if self.treated.rate is None or self.holdout.rate is None:
            return None
        return self.treated.rate - self.holdout.rate

    @property
    def incremental_revenue(self) -> Decimal | None:
        treated, holdout = self.treated, self.holdout
        if treated.revenue_per_member is None or holdout.revenue_per_member is None:
            return None
        extra = (treated.revenue_per_member - holdout.revenue_per_member) * treated.members
        return extra.quantize(_CENT, rounding=ROUND_HALF_UP)

    @property
    def roi(self) -> Decimal | None:
        """(incremental revenue − cost) / cost, a fraction (1.5 is 150 %); None when it cost nothing."""
        cost = self.campaign.cost
        if not cost or self.incremental_revenue is None:
            return None
        return ((self.incremental_revenue - cost) / cost).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    @property
    def standard_error(self) -> float | None:
        p1, p2 = self.treated.rate, self.holdout.rate
        if p1 is None or p2 is None:
            return None
        p1, p2 = float(p1), float(p2)
        return math.sqrt(p1 * (1 - p1) / self.treated.members + p2 * (1 - p2) / self.holdout.members)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95 % confidence interval of the lift (fractions)."""
        if self.lift is None:
            return None
        margin = Z_95 * self.standard_error
        return float(self.lift) - margin, float(self.lift) + margin

    @property
    def verdict(self) -> str:
        if not self.treated.members and not self.holdout.members:
            return Verdict.NOT_DRAWN
        if not self.holdout.members:
            return Verdict.NO_HOLDOUT
        if min(self.treated.members, self.holdout.members) < MIN_GROUP:
            return Verdict.TOO_SMALL
        low, high = self.interval
        if low > 0:
            return Verdict.BETTER
        if high < 0:
            return Verdict.WORSE
        return Verdict.NOT_SIGNIFICANT

    @property
    def significant(self) -> bool:
        return self.verdict in (Verdict.BETTER, Verdict.WORSE)

    @property
    def running(self) -> bool:
        return self.today <= self.campaign.ends_on

    # --- what the pages print ------------------------------------------------------------
    @property
    def lift_points(self) -> Decimal | None:
        return _percent(self.lift)

    @property
    def interval_points(self) -> tuple[Decimal, Decimal] | None:
        return None if self.interval is None else (_percent(self.interval[0]), _percent(self.interval[1]))

    @property
    def roi_percent(self) -> Decimal | None:
        return _percent(self.roi)

    @property
    def verdict_text(self) -> str:
        verdict = self.verdict
        if verdict == Verdict.NOT_DRAWN:
            return _("No customers drawn yet: nothing to compare.")
        if verdict == Verdict.NO_HOLDOUT:
            return _("Not yet significant: there is no holdout to compare with (the holdout share is 0).")
        if verdict == Verdict.TOO_SMALL:
            return _(
                "Not yet significant: a group has fewer than %(n)d customers, too few to tell the campaign's "
                "effect from chance."
            ) % {"n": MIN_GROUP}
        low, high = self.interval_points
        figures = {"lift": self.lift_points, "low": low, "high": high}
        if verdict == Verdict.BETTER:
            text = _(
                "Significant: the treated customers came back more than the holdout, by %(lift)s points "
                "(95%% confidence: %(low)s to %(high)s points)."
            )
        elif verdict == Verdict.WORSE:
            text = _(
                "Significant: the treated customers came back less than the holdout, by %(lift)s points "
                "(95%% confidence: %(low)s to %(high)s points)."
            )
        else:
            text = _(
                "Not yet significant: the difference of %(lift)s points could be chance "
                "(95%% confidence: %(low)s to %(high)s points, which includes 0)."
            )
        text = text % figures
        if self.running:
            text += " " + _("The campaign is still running: these are the figures so far.")
        return text


def _orders(member_ref: str = "customer_id"):
    """The member's closed, not voided orders opened (local date) within its campaign's window."""
    return (
        RepairOrder.objects.filter(customer_id=OuterRef(member_ref), closed_at__isnull=False, voided_at__isnull=True)
        .annotate(visit_day=TruncDate("opened_at", tzinfo=_zone()))
        .filter(visit_day__gte=OuterRef("campaign__starts_on"), visit_day__lte=OuterRef("campaign__ends_on"))
    )


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.TIME_ZONE)


def campaigns_results(*, campaigns: list[Campaign], today: datetime.date) -> dict[int, CampaignResults]:
    """Each campaign's results by pk, in one query whatever the number of campaigns and members."""
    orders = _orders()
    revenue = Subquery(
        orders.order_by()
        .values("customer_id")
        .annotate(total=Sum("total_amount", output_field=_MONEY))
        .values("total"),
        output_field=_MONEY,
    )
    rows = (
        CampaignMember.objects.filter(campaign__in=[c.pk for c in campaigns])
        .order_by()
        .values("campaign_id", "holdout")
        .annotate(
            members=Count("pk"),
            returned=Count("pk", filter=Q(Exists(orders))),
            revenue=Sum(revenue, output_field=_MONEY),
            touched=Count("task_id"),
        )
    )
    groups: dict[tuple[int, bool], Group] = {}
    for row in rows:
        groups[(row["campaign_id"], bool(row["holdout"]))] = Group(
            members=row["members"],
            returned=row["returned"],
            revenue=(row["revenue"] or Decimal(0)).quantize(_CENT),
            touched=row["touched"],
        )
    return {
        c.pk: CampaignResults(
            campaign=c,
            treated=groups.get((c.pk, False), Group()),
            holdout=groups.get((c.pk, True), Group()),
            today=today,
        )
        for c in campaigns
    }


def campaign_results(*, campaign: Campaign, today: datetime.date) -> CampaignResults:
    """One campaign's results (one query)."""
    return campaigns_results(campaigns=[campaign], today=today)[campaign.pk]
