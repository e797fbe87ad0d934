"""Reads of the manager's dashboard: tiers, month-on-month movement, churn and lost reasons.

Every function is set-based: one or two aggregate queries (GROUP BY in SQL)
whatever the number of customers, never a loop over customers.

The population of a month is the active customers for the current month, and
that month's ``TierSnapshot`` rows for a past month (the nightly recompute
writes one row per active customer and month). The nightly rollups count it
(``analytics.rollups.monthly``): by advisor and store in
``MonthlyAdvisorTierStats`` and ``MonthlyTierStats`` (the current month as of
the night's first run, with each month's churn moves), the movement between
tiers in ``MonthlyTierMoves``, the newest watch-list flags in
``WatchListEntry``. The breakdowns by ``advisor`` and ``dealership`` (the
defaults) and the movement read those, a few dozen rows a store; the
breakdowns by the customer's newest car in use (``model``, ``age``, ``usage``:
a correlated subquery ordered by purchase date, so a customer counts once) are
worked out live from the customers, as is the current month's population for
them.
"""

import dataclasses
import datetime
from collections.abc import Callable, Iterable

from dateutil.relativedelta import relativedelta
from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Concat, Trim
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The survey scores (DESIGN: ``analytics.selectors.nps`` and ``csat``) live in
# analytics.scores, beside the count forms the rollups use.
from analytics.models import MonthlyAdvisorTierStats, MonthlyTierMoves, MonthlyTierStats, WatchListEntry
from analytics.scores import csat, nps  # noqa: F401
from care.models import WinbackReason, WinbackSurvey
from crm.tenancy import dealership_lookup, scope_for_user
from customers.models import ChurnEvent, Customer, TierSnapshot
from vehicles.models import Vehicle

TIERS = tuple(Customer.ValueTier.values)
CHURN_STATES = tuple(Customer.ChurnState.values)
# The row of customers without a snapshot the month before.
NEW = "new"
WATCH_LIST_SIZE = 50
TOP_PLACES = 10


class Dimension:
    ADVISOR = "advisor"
    DEALERSHIP = "dealership"
    MODEL = "model"
    AGE = "age"
    USAGE = "usage"

    choices = [
        (ADVISOR, _("advisor")),
        (DEALERSHIP, _("dealership")),
        (MODEL, _("model")),
        (AGE, _("Vehicle age")),
        (USAGE, _("usage")),
    ]


class AgeBand:
    """Vehicle age as DOMAIN.md segments it: each band has its own service stance."""

    IN_WARRANTY = "0-3"
    MIDDLE = "3-5"
    OLD = "5+"

    choices = [
        (IN_WARRANTY, _("In warranty (up to 3 years)")),
        (MIDDLE, _("3–5 years")),
        (OLD, _("Over 5 years")),
    ]
    # Upper bound in years of each band but the last (a car exactly 3 years old is still "0-3").
    bounds = [(IN_WARRANTY, 3), (MIDDLE, 5)]


@dataclasses.dataclass(frozen=True)
class AnalyticsFilters:
    month: datetime.date  # the first day of the month
    dimension: str = Dimension.ADVISOR
    dealership_id: int | None = None

    @property
    def month_end(self) -> datetime.date:
        """The first day of the next month (exclusive end)."""
        return self.month + relativedelta(months=1)

    @property
    def previous_month(self) -> datetime.date:
        return self.month - relativedelta(months=1)


@dataclasses.dataclass
class BreakdownRow:
    """One value of the breakdown dimension with its counts."""

    key: object
    label: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return self.counts.get("total", 0)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _is_current(filters: AnalyticsFilters, today: datetime.date) -> bool:
    return filters.month == month_start(today)


def _as_of(filters: AnalyticsFilters, today: datetime.date) -> datetime.date:
    """The day vehicle ages are measured at: the month's last day, or today in the current month."""
    return min(filters.month_end - datetime.timedelta(days=1), today)


def _in_store(queryset: QuerySet, filters: AnalyticsFilters) -> QuerySet:
    """The dealership filter of group-level users (the scope already holds a store's users)."""
    if filters.dealership_id is None:
        return queryset
    return queryset.filter(**{dealership_lookup(queryset.model): filters.dealership_id})


# --- The breakdown dimension -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _DimensionSql:
    """Annotations that group rows by a dimension, and how to label a grouped row."""

    annotations: dict
    label: Callable[[dict], str]
    # Fixed row order for coded dimensions; None sorts by label.
    order: list | None = None


def _newest_car(customer_ref: str) -> QuerySet[Vehicle]:
    """The customer's newest car in use, as a subquery of the outer row's customer."""
    return Vehicle.objects.filter(customer_id=OuterRef(customer_ref), status=Vehicle.Status.ACTIVE).order_by(
        "-purchase_date", "-pk"
    )


def _age_band_case(as_of: datetime.date) -> Case:
    whens = [
        When(purchase_date__gte=as_of - relativedelta(years=years), then=Value(band)) for band, years in AgeBand.bounds
    ]
    return Case(*whens, default=Value(AgeBand.OLD))


def _dimension(dimension: str, *, prefix: str, as_of: datetime.date) -> _DimensionSql:
    """``prefix`` leads from the queried model to the customer ("" for Customer, "customer__" otherwise)."""
    customer_ref = "customer_id" if prefix else "pk"
    no_car = str(_("No car in use"))
    if dimension == Dimension.ADVISOR:
        return _DimensionSql(
            annotations={
                "dim_key": F(f"{prefix}advisor_id"),
                "dim_last": F(f"{prefix}advisor__last_name"),
                "dim_first": F(f"{prefix}advisor__first_name"),
                "dim_user": F(f"{prefix}advisor__username"),
            },
            # As User.__str__ shows an advisor.
            label=lambda row: (
                f"{row['dim_last'] or ''}{row['dim_first'] or ''}".strip() or row["dim_user"]
                if row["dim_key"] is not None
                else str(_("No advisor"))
            ),
        )
    if dimension == Dimension.DEALERSHIP:
        return _DimensionSql(
            annotations={"dim_key": F(f"{prefix}dealership_id"), "dim_name": F(f"{prefix}dealership__name")},
            label=lambda row: row["dim_name"],
        )
    newest = _newest_car(customer_ref)
    if dimension == Dimension.MODEL:
        # brand + name is unique (vehicle_model_unique_name), so the text is a key of its own.
        name = newest.annotate(label=Concat("model__brand", Value(" "), "model__name")).values("label")[:1]
        return _DimensionSql(annotations={"dim_key": Subquery(name)}, label=lambda row: row["dim_key"] or no_car)
    if dimension == Dimension.AGE:
        band = newest.annotate(band=_age_band_case(as_of)).values("band")[:1]
        labels = dict(AgeBand.choices)
        return _DimensionSql(
            annotations={"dim_key": Subquery(band)},
            label=lambda row: str(labels.get(row["dim_key"], no_car)),
            order=[code for code, _label in AgeBand.choices] + [None],
        )
    if dimension == Dimension.USAGE:
        usage = newest.values("usage")[:1]
        labels = dict(Vehicle.Usage.choices)
        return _DimensionSql(
            annotations={"dim_key": Subquery(usage)},
            label=lambda row: str(labels.get(row["dim_key"], no_car)),
            order=[*Vehicle.Usage.values, None],
        )
    raise ValueError(f"Unknown dimension {dimension!r}")


def _grouped(
    queryset: QuerySet, dim: _DimensionSql, counts: dict[str, Count], keys: Iterable[str]
) -> dict[object, BreakdownRow]:
    """One GROUP BY query: the dimension's columns with ``counts``; rows by dimension key."""
    rows = queryset.annotate(**dim.annotations).values(*dim.annotations).annotate(**counts).order_by()
    result = {}
    for row in rows:
        result[row["dim_key"]] = BreakdownRow(
            key=row["dim_key"], label=dim.label(row), counts={k: row[k] or 0 for k in keys}
        )
    return result


def _ordered(rows: dict[object, BreakdownRow], dim: _DimensionSql) -> list[BreakdownRow]:
    """Coded dimensions in their own order; others by label, the unassigned (None) last."""
    if dim.order is not None:
        rank = {key: i for i, key in enumerate(dim.order)}
        return sorted(rows.values(), key=lambda r: rank.get(r.key, len(rank)))
    return sorted(rows.values(), key=lambda r: (r.key is None, str(r.label), str(r.key)))


# --- The month's population --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Population:
    queryset: QuerySet
    prefix: str  # from the queried model to the customer
    customer_id: str  # the customer's id column
    tier: str
    churn_state: str


def _population(*, user, filters: AnalyticsFilters, today: datetime.date) -> _Population:
    """The customers counted for the month: live ones now, the month's snapshot before."""
    if _is_current(filters, today):
        customers = Customer.objects.filter(status=Customer.Status.ACTIVE)
        return _Population(_in_store(scope_for_user(customers, user), filters), "", "pk", "value_tier", "churn_state")
    snapshots = TierSnapshot.objects.filter(month=filters.month)
    return _Population(
        _in_store(scope_for_user(snapshots, user), filters), "customer__", "customer_id", "tier", "churn_state"
    )


# --- 1. Tier distribution ---------------------------------------------------------------------


# The dimensions the rollups count (the customer's own columns); the others are read live.
ROLLED_UP = (Dimension.ADVISOR, Dimension.DEALERSHIP)


def _monthly(model, *, user, filters: AnalyticsFilters) -> QuerySet:
    """The month's rows of a monthly rollup in the scope (the stores' rows, not the group's)."""
    rows = scope_for_user(model.objects.filter(month=filters.month, dealership__isnull=False), user)
    return _in_store(rows, filters)


def _rolled_annotations(dimension: str) -> _DimensionSql:
    """The dimension's columns on the rollups' rows: the advisor's names, or the store's."""
    # The rollups' advisor and store columns have the customer's own names: the same SQL.
    return _dimension(dimension, prefix="", as_of=datetime.date.min)


def _rolled_counts(queryset: QuerySet, dimension: str, sums: dict, keys) -> dict[object, BreakdownRow]:
    """One GROUP BY over a rollup: the dimension's columns with ``sums``; rows by dimension key."""
    dim = _rolled_annotations(dimension)
    rows = queryset.annotate(**dim.annotations).values(*dim.annotations).annotate(**sums).order_by()
    return {
        row["dim_key"]: BreakdownRow(key=row["dim_key"], label=dim.label(row), counts={k: row[k] or 0 for k in keys})
        for row in rows
    }


def tier_distribution(*, user, filters: AnalyticsFilters, today: datetime.date) -> list[BreakdownRow]:
    """Customers per value tier, by the dimension (one query). Counts: A, B, C, D, total."""
    if filters.dimension in ROLLED_UP:
        # By store, MonthlyTierStats holds a store-month in a dozen rows; by advisor, its advisors'.
        model = MonthlyAdvisorTierStats if filters.dimension == Dimension.ADVISOR else MonthlyTierStats
        rows = _monthly(model, user=user, filters=filters).exclude(tier="")
        sums = {tier: Sum("customers", filter=Q(tier=tier)) for tier in TIERS}
        sums["total"] = Sum("customers")
        grouped = _rolled_counts(rows, filters.dimension, sums, [*TIERS, "total"])
        return _ordered(grouped, _rolled_annotations(filters.dimension))
    population = _population(user=user, filters=filters, today=today)
    dim = _dimension(filters.dimension, prefix=population.prefix, as_of=_as_of(filters, today))
    counts = {tier: Count("pk", filter=Q(**{population.tier: tier})) for tier in TIERS}
    counts["total"] = Count("pk")
    return _ordered(_grouped(population.queryset, dim, counts, [*TIERS, "total"]), dim)


# --- 2. Month-on-month movement ---------------------------------------------------------------


def tier_movement(*, user, filters: AnalyticsFilters, today: datetime.date) -> dict[str, dict[str, int]]:
    """From the previous month's tier (rows, ``NEW`` without a snapshot) to the month's tier
    (columns; ``"left"``: the previous month's customers no longer counted). One query over
    MonthlyTierMoves (the current month as of the night's first run)."""
    matrix: dict[str, dict[str, int]] = {row: dict.fromkeys([*TIERS, "left"], 0) for row in [*TIERS, NEW]}
    moved = (
        _monthly(MonthlyTierMoves, user=user, filters=filters)
        .values("from_tier", "to_tier")
        .annotate(n=Sum("customers"))
        .order_by()
    )
    for row in moved:
        source, target = row["from_tier"] or NEW, row["to_tier"] or "left"
        if source in matrix and target in matrix[source]:
            matrix[source][target] += row["n"]
    return matrix


# --- 3. Churn funnel --------------------------------------------------------------------------

FUNNEL = ("active", "at_risk", "lost", "turned_at_risk", "turned_lost", "recovered")


MOVES = ("turned_at_risk", "turned_lost", "recovered")


def _rolled_churn(*, user, filters: AnalyticsFilters) -> list[BreakdownRow]:
    """The churn funnel by advisor or store from the rollups: the states from the month's
    population rows, the moves from its rows of churn moves (blank tier). One query by advisor
    (MonthlyAdvisorTierStats holds both); two by store (the states from MonthlyTierStats)."""
    states = {state: Sum("customers", filter=Q(churn_state=state)) for state in CHURN_STATES}
    moves = {move: Sum(move) for move in MOVES}
    advisor_rows = _monthly(MonthlyAdvisorTierStats, user=user, filters=filters)
    if filters.dimension == Dimension.ADVISOR:
        rows = _rolled_counts(advisor_rows, filters.dimension, {**states, **moves}, FUNNEL)
    else:
        store_rows = _monthly(MonthlyTierStats, user=user, filters=filters)
        rows = _rolled_counts(store_rows, filters.dimension, states, CHURN_STATES)
        for key, moved in _rolled_counts(advisor_rows.filter(tier=""), filters.dimension, moves, MOVES).items():
            row = rows.setdefault(key, BreakdownRow(key=key, label=moved.label, counts={}))
            row.counts.update(moved.counts)
    # A customer moved in the month need not be counted in it: rows with moves only.
    result = {key: row for key, row in rows.items() if any(row.counts.get(stage) for stage in FUNNEL)}
    for row in result.values():
        for stage in FUNNEL:
            row.counts.setdefault(stage, 0)
    return _ordered(result, _rolled_annotations(filters.dimension))


def churn_funnel(*, user, filters: AnalyticsFilters, today: datetime.date) -> list[BreakdownRow]:
    """Customers active / at risk / lost in the month, and the month's moves: turned at risk,
    turned lost, recovered (``ChurnEvent.recovered``), as distinct customers. Two queries."""
    if filters.dimension in ROLLED_UP:
        return _rolled_churn(user=user, filters=filters)
    population = _population(user=user, filters=filters, today=today)
    as_of = _as_of(filters, today)
    dim = _dimension(filters.dimension, prefix=population.prefix, as_of=as_of)
    states = {state: Count("pk", filter=Q(**{population.churn_state: state})) for state in CHURN_STATES}
    rows = _grouped(population.queryset, dim, states, CHURN_STATES)

    events = ChurnEvent.objects.filter(day__gte=filters.month, day__lt=filters.month_end)
    events = _in_store(scope_for_user(events, user), filters)
    event_dim = _dimension(filters.dimension, prefix="customer__", as_of=as_of)
    moves = {
        "turned_at_risk": Count("customer", distinct=True, filter=Q(to_state="at_risk")),
        "turned_lost": Count("customer", distinct=True, filter=Q(to_state="lost")),
        "recovered": Count("customer", distinct=True, filter=Q(recovered=True)),
    }
    for key, moved in _grouped(events, event_dim, moves, moves).items():
        if key in rows:
            rows[key].counts.update(moved.counts)
        else:
            rows[key] = BreakdownRow(
                key=key, label=moved.label, counts={**dict.fromkeys(CHURN_STATES, 0), **moved.counts}
            )
    for row in rows.values():
        for stage in FUNNEL:
            row.counts.setdefault(stage, 0)
    return _ordered(rows, dim)


# --- 4. Lost reasons --------------------------------------------------------------------------


def _surveys(*, user, filters: AnalyticsFilters) -> QuerySet[WinbackSurvey]:
    start, end = _local_midnight(filters.month), _local_midnight(filters.month_end)
    surveys = WinbackSurvey.objects.filter(created_at__gte=start, created_at__lt=end)
    return _in_store(scope_for_user(surveys, user), filters)


def _gave_reason(code: str) -> Q:
    # ``reasons`` is a JSON list of codes. JSON ``contains`` is not available on
    # SQLite, so match the quoted code in the JSON text: portable, and exact
    # because the quotes delimit it ("other" does not match "mother").
    return Q(reasons__icontains=f'"{code}"')


def lost_reasons(*, user, filters: AnalyticsFilters, today: datetime.date) -> list[BreakdownRow]:
    """Win-back surveys of the month by the dimension: customers per reason, repaired elsewhere
    and surveyed (``total``), as distinct customers. One query."""
    dim = _dimension(filters.dimension, prefix="customer__", as_of=_as_of(filters, today))
    counts = {code: Count("customer", distinct=True, filter=_gave_reason(code)) for code in WinbackReason.values}
    counts["repaired_elsewhere"] = Count("customer", distinct=True, filter=Q(repaired_elsewhere=True))
    counts["total"] = Count("customer", distinct=True)
    return _ordered(_grouped(_surveys(user=user, filters=filters), dim, counts, counts), dim)


def repaired_elsewhere_places(*, user, filters: AnalyticsFilters) -> list[tuple[str, int]]:
    """The month's most frequent answers to "where" (trimmed), as (place, customers), at most ten. One query."""
    places = (
        _surveys(user=user, filters=filters)
        .annotate(place=Trim("where"))
        .exclude(place="")
        .values("place")
        .annotate(n=Count("customer", distinct=True))
        .order_by("-n", "place")[:TOP_PLACES]
    )
    return [(row["place"], row["n"]) for row in places]


# --- 5. Watch list ----------------------------------------------------------------------------


def watch_list(*, user, filters: AnalyticsFilters) -> list[Customer]:
    """Active customers on the watch list, newest first, at most 50 (one query, advisor joined):
    the newest flags of each store as of the night's rollups (WatchListEntry: the recompute sets
    the flags nightly), so a group reads a few thousand rows, not every customer; each customer
    as they are now (still active and flagged)."""
    entries = (
        _in_store(scope_for_user(WatchListEntry.objects.all(), user), filters)
        .filter(customer__status=Customer.Status.ACTIVE)
        .exclude(customer__watch_reason="")
        .select_related("customer__advisor")
        .order_by(F("since").desc(nulls_last=True), "-customer_id")[:WATCH_LIST_SIZE]
    )
    return [entry.customer for entry in entries]
