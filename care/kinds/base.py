"""What every generator starts from: the eligible cars or customers of a rule,
with the columns the engine inserts (see care.kinds), and what the kinds
share to say a touch was fulfilled."""

import dataclasses
import datetime
import functools
import operator
from collections.abc import Iterator

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    DateField,
    DecimalField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, TruncDate
from django.db.models.lookups import GreaterThan, LessThan

from care.touches.models import CareOptOut, CareRule, CareTask
from crm.sql import AddDays
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import Vehicle


@dataclasses.dataclass(frozen=True)
class Run:
    """One rule applied on one day to the dealerships it governs."""

    rule: CareRule
    day: datetime.date
    dealership_ids: tuple[int, ...]

    @property
    def params(self) -> dict:
        return self.rule.params or {}

    def opted_out(self, customer_path: str) -> Exists:
        rule = self.rule
        return Exists(
            CareOptOut.objects.filter(
                customer=OuterRef(customer_path), kind__in=[rule.kind, ""], channel__in=[rule.channel, ""]
            )
        )

    def customers(self) -> QuerySet[Customer]:
        """Active customers of the rule's dealerships and tiers who have not opted out."""
        return (
            Customer.objects.filter(
                dealership_id__in=self.dealership_ids,
                status=Customer.Status.ACTIVE,
                value_tier__in=list(self.rule.target_tiers),
            )
            .exclude(self.opted_out("pk"))
            .order_by()
            .annotate(
                t_dealership=F("dealership_id"),
                t_customer=F("pk"),
                t_vehicle=NULL_ID,
                t_tier=F("value_tier"),
                t_advisor=F("advisor_id"),
            )
        )

    def vehicles(self) -> QuerySet[Vehicle]:
        """Cars in use whose owners are eligible as in ``customers``."""
        return (
            Vehicle.objects.filter(
                status=Vehicle.Status.ACTIVE,
                customer__dealership_id__in=self.dealership_ids,
                customer__status=Customer.Status.ACTIVE,
                customer__value_tier__in=list(self.rule.target_tiers),
            )
            .exclude(self.opted_out("customer_id"))
            .order_by()
            .annotate(
                t_dealership=F("customer__dealership_id"),
                t_customer=F("customer_id"),
                t_vehicle=F("pk"),
                t_tier=F("customer__value_tier"),
                t_advisor=F("customer__advisor_id"),
            )
        )


# Typed NULLs: PostgreSQL will not insert an untyped NULL from a subquery into a bigint.
NULL_ID = Cast(Value(None), BigIntegerField())
NULL_AMOUNT = Cast(Value(None), DecimalField(max_digits=10, decimal_places=2))


def occasion(prefix: str, *parts) -> Concat:
    """``prefix:part1:part2`` built in SQL, e.g. ``maintenance:2026-05-01``.

    Parts are expressions or field names; they are cast to text, so dates read
    ``YYYY-MM-DD`` on PostgreSQL and SQLite alike.
    """
    pieces = [Value(prefix)]
    for part in parts:
        pieces += [Value(":"), part if isinstance(part, Value) else Cast(part, CharField())]
    if len(pieces) == 1:
        pieces.append(Value(""))
    return Concat(*pieces, output_field=CharField())


@dataclasses.dataclass(frozen=True)
class Touch:
    """One touch for the customers matching ``who``; touches sharing a ``slot``
    never match the same customer, so they can share one queryset."""

    slot: int
    who: Q
    event: datetime.date
    occasion: str
    subject: str


def touches_querysets(customers: QuerySet, touches: list[Touch]) -> list[QuerySet]:
    """One queryset per slot: ``customers`` matching a touch of the slot,
    annotated with that touch's ``t_event``, ``t_occasion`` and ``t_subject``.

    The engine inserts every queryset a generator returns, so a customer gets
    several touches (solar and lunar birthday, Lantern Festival and Women's
    Day) in one run without a row ever passing through Python.
    """
    by_slot: dict[int, list[Touch]] = {}
    for touch in touches:
        by_slot.setdefault(touch.slot, []).append(touch)
    result = []
    for slot_touches in by_slot.values():
        if len(slot_touches) == 1:
            # One touch (e.g. a festival for everyone, whose ``who`` is Q()): plain values.
            [touch] = slot_touches
            columns = {
                "t_event": Value(touch.event, output_field=DateField()),
                "t_occasion": Value(touch.occasion, output_field=CharField()),
                "t_subject": Value(touch.subject, output_field=CharField()),
            }
            result.append(customers.filter(touch.who).annotate(**columns))
            continue

        def pick(attr: str, field, default=None, touches=slot_touches):
            whens = [When(t.who, then=Value(getattr(t, attr))) for t in touches]
            return Case(*whens, default=default, output_field=field)

        result.append(
            customers.filter(functools.reduce(operator.or_, [t.who for t in slot_touches])).annotate(
                t_event=pick("event", DateField()),
                t_occasion=pick("occasion", CharField()),
                t_subject=pick("subject", CharField(), Value("")),
            )
        )
    return result


def window(run: Run) -> tuple[datetime.date, datetime.date]:
    """The event dates the engine may keep today: from those expiring today to
    the earliest contact's lead ahead (see care.engine.services._generate_rule)."""
    return (
        run.day - datetime.timedelta(days=run.rule.expiry_days),
        run.day + datetime.timedelta(days=run.rule.reach_days),
    )


def days(start: datetime.date, end: datetime.date) -> Iterator[datetime.date]:
    current = start
    while current <= end:
        yield current
        current += datetime.timedelta(days=1)


# Predictions further out than this are as good as never (and would overflow
# PostgreSQL's date range for a huge target on a very slow car).
_HORIZON_DAYS = 100 * 365


def km_reached_on(km):
    """SQL date on which the car's odometer is predicted to read ``km``.

    From the latest reading (or delivery) at the car's km per day
    (``CRM_DEFAULT_KM_PER_DAY`` while its history is thin). In the past when
    the car is already beyond ``km``; NULL when the car does not move (0 km
    per day): dividing by zero is an error on PostgreSQL and NULL on SQLite,
    and a car standing still never reaches anything.
    """
    rate = NullIf(
        Cast(Coalesce(F("km_per_day"), Value(settings.CRM_DEFAULT_KM_PER_DAY)), FloatField()),
        Value(0.0),
    )
    days_to_go = Cast(km - F("current_mileage"), FloatField()) / rate
    bounded = Case(
        When(GreaterThan(days_to_go, Value(_HORIZON_DAYS)), then=Value(_HORIZON_DAYS)),
        When(LessThan(days_to_go, Value(-_HORIZON_DAYS)), then=Value(-_HORIZON_DAYS)),
        default=days_to_go,
        output_field=FloatField(),
    )
    return AddDays(Coalesce("current_mileage_date", "purchase_date"), bounded)


def visits_since_touch_made() -> QuerySet[RepairOrder]:
    """Repair orders opened, in local dates, on or after the touch's generation day."""
    return RepairOrder.objects.annotate(visit_day=TruncDate("opened_at")).filter(visit_day__gte=OuterRef("created_on"))


def visited_with(*ro_kinds: str):
    """A ``fulfilled`` for kinds a visit answers: the car came in for one of ``ro_kinds``."""

    def fulfilled(open_touches: QuerySet[CareTask], day: datetime.date) -> QuerySet[CareTask]:
        visit = visits_since_touch_made().filter(vehicle=OuterRef("vehicle"), kind__in=ro_kinds)
        return open_touches.filter(Exists(visit))

    return fulfilled
