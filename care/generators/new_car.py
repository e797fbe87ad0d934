"""New-car follow-ups: the day-3 call and the day-7 questionnaire after delivery.

Only cars we sold (``sold_here``): a car bought elsewhere and serviced here has
no delivery of ours to ask about. The event is the purchase date plus
``params["days"]`` (3 or 7 by default); the occasion is the purchase date, so
a rerun, or a rule whose ``days`` is edited later, never calls the same
delivery twice.
"""

import logging

from django.db.models import BooleanField, Value

from care.generators import register
from care.generators.base import Run, occasion
from care.models import CareKind
from crm.sql import AddDays

logger = logging.getLogger(__name__)


def _days(run: Run, default: int) -> int | None:
    """``params["days"]`` when it is a whole number of days ≥ 0, else None."""
    # Params that are not an object at all are as wrong as a bad value.
    days = run.params.get("days", default) if isinstance(run.params, dict) else None
    # bool is an int in Python; "days": true is a typo, not one day.
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        return None
    return days


def _new_car(run: Run, default_days: int):
    days = _days(run, default_days)
    cars = run.vehicles().filter(sold_here=True)
    cars = cars.annotate(
        t_event=AddDays("purchase_date", Value(days or 0)),
        t_occasion=occasion(run.rule.kind, "purchase_date"),
    )
    if days is None:
        logger.warning("care rule %s: params.days must be a whole number ≥ 0; nothing generated", run.rule.pk)
        # Not .none(): the engine annotates and compiles the queryset, and an
        # empty queryset has no SQL (EmptyResultSet). "WHERE false" has.
        return cars.filter(Value(False, output_field=BooleanField()))
    return cars


@register(CareKind.NEW_CAR_DAY3)
def generate_day3(run: Run):
    return _new_car(run, 3)


@register(CareKind.NEW_CAR_DAY7)
def generate_day7(run: Run):
    return _new_car(run, 7)
