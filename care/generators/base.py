"""What every generator starts from: the eligible cars or customers of a rule,
with the columns the engine inserts (see care.generators)."""

import dataclasses
import datetime

from django.db.models import (
    BigIntegerField,
    CharField,
    DateField,
    DecimalField,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Concat

from care.models import CareOptOut, CareRule
from customers.models import Customer
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
NULL_DATE = Cast(Value(None), DateField())


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
