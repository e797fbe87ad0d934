"""The care funnel and the advisors."""

import dataclasses
from decimal import Decimal

from django.db.models import Q, Subquery, Sum
from django.utils.translation import gettext_lazy as _

from analytics.kpis._common import (
    _ONE_DECIMAL,
    ZERO,
    KpiFilters,
    _advisor_columns,
    _group,
    _money,
    _monthly,
    _months,
    _store_totals,
    advisor_label,
    by_store,
    kind_label,
    per,
)
from analytics.models import (
    MonthlyAdvisorStats,
    MonthlyAdvisorTotals,
    MonthlyCareStats,
    MonthlyCareTotals,
)
from analytics.scores import share

# --- The care funnel ------------------------------------------------------------------------------

FUNNEL_STAGES = ("generated", "contacted", "reached", "booked", "arrived")


@dataclasses.dataclass
class FunnelLine:
    key: object  # the kind, the advisor's id, or the store's
    label: str
    counts: dict[str, int]
    revenue: Decimal

    def rate(self, stage: str) -> Decimal | None:
        """A stage as % of the touches generated."""
        return share(self.counts[stage], self.counts["generated"])

    def step_rate(self, stage: str) -> Decimal | None:
        """A stage as % of the stage before it."""
        index = FUNNEL_STAGES.index(stage)
        return share(self.counts[stage], self.counts[FUNNEL_STAGES[index - 1]]) if index else None


@dataclasses.dataclass
class CareFunnel:
    by_kind: list[FunnelLine]
    # By advisor for a store; by store (``per_store``) for a group-level user without a store chosen.
    by_advisor: list[FunnelLine]
    total: FunnelLine
    per_store: bool = False


def _store_columns() -> list[str]:
    return ["dealership_id", "dealership__name"]


def care_funnel(*, user, filters: KpiFilters) -> CareFunnel:
    """Touches generated in the period → contacted → reached → booked → arrived, and the revenue of
    the visits they brought, by kind and by advisor (by store for a group-level user without a store
    chosen). One query grouped by (kind, advisor or store); the model and tier filters do not apply
    (the funnel has neither dimension)."""
    per_store = by_store(user=user, filters=filters)
    # By store: the stores' totals over their advisors (MonthlyCareTotals), a row per store and kind.
    source = (
        _store_totals(MonthlyCareTotals, user=user)
        if per_store
        else _monthly(MonthlyCareStats, user=user, filters=filters)
    )
    rows = _group(
        _months(source, filters.start, filters.until),
        ["kind", *(_store_columns() if per_store else _advisor_columns())],
        {**{stage: Sum(stage, default=0) for stage in FUNNEL_STAGES}, "revenue": Sum("revenue", default=ZERO)},
    )
    kinds: dict[str, FunnelLine] = {}
    people: dict[object, FunnelLine] = {}
    total = FunnelLine(key=None, label=str(_("All")), counts=dict.fromkeys(FUNNEL_STAGES, 0), revenue=ZERO)
    for row in rows:
        # A line (and its label) once per kind and person, not once per grouped row.
        kind = kinds.get(row["kind"])
        if kind is None:
            kind = kinds[row["kind"]] = FunnelLine(
                row["kind"], kind_label(row["kind"]), dict.fromkeys(FUNNEL_STAGES, 0), ZERO
            )
        key = row["dealership_id"] if per_store else row["advisor_id"]
        person = people.get(key)
        if person is None:
            label = row["dealership__name"] if per_store else advisor_label(row)
            person = people[key] = FunnelLine(key, label, dict.fromkeys(FUNNEL_STAGES, 0), ZERO)
        for line in (kind, person, total):
            for stage in FUNNEL_STAGES:
                line.counts[stage] += row[stage]
            line.revenue += row["revenue"]
    for line in [*kinds.values(), *people.values(), total]:
        line.revenue = _money(line.revenue)
    by_kind = sorted(kinds.values(), key=lambda line: (-line.counts["generated"], line.label))
    by_advisor = sorted(people.values(), key=lambda line: (line.key is None, line.label))
    return CareFunnel(by_kind=by_kind, by_advisor=by_advisor, total=total, per_store=per_store)


# --- Advisors -------------------------------------------------------------------------------------


@dataclasses.dataclass
class AdvisorLine:
    advisor_id: int | None
    label: str
    calls: int = 0
    reached: int = 0
    booked: int = 0
    csat_count: int = 0
    csat_sum: int = 0
    csat_satisfied: int = 0
    overdue: int = 0
    # The store's id when the line is a store's (its advisors together, ``AdvisorLines.per_store``).
    dealership_id: int | None = None
    # From their touches (MonthlyCareStats): booked touches, those that arrived, and the revenue.
    touches_booked: int = 0
    arrived: int = 0
    revenue: Decimal = ZERO

    @property
    def reached_rate(self) -> Decimal | None:
        """Calls that reached the customer, % of the calls made."""
        return share(self.reached, self.calls)

    @property
    def booked_rate(self) -> Decimal | None:
        """Calls ending in a booking, % of the calls that reached the customer."""
        return share(self.booked, self.reached)

    @property
    def arrived_rate(self) -> Decimal | None:
        """Booked touches whose customer came in, % of the booked touches."""
        return share(self.arrived, self.touches_booked)

    @property
    def csat_average(self) -> Decimal | None:
        return per(self.csat_sum, self.csat_count, places=_ONE_DECIMAL)

    @property
    def csat(self) -> Decimal | None:
        """% of their customers' CSAT answers that were 4 or 5 (as the overview's CSAT)."""
        return share(self.csat_satisfied, self.csat_count)


ADVISOR_SUMS = ("calls", "reached", "booked", "csat_count", "csat_sum", "csat_satisfied")


def advisor_lines(*, user, filters: KpiFilters, funnel: CareFunnel) -> list[AdvisorLine]:
    """A row per advisor over the period (per store when ``funnel.per_store``): calls made, reached,
    booked (MonthlyAdvisorStats, one query), their customers' CSAT, the touches overdue at the end of
    the period's last rolled-up day, and from ``funnel`` (``care_funnel``) the arrivals and revenue of
    their touches. The model and tier filters do not apply."""
    per_store = funnel.per_store
    # By store: the stores' totals over their advisors (MonthlyAdvisorTotals), a row per store-month.
    source = (
        _store_totals(MonthlyAdvisorTotals, user=user)
        if per_store
        else _monthly(MonthlyAdvisorStats, user=user, filters=filters)
    )
    rows = _months(source, filters.start, filters.until)
    # The overdue count is a snapshot, not a sum: each month's row holds that of the month's last
    # rolled-up day, and the period's is its last month's.
    last_month = rows.order_by("-month").values("month")[:1]
    grouped = _group(
        rows,
        _store_columns() if per_store else _advisor_columns(),
        {
            **{key: Sum(key, default=0) for key in ADVISOR_SUMS},
            "overdue": Sum("overdue", filter=Q(month=Subquery(last_month)), default=0),
        },
    )
    lines: dict[object, AdvisorLine] = {}
    for row in grouped:
        figures = {key: row[key] for key in (*ADVISOR_SUMS, "overdue")}
        if per_store:
            key = row["dealership_id"]
            lines[key] = AdvisorLine(advisor_id=None, label=row["dealership__name"], dealership_id=key, **figures)
        else:
            key = row["advisor_id"]
            lines[key] = AdvisorLine(advisor_id=key, label=advisor_label(row), **figures)
    for touch in funnel.by_advisor:
        line = lines.get(touch.key)
        if line is None:
            line = AdvisorLine(
                advisor_id=None if per_store else touch.key,
                label=touch.label,
                dealership_id=touch.key if per_store else None,
            )
            lines[touch.key] = line
        line.touches_booked = touch.counts["booked"]
        line.arrived = touch.counts["arrived"]
        line.revenue = touch.revenue
    if per_store:
        return sorted(lines.values(), key=lambda line: line.label)
    return sorted(lines.values(), key=lambda line: (line.advisor_id is None, line.label))
