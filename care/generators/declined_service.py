"""Work the customer declined (a ``declined`` repair line), offered again after
``params["delay_days"]`` (30 by default) from the order's local close date, or
its opening date while it is still open.

One touch per declined line (occasion ``declined:<line pk>``), with the work as
subject and the quoted price as amount. A line is left alone when the car has
since had that work done (a done line with the same description on an order
opened at the same time or later) or declined it again on a later visit (the
later refusal is the one to follow up, with its fresher quote).
Descriptions are compared exactly, as the DMS writes them.
"""

import logging

from django.db.models import BooleanField, Exists, F, OuterRef, Value
from django.db.models.functions import Coalesce, TruncDate

from care.generators import register
from care.generators.base import Run, occasion
from care.generators.post_repair import eligible_orders, visit_advisor
from care.models import CareKind
from crm.sql import AddDays
from service.models import RepairLine

logger = logging.getLogger(__name__)


@register(CareKind.DECLINED_SERVICE)
def generate(run: Run):
    # Params that are not an object at all count as invalid, like a bad value.
    delay = run.params.get("delay_days", 30) if isinstance(run.params, dict) else None
    valid = isinstance(delay, int) and not isinstance(delay, bool) and delay >= 0

    same_work = RepairLine.objects.filter(
        description=OuterRef("description"), repair_order__vehicle_id=OuterRef("repair_order__vehicle_id")
    )
    done_since = same_work.filter(
        status=RepairLine.Status.DONE, repair_order__opened_at__gte=OuterRef("repair_order__opened_at")
    )
    declined_again = same_work.filter(
        status=RepairLine.Status.DECLINED, repair_order__opened_at__gt=OuterRef("repair_order__opened_at")
    )
    order_day = Coalesce(TruncDate("repair_order__closed_at"), TruncDate("repair_order__opened_at"))
    lines = (
        RepairLine.objects.filter(status=RepairLine.Status.DECLINED, repair_order__in=eligible_orders(run).values("pk"))
        .exclude(Exists(done_since))
        .exclude(Exists(declined_again))
        .order_by()
        .annotate(
            t_dealership=F("repair_order__customer__dealership_id"),
            t_customer=F("repair_order__customer_id"),
            t_vehicle=F("repair_order__vehicle_id"),
            t_tier=F("repair_order__customer__value_tier"),
            t_advisor=visit_advisor("repair_order__"),
            t_event=AddDays(order_day, Value(delay if valid else 0)),
            t_occasion=occasion("declined", "pk"),
            t_subject=F("description"),
            t_amount=F("quoted_amount"),
            t_repair_order=F("repair_order_id"),
        )
    )
    if not valid:
        logger.warning("care rule %s: params.delay_days must be a whole number ≥ 0; nothing generated", run.rule.pk)
        # WHERE false, not .none(): the engine compiles the queryset to SQL.
        return lines.filter(Value(False, output_field=BooleanField()))
    return lines
