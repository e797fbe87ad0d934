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
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion, visited_with
from care.kinds.post_repair import eligible_orders, visit_advisor
from care.registry import KindSpec, Param, register
from crm.sql import AddDays
from service.models import RepairLine, RepairOrder

logger = logging.getLogger(__name__)


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


DEFAULT_RULES = (
    {
        "name": "未做项目回访",
        "lead_days": 0,
        "expiry_days": 30,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。上次来店时技师建议的{item}（报价{price}元）您还没有做，为了行车安全，"
            "建议近期处理，需要帮您预约吗？"
        ),
        "params": {
            "delay_days": 30,
        },
    },
)

SPEC = register(
    KindSpec(
        kind="declined_service",
        label=gettext_lazy("Declined work"),
        generate=generate,
        fulfilled=visited_with(RepairOrder.Kind.MAINTENANCE, RepairOrder.Kind.REPAIR),
        params=(Param("delay_days", gettext_lazy("Days after the visit"), type="int", default=30, min_value=0),),
        appointment_kind=RepairOrder.Kind.REPAIR,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
