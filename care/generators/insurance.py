"""Insurance renewal: touches before ``Vehicle.insurance_expiry_date``.

Renewal calls usually come in a cadence (e.g. 45, 33 and 30 days before, set on
the rule); the engine makes each contact its own step of the occasion
``insurance:<expiry date>``. A renewal moves the vehicle's expiry date on,
which closes the open touch as fulfilled and starts next year's occasion.
"""

import datetime

from django.db.models import F

from care.generators import register
from care.generators.base import Run, occasion
from care.models import CareKind


@register(CareKind.INSURANCE)
def generate(run: Run):
    rule = run.rule
    # Only expiries the engine could keep today: at most the earliest contact
    # ahead, at least the expiry days behind. A plain range on a column.
    earliest = run.day - datetime.timedelta(days=rule.expiry_days)
    latest = run.day + datetime.timedelta(days=rule.reach_days)
    return (
        run.vehicles()
        .filter(insurance_expiry_date__range=(earliest, latest))
        .annotate(t_event=F("insurance_expiry_date"), t_occasion=occasion("insurance", "insurance_expiry_date"))
    )
