"""The night's points, set-based: earned by INSERT … SELECT, reversed when an order changes."""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    Concat,
    Floor,
    TruncDate,
)
from django.utils import timezone

from crm.sql import insert_select
from loyalty.models import (
    EventRegistration,
    LoyaltyPolicy,
    PointsEntry,
    Referral,
)
from loyalty.services.policies import (
    Kind,
    Status,
    _stores,
)
from service.models import InsurancePolicy, RepairOrder


# --- The night's work ------------------------------------------------------------------------
@dataclasses.dataclass
class NightlyReport:
    day: datetime.date
    joined: int = 0
    confirmed: int = 0
    earned: dict[str, int] = dataclasses.field(default_factory=dict)
    reversed: int = 0
    upgraded: int = 0
    lapsed: int = 0


def _computed(field: str):
    """An order by ``field`` that no index gives: sorting by it makes PostgreSQL
    finish a selection before an ``INSERT … SELECT`` writes its first row (see
    ``_entries``), and the rows go in in the order of ``field``."""
    return ExpressionWrapper(F(field) + Value(0), output_field=IntegerField()).asc()


def _entries(rows, *, extra: dict[str, str]) -> int:
    """Insert the entries ``rows`` select, in the order of the rows they come
    from. The order is what keeps the statement linear (``_computed``): sorted,
    the whole selection is read before the first row is written. Streamed
    instead, its anti-join on the ledger could rescan, for every row, the
    ledger's pages the statement itself is filling (the plan of an empty
    ledger, a fresh install's first night: minutes instead of seconds)."""
    columns = {"card_id": "e_card", "points": "e_points", "kind": "e_kind", "source": "e_source"}
    columns.update({"earned_on": "e_day", "created_at": "e_at", "reason": "e_reason", **extra})
    return insert_select(PointsEntry, rows.order_by(_computed("pk")), columns)


def _entry_values(day, now, kind, source):
    return {
        "e_kind": Value(kind, output_field=CharField()),
        "e_source": source,
        "e_day": Value(day, output_field=DateField()),
        "e_at": Value(now),
        "e_reason": Value("", output_field=CharField()),
    }


def _points(amount: str, yuan_per_point: int):
    """Whole points of an amount: floor(amount / yuan per point), never rounded up."""
    share = ExpressionWrapper(
        F(amount) / Value(Decimal(yuan_per_point)), output_field=DecimalField(max_digits=16, decimal_places=6)
    )
    return Cast(Floor(share), IntegerField())


def _customer_paid(prefix: str = "") -> Q:
    return Q(**{f"{prefix}payer": RepairOrder.Payer.CUSTOMER}) & ~Q(**{f"{prefix}kind": RepairOrder.Kind.WARRANTY})


_ONE_DAY = datetime.timedelta(days=1)


def _day_start(day: datetime.date) -> datetime.datetime:
    """Local midnight starting ``day``: ``at__date <= day`` is ``at < _day_start(day + 1)``,
    which an index on ``at`` can serve (a cast to the local date cannot)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _join_card(rows, *, customer: str, store: str, on):
    """``rows`` joined to the customer's active card at ``store`` covering the
    day ``on`` (an expression), as ``e_card``: the card itself, or the card it
    replaced (points earned the day of an upgrade go to the new card, which
    carries the old one's). One card at most, since a customer holds one active
    card per store; a row without one is left out. A join, not a subquery per
    row: the planner hashes the cards once."""
    card = f"{customer}__membership_cards"
    covering = Q(**{f"{card}__valid_from__lte": on}) | Q(**{f"{card}__previous__valid_from__lte": on})
    return rows.filter(
        covering,
        **{f"{card}__status": Status.ACTIVE, f"{card}__dealership_id": F(store), f"{card}__valid_until__gte": on},
    ).annotate(e_card=F(f"{card}__pk"))


def _on_earning_card(rows, *, customer: str, store: str, on, kind: str, link: str):
    """``rows`` on the card each earns on (``_join_card``), those that earned
    before left out by an anti-join on the ledger's ``link`` column: a source
    that earned is never offered to the insert again (the unique (kind, source)
    still guards it), and one not yet earned is found however late it came."""
    earned = PointsEntry.objects.filter(kind=kind, **{link: OuterRef("pk")})
    return _join_card(rows.filter(~Exists(earned)), customer=customer, store=store, on=on)


def points_earn(*, policy: LoyaltyPolicy, stores, exclude, day: datetime.date, now) -> dict[str, int]:
    """The night's points, each an ``INSERT … SELECT`` of what has not earned
    yet (the ledger's unique (kind, source) guards it too): repair spend of
    closed customer-paid orders (warranty and carmaker-paid excluded), premiums
    placed here, events attended, confirmed referrals; each on the card valid
    when it happened. Every source not yet earned is looked at, however late
    an order was closed or a policy recorded."""
    earned = {}
    tomorrow = _day_start(day + datetime.timedelta(days=1))
    orders = _stores(RepairOrder.objects.order_by(), "dealership_id", stores, exclude).filter(
        _customer_paid(), closed_at__isnull=False, voided_at__isnull=True, closed_at__lt=tomorrow
    )
    orders = _on_earning_card(
        orders.annotate(o_day=TruncDate("closed_at")),
        customer="customer",
        store="dealership_id",
        on=F("o_day"),
        kind=Kind.REPAIR_SPEND,
        link="repair_order_id",
    )
    orders = orders.annotate(
        e_points=_points("total_amount", policy.yuan_per_repair_point),
        e_ro=F("pk"),
        **_entry_values(day, now, Kind.REPAIR_SPEND, Concat(Value("ro:"), Cast("pk", CharField()))),
    ).filter(e_points__gt=0)
    earned[Kind.REPAIR_SPEND] = _entries(orders, extra={"repair_order_id": "e_ro"})

    # Earned when recorded, on the card that covers the policy's start.
    policies = _on_earning_card(
        _stores(InsurancePolicy.objects.order_by(), "dealership_id", stores, exclude),
        customer="customer",
        store="dealership_id",
        on=F("starts_on"),
        kind=Kind.INSURANCE,
        link="insurance_policy_id",
    )
    policies = policies.annotate(
        e_points=_points("premium", policy.yuan_per_insurance_point),
        e_policy=F("pk"),
        **_entry_values(day, now, Kind.INSURANCE, Concat(Value("ins:"), Cast("pk", CharField()))),
    ).filter(e_points__gt=0)
    earned[Kind.INSURANCE] = _entries(policies, extra={"insurance_policy_id": "e_policy"})

    if policy.event_points:
        attended = _stores(EventRegistration.objects.order_by(), "event__dealership_id", stores, exclude).filter(
            status=EventRegistration.Status.ATTENDED, attended_at__lt=tomorrow
        )
        attended = _on_earning_card(
            attended.annotate(o_day=TruncDate("attended_at"), o_store=F("event__dealership_id")),
            customer="customer",
            store="o_store",
            on=F("o_day"),
            kind=Kind.EVENT,
            link="registration_id",
        ).annotate(
            e_points=Value(policy.event_points, output_field=IntegerField()),
            e_reg=F("pk"),
            **_entry_values(day, now, Kind.EVENT, Concat(Value("reg:"), Cast("pk", CharField()))),
        )
        earned[Kind.EVENT] = _entries(attended, extra={"registration_id": "e_reg"})

    if policy.referral_points:
        confirmed = _stores(Referral.objects.order_by(), "dealership_id", stores, exclude).filter(
            status__in=[Referral.Status.CONFIRMED, Referral.Status.REWARDED]
        )
        confirmed = _on_earning_card(
            confirmed,
            customer="referrer",
            store="dealership_id",
            on=Value(day, output_field=DateField()),
            kind=Kind.REFERRAL,
            link="referral_id",
        ).annotate(
            e_points=Value(policy.referral_points, output_field=IntegerField()),
            e_ref=F("pk"),
            **_entry_values(day, now, Kind.REFERRAL, Concat(Value("ref:"), Cast("pk", CharField()))),
        )
        earned[Kind.REFERRAL] = _entries(confirmed, extra={"referral_id": "e_ref"})
        _stores(Referral.objects, "dealership_id", stores, exclude).filter(
            status=Referral.Status.CONFIRMED,
            pk__in=PointsEntry.objects.filter(kind=Kind.REFERRAL).values("referral_id"),
        ).update(status=Referral.Status.REWARDED, rewarded_at=now)
    return earned


def points_reverse(*, policy: LoyaltyPolicy, stores, exclude, day: datetime.date, now) -> int:
    """Orders that earned and were corrected or voided since: one compensating
    entry each for the difference between what they should have earned now and
    what their entries add up to, on the customer's active card at the store.
    Keyed by the order and the number of its earlier reversals, so a rerun adds
    nothing and a second correction gets its own entry.

    The orders that changed are found by one grouped pass over the ledger
    (its entries per order against the order's current amount); only those
    are read further."""

    def target(prefix: str = ""):
        return Case(
            When(
                _customer_paid(prefix) & Q(**{f"{prefix}voided_at__isnull": True}),
                then=_points(f"{prefix}total_amount", policy.yuan_per_repair_point),
            ),
            default=Value(0),
            output_field=IntegerField(),
        )

    changed = (
        _stores(PointsEntry.objects.order_by(), "repair_order__dealership_id", stores, exclude)
        .filter(repair_order__isnull=False)
        .values("repair_order_id")
        .annotate(
            c_total=Sum("points"),
            c_spent=Count("pk", filter=Q(kind=Kind.REPAIR_SPEND)),
            c_target=Max(target("repair_order__")),
        )
        .filter(c_spent__gt=0)
        .exclude(c_total=F("c_target"))
        .values("repair_order_id")
    )
    earned = PointsEntry.objects.filter(repair_order_id=OuterRef("pk")).order_by()
    total = Subquery(
        earned.values("repair_order_id").annotate(s=Sum("points")).values("s")[:1], output_field=IntegerField()
    )
    reversals = Subquery(
        earned.filter(kind=Kind.REVERSAL).values("repair_order_id").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )
    orders = _join_card(
        RepairOrder.objects.order_by().filter(pk__in=changed),
        customer="customer",
        store="dealership_id",
        on=Value(day, output_field=DateField()),
    )
    orders = orders.annotate(e_total=total, e_target=target(), e_n=Coalesce(reversals, 0)).annotate(
        e_points=F("e_target") - F("e_total"),
        e_ro=F("pk"),
        **_entry_values(
            day,
            now,
            Kind.REVERSAL,
            Concat(Value("ro:"), Cast("pk", CharField()), Value(":"), Cast(F("e_n") + 1, CharField())),
        ),
    )
    return _entries(orders, extra={"repair_order_id": "e_ro"})
