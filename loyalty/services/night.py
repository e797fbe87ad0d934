"""The rest of the night, set-based: buyers join, referrals confirm, upgrades, lapses;
and ``loyalty_nightly``, which runs every step per policy."""

import datetime
from decimal import Decimal

from django.db import transaction
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
    Min,
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
    ExtractYear,
    LPad,
    TruncDate,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.sql import AddMonths, insert_select
from customers.models import Customer
from loyalty.models import (
    CardEvent,
    Level,
    LoyaltyPolicy,
    MembershipCard,
    PointsEntry,
    Referral,
)
from loyalty.services.earning import (
    _ONE_DAY,
    NightlyReport,
    _computed,
    _customer_paid,
    _day_start,
    _entries,
    _entry_values,
    points_earn,
    points_reverse,
)
from loyalty.services.policies import (
    Kind,
    Route,
    Status,
    _stores,
    add_years,
    effective_policies,
)
from service.models import RepairOrder
from vehicles.models import Vehicle


def _balance():
    return Coalesce(
        Subquery(
            PointsEntry.objects.filter(card_id=OuterRef("pk"))
            .order_by()
            .values("card_id")
            .annotate(s=Sum("points"))
            .values("s")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _referrals(since=None):
    confirmed = Referral.objects.filter(
        referrer_id=OuterRef("customer_id"), status__in=[Referral.Status.CONFIRMED, Referral.Status.REWARDED]
    )
    if since is not None:
        confirmed = confirmed.filter(confirmed_at__date__gte=since)
    return Coalesce(
        Subquery(
            confirmed.order_by().values("referrer_id").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _orders_here():
    return RepairOrder.objects.filter(
        customer_id=OuterRef("customer_id"),
        dealership_id=OuterRef("dealership_id"),
        closed_at__isnull=False,
        voided_at__isnull=True,
    ).order_by()


def card_year_start_sql(day: datetime.date):
    """The start of each card's current card year, in SQL: ``valid_from`` plus
    the whole years elapsed by ``day`` (the anniversary clamps like add_years)."""
    anniversary_later = Case(
        When(
            Q(valid_from__month__gt=day.month) | Q(valid_from__month=day.month, valid_from__day__gt=day.day),
            then=Value(1),
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    years = Value(day.year) - ExtractYear("valid_from") - anniversary_later
    return AddMonths(F("valid_from"), years * 12)


def _upgrade_candidates(policy: LoyaltyPolicy, stores, exclude, day: datetime.date) -> Q:
    """A cheap superset of the cards that may move up tonight, as semi-joins
    each worked out once for all cards (hashed by the planner): the gold
    points, or for an ordinary card the silver points; enough confirmed
    referrals for the lowest referral threshold; and, for ordinary cards, a
    maintenance visit in each of the last years, a car whose maintenance
    covers the km, or enough visits and spend in the last year (a card year
    lies within it). Matched by customer, not by store: the exact
    conditions follow, for these cards only. A threshold of 0 makes every card
    a candidate."""
    ordinary = Q(level=Level.ORDINARY)
    everyone = Q(pk__isnull=False)

    def holding(points: int, cards):
        """Cards whose ledger adds up to ``points`` or more (every card when 0)."""
        if points <= 0:
            return everyone
        ledger = PointsEntry.objects.order_by().filter(card__in=cards) if cards is not None else PointsEntry.objects
        return Q(
            pk__in=ledger.order_by().values("card_id").annotate(s=Sum("points")).filter(s__gte=points).values("card_id")
        )

    ordinary_cards = MembershipCard.objects.filter(status=Status.ACTIVE, level=Level.ORDINARY)
    by_points = holding(policy.gold_points, None) | (ordinary & holding(policy.silver_points, ordinary_cards))
    referrals = min(policy.silver_referrals, policy.gold_referrals_ordinary, policy.gold_referrals_silver)
    by_referrals = (
        Q(
            customer_id__in=Referral.objects.order_by()
            .filter(status__in=[Referral.Status.CONFIRMED, Referral.Status.REWARDED])
            .values("referrer_id")
            .annotate(n=Count("pk"))
            .filter(n__gte=referrals)
            .values("referrer_id")
        )
        if referrals > 0
        else everyone
    )
    orders = _stores(RepairOrder.objects.order_by(), "dealership_id", stores, exclude).filter(
        closed_at__isnull=False, voided_at__isnull=True
    )
    # One pass over the recent orders, per customer: a maintenance visit in
    # each of the last years; the km their maintenance covers (over all their
    # cars: at least any one car's); visits and spend in the last year.
    years = policy.silver_years_maintained
    maintenance = Q(kind=RepairOrder.Kind.MAINTENANCE)
    since_km = _day_start(add_years(day, -years) + datetime.timedelta(days=1))
    last_year = Q(closed_at__gte=_day_start(add_years(day, -1)), closed_at__lt=_day_start(day + _ONE_DAY))
    last_year &= ~Q(kind=RepairOrder.Kind.ACCIDENT)
    windows = {
        f"w{n}": Count(
            "pk",
            filter=maintenance
            & Q(
                closed_at__gte=_day_start(add_years(day, -(n + 1)) + _ONE_DAY),
                closed_at__lt=_day_start(add_years(day, -n) + _ONE_DAY),
            ),
        )
        for n in range(years)
    }
    in_km = maintenance & Q(closed_at__gte=since_km)
    conditions = Q(km_span__gte=policy.silver_km_maintained, km_visits__gte=1)
    if years:
        conditions |= Q(**{f"{name}__gt": 0 for name in windows})
    conditions |= Q(visits__gte=policy.silver_visits, spend__gte=policy.silver_spend)
    recent = (
        orders.filter(closed_at__gte=min(since_km, _day_start(add_years(day, -1))))
        # Only ordinary members can move up this way: their orders alone are grouped.
        .filter(customer_id__in=ordinary_cards.values("customer_id"))
        .values("customer_id")
        .annotate(
            **windows,
            km_span=Max("mileage", filter=in_km) - Min("mileage", filter=in_km),
            km_visits=Count("pk", filter=in_km),
            visits=Count("pk", filter=last_year),
            spend=Sum("total_amount", filter=last_year),
        )
        .filter(conditions)
        .values("customer_id")
    )
    # With no visits nor spend asked, every ordinary card qualifies.
    silver_only = Q(customer_id__in=recent) if policy.silver_visits or policy.silver_spend else everyone
    return by_points | by_referrals | (ordinary & silver_only)


def _with_routes(cards, *, policy: LoyaltyPolicy, day: datetime.date):
    """``cards`` with the level each may move up to tonight, and by what: any
    one condition (seed 004), as ``u_gold`` / ``u_silver`` (the route, or "")."""
    year_start = card_year_start_sql(day)
    in_year = (
        _orders_here()
        .exclude(kind=RepairOrder.Kind.ACCIDENT)
        # The card year starts within the last year: a bound an index can use, then the card's own.
        .filter(closed_at__gte=_day_start(add_years(day, -1)), closed_at__lt=_day_start(day + _ONE_DAY))
        .filter(closed_at__date__gte=OuterRef("u_year"))
        .values("customer_id")
    )
    visits = Coalesce(Subquery(in_year.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), 0)
    spend = Coalesce(
        Subquery(in_year.annotate(t=Sum("total_amount")).values("t")[:1]),
        Value(Decimal("0")),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    maintenance = _orders_here().filter(kind=RepairOrder.Kind.MAINTENANCE)
    each_year = Q()
    for n in range(policy.silver_years_maintained):
        each_year &= Q(
            Exists(
                maintenance.filter(
                    closed_at__gte=_day_start(add_years(day, -(n + 1)) + _ONE_DAY),
                    closed_at__lt=_day_start(add_years(day, -n) + _ONE_DAY),
                )
            )
        )
    by_km = Exists(
        maintenance.filter(closed_at__gte=_day_start(add_years(day, -policy.silver_years_maintained) + _ONE_DAY))
        .values("vehicle_id")
        .annotate(
            span=Max("mileage") - Min("mileage"),
            visits=Count("pk"),
            interval=Max("vehicle__model__maintenance_interval_km"),
        )
        .filter(span__gte=policy.silver_km_maintained, visits__gte=1)
        .filter(visits__gte=F("span") / F("interval"))
    )
    cards = cards.annotate(
        u_balance=_balance(),
        u_referrals=_referrals(),
        u_year=year_start,
    ).annotate(u_visits=visits, u_spend=spend, u_referrals_since=_referrals(since=OuterRef("valid_from")))
    ordinary = Q(level=Level.ORDINARY)
    gold_route = Case(
        When(u_balance__gte=policy.gold_points, then=Value(Route.POINTS)),
        When(ordinary & Q(u_referrals__gte=policy.gold_referrals_ordinary), then=Value(Route.REFERRALS)),
        When(Q(level=Level.SILVER, u_referrals_since__gte=policy.gold_referrals_silver), then=Value(Route.REFERRALS)),
        default=Value(""),
        output_field=CharField(),
    )
    silver_conditions = [
        (Q(u_balance__gte=policy.silver_points), Route.POINTS),
        (each_year if policy.silver_years_maintained else Q(pk__in=[]), Route.CONTINUOUS_MAINTENANCE),
        (Q(by_km), Route.CONTINUOUS_MAINTENANCE),
        (Q(u_visits__gte=policy.silver_visits, u_spend__gte=policy.silver_spend), Route.VISITS_AND_SPEND),
        (Q(u_referrals__gte=policy.silver_referrals), Route.REFERRALS),
    ]
    silver_route = Case(
        *[When(ordinary & condition, then=Value(route)) for condition, route in silver_conditions],
        default=Value(""),
        output_field=CharField(),
    )
    return cards.annotate(u_gold=gold_route, u_silver=silver_route)


def _route_label():
    """The card's route (``obtained``) as its label, in SQL: the events' reason."""
    return Case(
        *[When(obtained=route, then=Value(str(route.label))) for route in Route],
        default=Value(""),
        output_field=CharField(),
    )


def cards_upgrade(*, policy: LoyaltyPolicy, stores, exclude, day: datetime.date, now) -> int:
    """Any one condition moves an active card up (seed 004): silver at the
    policy's points, continuous maintenance here (a maintenance visit in each of
    the last N years, or N years' visits covering the km with none missed by
    the car's interval), visits and spend in the card year (accident repairs
    excluded), or referrals as an ordinary member; gold at its points, or
    referrals as an ordinary or a silver member. The old card is replaced, the
    new one starts tonight with the points carried over.

    Seven statements whatever moves, none reading rows into Python: the cards
    that move are replaced first (the conditions worked out for the cheap
    candidates only, ``_upgrade_candidates``); the replaced cards still without
    a successor then get theirs, with the level and route worked out again for
    those few; then the events and the points carried over."""
    cards = _stores(MembershipCard.objects.order_by(), "dealership_id", stores, exclude).filter(
        level__in=[Level.ORDINARY, Level.SILVER], valid_from__lte=day, valid_until__gte=day
    )
    candidates = cards.filter(status=Status.ACTIVE).filter(_upgrade_candidates(policy, stores, exclude, day))
    moving = _with_routes(candidates, policy=policy, day=day).filter(~Q(u_gold="") | ~Q(u_silver=""))
    upgraded = MembershipCard.objects.filter(pk__in=moving.values("pk")).update(status=Status.REPLACED)

    orphans = cards.filter(status=Status.REPLACED).exclude(
        Exists(MembershipCard.objects.filter(previous_id=OuterRef("pk")))
    )
    gold = ~Q(u_gold="")
    successors = _with_routes(orphans, policy=policy, day=day).annotate(
        n_store=F("dealership_id"),
        n_customer=F("customer_id"),
        n_number=Concat(Value("new-"), Cast("pk", CharField())),
        n_level=Case(When(gold, then=Value(Level.GOLD)), default=Value(Level.SILVER), output_field=CharField()),
        n_route=Case(When(gold, then=F("u_gold")), default=F("u_silver"), output_field=CharField()),
        n_status=Value(Status.ACTIVE, output_field=CharField()),
        n_from=Value(day, output_field=DateField()),
        n_until=Case(
            When(gold, then=Value(add_years(day, policy.gold_years))),
            default=Value(add_years(day, policy.silver_years)),
            output_field=DateField(),
        ),
        n_fee=Value(Decimal("0"), output_field=DecimalField(max_digits=8, decimal_places=2)),
        n_previous=F("pk"),
        n_at=Value(now),
    )
    insert_select(
        MembershipCard,
        successors.order_by(_computed("pk")),
        {
            "dealership_id": "n_store",
            "customer_id": "n_customer",
            "number": "n_number",
            "level": "n_level",
            "obtained": "n_route",
            "status": "n_status",
            "valid_from": "n_from",
            "valid_until": "n_until",
            "fee_paid": "n_fee",
            "previous_id": "n_previous",
            "created_at": "n_at",
        },
    )
    fresh = MembershipCard.objects.order_by().filter(number__startswith="new-", previous__isnull=False)
    event_columns = {"card_id": "v_card", "action": "v_action", "from_status": "v_from", "to_status": "v_to"}
    event_columns.update({"reason": "v_reason", "at": "v_at"})
    for card, action, before, after in (
        ("previous_id", CardEvent.Action.REPLACED, Status.ACTIVE, Status.REPLACED),
        ("pk", CardEvent.Action.UPGRADED, "", Status.ACTIVE),
    ):
        insert_select(
            CardEvent,
            fresh.annotate(
                v_card=F(card),
                v_action=Value(action, output_field=CharField()),
                v_from=Value(before, output_field=CharField()),
                v_to=Value(after, output_field=CharField()),
                v_reason=_route_label(),
                v_at=Value(now),
            ),
            event_columns,
            ignore_conflicts=False,
        )
    # The points carried over: onto the new card first, while the old one still holds them.
    carried = Coalesce(
        Subquery(
            PointsEntry.objects.filter(card_id=OuterRef("previous_id"))
            .order_by()
            .values("card_id")
            .annotate(s=Sum("points"))
            .values("s")[:1],
            output_field=IntegerField(),
        ),
        0,
    )
    for card, sign, suffix in (("pk", 1, ":in"), ("previous_id", -1, "")):
        source = Concat(Value("card:"), Cast("previous_id", CharField()), Value(suffix))
        _entries(
            fresh.annotate(
                e_carried=carried,
                e_card=F(card),
                e_points=ExpressionWrapper(Value(sign) * carried, output_field=IntegerField()),
                **_entry_values(day, now, Kind.TRANSFER, source),
            ).exclude(e_carried=0),
            extra={},
        )
    _renumber()
    return upgraded


def _renumber() -> int:
    """Cards made in bulk get their number from their id (``M00001234``)."""
    return MembershipCard.objects.filter(number__startswith="new-").update(
        number=Concat(Value("M"), LPad(Cast("pk", CharField()), 8, Value("0")))
    )


def cards_lapse(*, stores, exclude, day: datetime.date, now) -> int:
    """Cards not renewed lapse the day after they expire: void, and their points
    cleared by a ``lapse`` entry (the balance goes to 0). Three statements: the
    entries and the events of the expired cards, then their status."""
    expired = _stores(MembershipCard.objects.order_by(), "dealership_id", stores, exclude).filter(
        status=Status.ACTIVE, valid_until__lt=day
    )
    reason = _("Not renewed by its expiry")
    entries = expired.annotate(
        e_balance=_balance(),
        e_card=F("pk"),
        e_points=ExpressionWrapper(Value(0) - _balance(), output_field=IntegerField()),
        **_entry_values(day, now, Kind.LAPSE, Concat(Value("card:"), Cast("pk", CharField()))),
    ).exclude(e_balance=0)
    _entries(entries.annotate(e_reason=Value(reason, output_field=CharField())), extra={})
    insert_select(
        CardEvent,
        expired.annotate(
            v_card=F("pk"),
            v_action=Value(CardEvent.Action.LAPSED, output_field=CharField()),
            v_from=Value(Status.ACTIVE, output_field=CharField()),
            v_to=Value(Status.LAPSED, output_field=CharField()),
            v_reason=Value(reason, output_field=CharField()),
            v_at=Value(now),
        ),
        {
            "card_id": "v_card",
            "action": "v_action",
            "from_status": "v_from",
            "to_status": "v_to",
            "reason": "v_reason",
            "at": "v_at",
        },
        ignore_conflicts=False,
    )
    return expired.update(status=Status.LAPSED)


def cards_join_buyers(*, policy: LoyaltyPolicy, stores, exclude, day: datetime.date, now) -> int:
    """A car bought here makes its owner a member (an ordinary card from the
    purchase day) when they hold no card of the store that began since; looks
    back the renewal window's days, so a missed night catches up. Three
    statements: the cards, their events, their numbers."""
    since = day - datetime.timedelta(days=max(policy.renewal_window_days, 1))

    bought = (
        _stores(Vehicle.objects.order_by(), "customer__dealership_id", stores, exclude)
        .filter(
            sold_here=True, purchase_date__gt=since, purchase_date__lte=day, customer__status=Customer.Status.ACTIVE
        )
        .exclude(
            Exists(
                MembershipCard.objects.filter(
                    customer_id=OuterRef("customer_id"), dealership_id=OuterRef("customer__dealership_id")
                ).filter(Q(status=Status.ACTIVE) | Q(valid_from__gte=OuterRef("purchase_date")))
            )
        )
        .values("customer_id")
        .annotate(
            j_store=Max("customer__dealership_id"),
            j_customer=F("customer_id"),
            j_number=Concat(Value("new-"), Cast("customer_id", CharField())),
            j_from=Min("purchase_date"),
        )
    )
    bought = bought.annotate(
        j_until=AddMonths(Min("purchase_date"), Value(12 * policy.ordinary_years)),
        j_level=Value(Level.ORDINARY, output_field=CharField()),
        j_route=Value(Route.BOUGHT_HERE, output_field=CharField()),
        j_status=Value(Status.ACTIVE, output_field=CharField()),
        j_fee=Value(Decimal("0"), output_field=DecimalField(max_digits=8, decimal_places=2)),
        j_at=Value(now),
    )
    joined = insert_select(
        MembershipCard,
        bought.order_by(_computed("customer_id")),
        {
            "dealership_id": "j_store",
            "customer_id": "j_customer",
            "number": "j_number",
            "level": "j_level",
            "obtained": "j_route",
            "status": "j_status",
            "valid_from": "j_from",
            "valid_until": "j_until",
            "fee_paid": "j_fee",
            "created_at": "j_at",
        },
    )
    insert_select(
        CardEvent,
        MembershipCard.objects.order_by()
        .filter(number__startswith="new-", obtained=Route.BOUGHT_HERE, created_at=now)
        .annotate(
            v_card=F("pk"),
            v_action=Value(CardEvent.Action.JOINED, output_field=CharField()),
            v_from=Value("", output_field=CharField()),
            v_to=Value(Status.ACTIVE, output_field=CharField()),
            v_reason=Value(str(Route.BOUGHT_HERE.label), output_field=CharField()),
            v_at=Value(now),
        ),
        {
            "card_id": "v_card",
            "action": "v_action",
            "from_status": "v_from",
            "to_status": "v_to",
            "reason": "v_reason",
            "at": "v_at",
        },
        ignore_conflicts=False,
    )
    _renumber()
    return joined


def referrals_confirm(*, stores, exclude, now) -> int:
    """A referral is confirmed when the referred customer buys a car here or
    closes a first paid order here after it was recorded."""

    bought = Vehicle.objects.filter(
        customer_id=OuterRef("referred_id"), sold_here=True, purchase_date__gte=OuterRef("r_day")
    )
    paid = RepairOrder.objects.filter(
        _customer_paid(),
        customer_id=OuterRef("referred_id"),
        dealership_id=OuterRef("dealership_id"),
        closed_at__isnull=False,
        voided_at__isnull=True,
        closed_at__gte=OuterRef("created_at"),
    )
    ready = (
        _stores(Referral.objects, "dealership_id", stores, exclude)
        .filter(status=Referral.Status.PENDING)
        .annotate(r_day=TruncDate("created_at"))
        .filter(Q(Exists(bought)) | Q(Exists(paid)))
    )
    return Referral.objects.filter(pk__in=ready.values("pk")).update(status=Referral.Status.CONFIRMED, confirmed_at=now)


def loyalty_nightly(*, day: datetime.date, now: datetime.datetime | None = None) -> NightlyReport:
    """The night's club work, per policy and the stores it governs: buyers join,
    referrals confirm, points are earned and corrected, cards move up, cards
    not renewed lapse. Each step is set-based and skips what it did before: a
    rerun changes nothing."""
    now = now or timezone.now()
    report = NightlyReport(day=day)
    own = [p.dealership_id for p in LoyaltyPolicy.objects.exclude(dealership=None)]
    for policy, stores in effective_policies():
        exclude = [] if stores is not None else own
        with transaction.atomic():
            report.joined += cards_join_buyers(policy=policy, stores=stores, exclude=exclude, day=day, now=now)
            report.confirmed += referrals_confirm(stores=stores, exclude=exclude, now=now)
            for kind, n in points_earn(policy=policy, stores=stores, exclude=exclude, day=day, now=now).items():
                report.earned[kind] = report.earned.get(kind, 0) + n
            report.reversed += points_reverse(policy=policy, stores=stores, exclude=exclude, day=day, now=now)
            report.upgraded += cards_upgrade(policy=policy, stores=stores, exclude=exclude, day=day, now=now)
            report.lapsed += cards_lapse(stores=stores, exclude=exclude, day=day, now=now)
    return report
