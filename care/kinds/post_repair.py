"""The day-3 call after a repair: is the car all right since it left the workshop?

One touch per closed repair order of the kinds in
``params["repair_order_kinds"]`` (accessory fitting and events do not call for
it), on the local close date plus ``params["days"]``. The rule's expiry (12
days in the default rule) ends it: a call about a repair two weeks ago is
pointless.

The call asks the survey's two questions (satisfaction and "would you
recommend us", ``care.workspace``). A store that wants advisors never to
survey their own customers (``Dealership.surveys_by_other_advisor``) has the
call made by another active advisor of the store (``other_advisor``): neither
the order's advisor nor the customer's, picked round-robin by the order.
"""

import datetime
import logging

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Mod, NullIf, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, Param, register
from crm.models import User
from crm.sql import AddDays
from service.models import RepairOrder

logger = logging.getLogger(__name__)

DEFAULT_KINDS = [
    RepairOrder.Kind.REPAIR,
    RepairOrder.Kind.WARRANTY,
    RepairOrder.Kind.ACCIDENT,
    RepairOrder.Kind.BODYWORK,
    RepairOrder.Kind.MAINTENANCE,
]


def visit_advisor(prefix: str = ""):
    """The advisor of the visit (order or appointment) when it is at the customer's own store,
    else the customer's advisor: the one who handled the visit knows it best,
    but a touch stays in the queue of the customer's dealership."""
    return Case(
        When(
            **{f"{prefix}dealership_id": F(f"{prefix}customer__dealership_id"), f"{prefix}advisor__isnull": False},
            then=F(f"{prefix}advisor_id"),
        ),
        default=F(f"{prefix}customer__advisor_id"),
    )


def other_advisor(*, store: str, excluded: tuple[str, ...], key: str = "pk", away: tuple[int, ...] = ()) -> Subquery:
    """Another active advisor of the store (the outer row's ``store`` path),
    none of those the ``excluded`` paths name nor those ``away`` (ids), or
    NULL when the store has no such advisor: of the store's other advisors in id order, the one at
    position ``key`` mod their number. Deterministic, and it spreads a day's
    calls over the colleagues instead of piling them on one (a least-loaded
    pick would be read once for the whole statement).

    Three correlated subqueries over the store's advisors (a handful of rows
    on the (dealership) index) for each outer row: no loop, no round trip."""

    def candidates(ref):
        advisors = User.objects.filter(role=User.Role.ADVISOR, is_active=True, dealership_id=ref(store))
        if away:
            advisors = advisors.exclude(pk__in=away)
        for path in excluded:
            # An own advisor may be NULL: 0 is nobody's id, and NOT (id = NULL) would drop every row.
            advisors = advisors.exclude(pk=Coalesce(ref(path), Value(0)))
        return advisors.order_by()

    def how_many(advisors) -> Subquery:
        counted = advisors.values("dealership_id").annotate(n=Count("pk")).values("n")[:1]
        return Subquery(counted, output_field=IntegerField())

    # Inside the query over the candidates, the outer row is two levels out.
    def outer_of_outer(path: str) -> OuterRef:
        return OuterRef(OuterRef(path))

    before = how_many(candidates(outer_of_outer).filter(pk__lt=OuterRef("pk")))
    # MOD by NULL (no candidate at all) is NULL, where MOD by 0 is an error on PostgreSQL.
    position = Mod(OuterRef(key), NullIf(how_many(candidates(outer_of_outer)), Value(0)))
    picked = candidates(OuterRef).annotate(position=Coalesce(before, Value(0))).filter(position=position)
    return Subquery(picked.values("pk")[:1], output_field=BigIntegerField())


def call_advisor():
    """Who makes the day-3 call: the visit's advisor (``visit_advisor``), or,
    in a store that has surveys asked by another advisor, one of the others
    (the store's only advisor still calls when there is no other)."""
    others = other_advisor(store="customer__dealership_id", excluded=("advisor_id", "customer__advisor_id"))
    return Case(
        When(
            customer__dealership__surveys_by_other_advisor=True,
            then=Coalesce(others, visit_advisor(), output_field=BigIntegerField()),
        ),
        default=visit_advisor(),
        output_field=BigIntegerField(),
    )


def eligible_orders(run: Run):
    """Repair orders of the rule's eligible cars (``Run.vehicles``), brought in
    by the car's present owner: after a change of owner, the previous owner's
    visits are nobody's business."""
    return RepairOrder.objects.filter(
        vehicle__in=run.vehicles().values("pk"), customer_id=F("vehicle__customer_id")
    ).order_by()


def generate(run: Run):
    # Params that are not an object at all count as invalid, like a bad value.
    params = run.params if isinstance(run.params, dict) else {"days": None}
    days = params.get("days", 3)
    kinds = params.get("repair_order_kinds", DEFAULT_KINDS)
    valid = (
        isinstance(days, int)
        and not isinstance(days, bool)
        and days >= 0
        and isinstance(kinds, list)
        and all(k in RepairOrder.Kind.values for k in kinds)
    )
    orders = (
        eligible_orders(run)
        .filter(closed_at__isnull=False)
        .annotate(
            t_dealership=F("customer__dealership_id"),
            t_customer=F("customer_id"),
            t_vehicle=F("vehicle_id"),
            t_tier=F("customer__value_tier"),
            t_advisor=call_advisor(),
            t_event=AddDays(TruncDate("closed_at"), Value(days if valid else 0)),
            t_occasion=occasion("post_repair", "number"),
            t_repair_order=F("pk"),
        )
    )
    if not valid:
        logger.warning(
            "care rule %s: params.days must be a whole number ≥ 0 and params.repair_order_kinds a list of "
            "repair order kinds; nothing generated",
            run.rule.pk,
        )
    if valid:
        # Only orders closed recently enough to be inside today's window: a
        # range on closed_at the index answers, not a date computed per order.
        oldest = run.day - datetime.timedelta(days=run.rule.expiry_days + days + 1)
        since = timezone.make_aware(datetime.datetime.combine(oldest, datetime.time.min))
        orders = orders.filter(closed_at__gte=since)
    if not valid or not kinds:
        # WHERE false, not .none() or kind__in=[]: the engine compiles the
        # queryset to SQL, and those have none (EmptyResultSet).
        return orders.filter(Value(False, output_field=BooleanField()))
    return orders.filter(kind__in=kinds)


DEFAULT_RULES = (
    {
        "name": "维修后三日回访",
        "lead_days": 0,
        "expiry_days": 12,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。您的爱车{plate}三天前在我们这里维修保养，目前使用情况好吗？更换的零件都正常吗？"
            "有任何问题随时联系我。"
        ),
        "priority": 70,
        "params": {
            "days": 3,
            "repair_order_kinds": ["repair", "warranty", "accident", "bodywork", "maintenance"],
        },
    },
)

SPEC = register(
    KindSpec(
        kind="post_repair_day3",
        label=gettext_lazy("After repair: day-3 call"),
        generate=generate,
        params=(
            Param("days", gettext_lazy("Days after the repair order closes"), type="int", default=3, min_value=0),
            Param(
                "repair_order_kinds",
                gettext_lazy("Repair order kinds"),
                type="multichoice",
                default=DEFAULT_KINDS,
                choices=tuple(RepairOrder.Kind.choices),
            ),
        ),
        appointment_kind=RepairOrder.Kind.REPAIR,
        scans_every_car=3,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
