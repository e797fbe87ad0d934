"""What the managers' club page (``/loyalty/``) and the card panel of the
customer 360 read.

Every read is scoped (``crm.tenancy.scope_for_user``) and costs a fixed number
of queries whatever the number of cards, events, ledger rows or cars: each
dashboard table is one grouped query, the card panel one query.
"""

import dataclasses
import datetime

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from crm.sql import AddDays
from crm.tenancy import dealership_lookup, scope_for_user
from customers.models import Customer
from loyalty.models import (
    DEFAULT_BENEFITS,
    LEVEL_ORDER,
    Benefit,
    BenefitAllowance,
    BenefitUse,
    CardEvent,
    LoyaltyPolicy,
    MembershipCard,
    PointsEntry,
)
from loyalty.services import add_years, card_year_start_sql
from service.models import InsurancePolicy
from vehicles.models import Vehicle

Status = MembershipCard.Status
Action = CardEvent.Action

# The card events the movement table counts, in its column order (an upgrade
# also writes "replaced" on the old card: the upgrade is counted once).
MOVEMENT_ACTIONS = [Action.JOINED, Action.UPGRADED, Action.RENEWED, Action.LAPSED, Action.REFUNDED]
MONTHS_SHOWN = 12

# Insurance renewal (see ``insurance_renewal``): a renewal starts within this
# many days of the day after the old insurance ended; a policy starting within
# this many days of the car's purchase is the new car's first insurance, not a renewal.
RENEWAL_GRACE_DAYS = 30
NEW_CAR_DAYS = 30


# --- Filters ---------------------------------------------------------------------------------
def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, n: int) -> datetime.date:
    """The first day of the month ``n`` months after ``month`` (negative: before)."""
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@dataclasses.dataclass(frozen=True)
class ClubFilters:
    month: datetime.date  # the first day of the month looked at
    dealership_id: int | None = None  # a group-level user's choice of store

    @property
    def month_end(self) -> datetime.date:
        """The first day of the next month (exclusive)."""
        return add_months(self.month, 1)

    @property
    def months(self) -> list[datetime.date]:
        """The twelve months up to and including ``month``, oldest first."""
        return [add_months(self.month, n) for n in range(1 - MONTHS_SHOWN, 1)]


def _in_scope(queryset: QuerySet, *, user, filters: ClubFilters) -> QuerySet:
    queryset = scope_for_user(queryset, user)
    if filters.dealership_id is None:
        return queryset
    return queryset.filter(**{dealership_lookup(queryset.model): filters.dealership_id})


# --- The managers' tables ----------------------------------------------------------------------
@dataclasses.dataclass
class StoreLevels:
    """One store's figures per card level (members, or points)."""

    store: str
    by_level: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_level.values())


def _by_store_and_level(rows) -> list[StoreLevels]:
    stores: dict[tuple[str, str], StoreLevels] = {}
    for row in rows:
        key = (row["s_code"], row["s_name"])
        line = stores.setdefault(key, StoreLevels(store=row["s_name"], by_level=dict.fromkeys(LEVEL_ORDER, 0)))
        line.by_level[row["level"]] += row["n"] or 0
    return [stores[key] for key in sorted(stores)]


def members_by_level(*, user, filters: ClubFilters) -> list[StoreLevels]:
    """Active cards today, per store and level (one query)."""
    rows = (
        _in_scope(MembershipCard.objects.filter(status=Status.ACTIVE), user=user, filters=filters)
        .order_by()
        .values("level", s_code=F("dealership__code"), s_name=F("dealership__name"))
        .annotate(n=Count("pk"))
    )
    return _by_store_and_level(rows)


def points_outstanding(*, user, filters: ClubFilters) -> list[StoreLevels]:
    """The programme's liability today: the ledger of active cards summed per
    store and level (one query). Points only: the policy gives a point no value
    in yuan, so there is no money figure to show."""
    rows = (
        _in_scope(PointsEntry.objects.filter(card__status=Status.ACTIVE), user=user, filters=filters)
        .order_by()
        .values(s_code=F("card__dealership__code"), s_name=F("card__dealership__name"), level=F("card__level"))
        .annotate(n=Sum("points"))
    )
    return _by_store_and_level(rows)


def card_movement(*, user, filters: ClubFilters) -> list[tuple[datetime.date, dict[str, int]]]:
    """Joins, upgrades, renewals, lapses and refunds per month (local time) for
    the twelve months up to the filter's month, from the card events (one query)."""
    months = filters.months
    rows = (
        _in_scope(CardEvent.objects.filter(action__in=MOVEMENT_ACTIONS), user=user, filters=filters)
        .filter(at__gte=_local_midnight(months[0]), at__lt=_local_midnight(filters.month_end))
        .order_by()
        .annotate(m=TruncMonth("at", output_field=DateField()))
        .values("m", "action")
        .annotate(n=Count("pk"))
    )
    counts = {month: dict.fromkeys(MOVEMENT_ACTIONS, 0) for month in months}
    for row in rows:
        month = row["m"]
        if isinstance(month, datetime.datetime):  # some backends hand back a datetime
            month = timezone.localtime(month).date() if timezone.is_aware(month) else month.date()
        counts[month_start(month)][row["action"]] += row["n"]
    return [(month, counts[month]) for month in months]


@dataclasses.dataclass
class BenefitUseLine:
    benefit: str
    label: str
    month_times: int = 0
    month_quantity: int = 0
    year_times: int = 0
    year_quantity: int = 0


def benefit_use(*, user, filters: ClubFilters) -> list[BenefitUseLine]:
    """Redemptions at the desk per benefit: in the filter's month, and in its
    calendar year from 1 January to the month's end (one query). Quantities are
    times for counted benefits, kilometres for towing."""
    year_start = filters.month.replace(month=1)
    in_month = Q(at__gte=_local_midnight(filters.month))
    rows = (
        _in_scope(BenefitUse.objects.all(), user=user, filters=filters)
        .filter(at__gte=_local_midnight(year_start), at__lt=_local_midnight(filters.month_end))
        .order_by()
        .values("benefit")
        .annotate(
            month_times=Count("pk", filter=in_month),
            month_quantity=Coalesce(Sum("quantity", filter=in_month), 0),
            year_times=Count("pk"),
            year_quantity=Sum("quantity"),
        )
    )
    lines = {value: BenefitUseLine(benefit=value, label=str(label)) for value, label in Benefit.choices}
    for row in rows:
        line = lines.get(row["benefit"])
        if line is None:
            continue
        line.month_times, line.month_quantity = row["month_times"], row["month_quantity"]
        line.year_times, line.year_quantity = row["year_times"], row["year_quantity"]
    return list(lines.values())


@dataclasses.dataclass
class RenewalLine:
    store: str
    due: int
    renewed: int

    @property
    def rate(self) -> float | None:
        """Renewed per 100 due, one decimal; None when no car was due."""
        return round(100 * self.renewed / self.due, 1) if self.due else None


def insurance_renewal(*, user, filters: ClubFilters) -> list[RenewalLine]:
    """The store's insurance renewal rate in the filter's month M (one query).

    Due: the cars of the store's customers whose insurance came up for renewal
    in M, i.e. with a *due day* d in M, where d is
      (a) the ``ends_on`` of a policy of the car on record, or
      (b) the car's ``insurance_expiry_date`` (insurance bought elsewhere, or
          not renewed yet), or
      (c) the day before the start of a renewal placed here that follows no
          policy on record (none of the car's ended within the grace of its
          start): recording a renewal moves ``insurance_expiry_date`` on, so
          the renewal's start is what remembers the day the old insurance ended.
    A *renewal* is a policy that does not start within ``NEW_CAR_DAYS`` of the
    car's purchase (the new car's first insurance is not a renewal).
    Renewed: the due cars with a renewal placed at their store starting within
    ``RENEWAL_GRACE_DAYS`` of d + 1 (d − 29 ≤ start ≤ d + 31); for (c) that is
    the renewal itself. A car counts once, whatever the number of its policies
    (compulsory and commercial)."""
    first = filters.month
    last = filters.month_end - datetime.timedelta(days=1)
    grace = RENEWAL_GRACE_DAYS
    renewals = InsurancePolicy.objects.filter(starts_on__gt=AddDays(F("vehicle__purchase_date"), Value(NEW_CAR_DAYS)))
    ended_in_month = InsurancePolicy.objects.filter(ends_on__gte=first, ends_on__lte=last)
    # (c): renewals starting the day after a day of M, with no end on record they follow.
    follows_a_policy = InsurancePolicy.objects.filter(
        vehicle_id=OuterRef("vehicle_id"),
        ends_on__gte=AddDays(OuterRef("starts_on"), Value(-1 - grace)),
        ends_on__lte=AddDays(OuterRef("starts_on"), Value(grace - 1)),
    ).exclude(pk=OuterRef("pk"))
    first_renewals_in_month = renewals.filter(
        starts_on__gte=first + datetime.timedelta(days=1), starts_on__lte=last + datetime.timedelta(days=1)
    ).exclude(Exists(follows_a_policy))

    def renewal_near(due_day, vehicle, store):
        """A renewal of ``vehicle`` placed at ``store`` starting within the grace of ``due_day`` + 1."""
        return renewals.filter(
            vehicle_id=vehicle,
            dealership_id=store,
            starts_on__gte=AddDays(due_day, Value(1 - grace)),
            starts_on__lte=AddDays(due_day, Value(1 + grace)),
        )

    renewed_after_end = ended_in_month.filter(vehicle_id=OuterRef("pk")).filter(
        Exists(renewal_near(OuterRef("ends_on"), OuterRef(OuterRef("pk")), OuterRef(OuterRef("r_store"))))
    )
    renewed = (
        Q(Exists(renewed_after_end))
        | Q(r_expiry_due=True, r_expiry_renewed=True)
        | Q(Exists(first_renewals_in_month.filter(vehicle_id=OuterRef("pk"), dealership_id=OuterRef("r_store"))))
    )
    expiry_due = Q(insurance_expiry_date__gte=first, insurance_expiry_date__lte=last)
    cars = (
        _in_scope(Vehicle.objects.all(), user=user, filters=filters)
        # Not correlated: the database finds the due cars by its indexes.
        .filter(
            Q(pk__in=ended_in_month.values("vehicle_id"))
            | expiry_due
            | Q(
                pk__in=first_renewals_in_month.filter(dealership_id=F("vehicle__customer__dealership_id")).values(
                    "vehicle_id"
                )
            )
        )
        .annotate(r_store=F("customer__dealership_id"))
        .annotate(
            r_expiry_due=ExpressionWrapper(expiry_due, output_field=BooleanField()),
            r_expiry_renewed=Exists(
                renewal_near(OuterRef("insurance_expiry_date"), OuterRef("pk"), OuterRef("r_store"))
            ),
        )
        .order_by()
        .values(s_code=F("customer__dealership__code"), s_name=F("customer__dealership__name"))
        .annotate(due=Count("pk"), renewed=Count("pk", filter=renewed))
        .order_by("s_code")
    )
    return [RenewalLine(store=row["s_name"], due=row["due"], renewed=row["renewed"]) for row in cars]


# --- The card panel of the customer 360 ----------------------------------------------------------
@dataclasses.dataclass
class BenefitLeft:
    benefit: str
    label: str
    allowance: int | None  # None: a perk, not counted
    used: int

    @property
    def left(self) -> int:
        return max((self.allowance or 0) - self.used, 0)

    @property
    def counted(self) -> bool:
        return self.allowance is not None

    @property
    def in_km(self) -> bool:
        return self.benefit == Benefit.TOWING_KM


@dataclasses.dataclass
class CardSummary:
    """The customer's card at their store as the 360 and the call panel show it."""

    card: MembershipCard
    balance: int
    benefits: list[BenefitLeft]
    year_start: datetime.date
    renewal_opens: datetime.date
    in_renewal_window: bool

    @property
    def is_active(self) -> bool:
        return self.card.status == Status.ACTIVE

    @property
    def counted(self) -> list[BenefitLeft]:
        return [b for b in self.benefits if b.counted]

    @property
    def perks(self) -> list[BenefitLeft]:
        return [b for b in self.benefits if not b.counted]


# A perk (allowance NULL) read through a subquery must differ from "no such
# benefit" (no row, also NULL): perks come back as this marker.
_PERK = -1


def _effective_policy(field: str):
    """The store's own policy's ``field``, else the group's (NULL store sorts last)."""
    return Subquery(
        LoyaltyPolicy.objects.filter(Q(dealership_id=OuterRef("dealership_id")) | Q(dealership__isnull=True))
        .order_by(F("dealership_id").asc(nulls_last=True))
        .values(field)[:1]
    )


def card_summary(*, customer: Customer, day: datetime.date) -> CardSummary | None:
    """The customer's card at their store on ``day`` — the active one, else the
    last one that ended — with its points, benefits left this card year and
    whether it is in its renewal window; None for a customer who never held one.
    One query: policy, allowances, uses and balance are subqueries of the card's row."""
    annotations = {
        "p_policy": _effective_policy("pk"),
        "p_window": _effective_policy("renewal_window_days"),
        "p_year": card_year_start_sql(day),
        "p_balance": Coalesce(
            Subquery(
                PointsEntry.objects.filter(card_id=OuterRef("pk"))
                .order_by()
                .values("card_id")
                .annotate(s=Sum("points"))
                .values("s")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
    }
    benefits = Benefit.values
    for n, benefit in enumerate(benefits):
        annotations[f"a{n}"] = Subquery(
            BenefitAllowance.objects.filter(policy_id=OuterRef("p_policy"), level=OuterRef("level"), benefit=benefit)
            .annotate(x=Coalesce("allowance", Value(_PERK)))
            .values("x")[:1],
            output_field=IntegerField(),
        )
        annotations[f"u{n}"] = Subquery(
            BenefitUse.objects.filter(card_id=OuterRef("pk"), benefit=benefit, card_year=OuterRef("p_year"))
            .order_by()
            .values("card_id")
            .annotate(s=Sum("quantity"))
            .values("s")[:1],
            output_field=IntegerField(),
        )
    card = (
        MembershipCard.objects.filter(customer_id=customer.pk, dealership_id=customer.dealership_id)
        .alias(active_first=Case(When(status=Status.ACTIVE, then=Value(0)), default=Value(1)))
        .annotate(**annotations)
        .order_by("active_first", "-valid_until", "-pk")
        .first()
    )
    if card is None:
        return None
    labels = dict(Benefit.choices)
    if card.p_policy is None:  # no policy row at all: the defaults
        allowances = dict(DEFAULT_BENEFITS[card.level])
    else:
        allowances = {}
        for n, benefit in enumerate(benefits):
            value = getattr(card, f"a{n}")
            if value is not None:
                allowances[benefit] = None if value == _PERK else value
    lines = [
        BenefitLeft(
            benefit=benefit,
            label=str(labels[benefit]),
            allowance=allowances[benefit],
            used=getattr(card, f"u{n}") or 0,
        )
        for n, benefit in enumerate(benefits)
        if benefit in allowances
    ]
    year_start = card.p_year if isinstance(card.p_year, datetime.date) else datetime.date.fromisoformat(card.p_year)
    window = card.p_window if card.p_window is not None else LoyaltyPolicy().renewal_window_days
    opens = card.valid_until - datetime.timedelta(days=window)
    return CardSummary(
        card=card,
        balance=card.p_balance,
        benefits=lines,
        year_start=max(min(year_start, card.valid_until), card.valid_from),
        renewal_opens=opens,
        in_renewal_window=card.status == Status.ACTIVE and opens <= day <= card.valid_until,
    )


def card_year_end(summary: CardSummary) -> datetime.date:
    """The last day of the card year ``summary`` is in (the day before the next
    anniversary, or the card's expiry if sooner)."""
    card = summary.card
    years = summary.year_start.year - card.valid_from.year
    nxt = add_years(card.valid_from, years + 1)
    return min(nxt - datetime.timedelta(days=1), card.valid_until)
