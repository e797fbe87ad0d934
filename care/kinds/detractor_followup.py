"""The manager's call to an unhappy customer (差评回访): a survey answer that is
a detractor's (NPS ≤ 6 or CSAT ≤ 2) and says why, in the customer's comment.

The store's manager calls (the first active manager of the customer's store;
a store without one falls back on its least-loaded advisor, like any touch
without an advisor), the same day, with the comment as the touch's subject
(``{item}`` in the script). One touch per survey answer (occasion
``detractor:<response id>``): analytics, which holds the answers, asks for it
through ``care.engine.services.care_touches_make_now`` with the rows of
``followup_rows``; answering twice, or asking twice, makes one touch. The
morning run makes none.
"""

from django.db.models import BigIntegerField, CharField, DateField, OuterRef, Subquery, Value
from django.utils.translation import gettext_lazy

from care.kinds.base import NULL_ID, Run
from care.registry import KindSpec, register
from crm.models import User
from service.models import RepairOrder

PREFIX = "detractor"
# The touch's subject holds the comment (CareTask.subject's length).
SUBJECT_LENGTH = 200


def followup_occasion(response_id: int) -> str:
    return f"{PREFIX}:{response_id}"


def store_manager():
    """The first active manager of the touch's store, by id (deterministic), or NULL."""
    managers = (
        User.objects.people()
        .filter(dealership_id=OuterRef("dealership_id"), role=User.Role.MANAGER, is_active=True)
        .order_by("pk")
    )
    return Subquery(managers.values("pk")[:1], output_field=BigIntegerField())


def generate(run: Run):
    """The morning run finds nothing to do: the answers are analytics', which asks when one comes in."""
    return (
        run.customers()
        .filter(pk__in=[])
        .annotate(t_event=Value(run.day, output_field=DateField()), t_occasion=Value("", output_field=CharField()))
    )


def followup_rows(run: Run, *, customer_id: int, response_id: int, comment: str, repair_order_id: int | None = None):
    """The row of one follow-up: the customer (if the rule's tiers and the
    customer's opt-outs allow), due on the run's day, for the store's manager,
    about the answer's repair order and its car when there is one."""
    order = RepairOrder.objects.filter(pk=repair_order_id or 0, customer_id=OuterRef("pk"))
    return (
        run.customers()
        .filter(pk=customer_id)
        .annotate(
            t_vehicle=Subquery(order.values("vehicle_id")[:1], output_field=BigIntegerField()),
            t_advisor=store_manager(),
            t_event=Value(run.day, output_field=DateField()),
            t_occasion=Value(followup_occasion(response_id), output_field=CharField()),
            t_subject=Value(comment.strip()[:SUBJECT_LENGTH], output_field=CharField()),
            t_repair_order=Subquery(order.values("pk")[:1], output_field=BigIntegerField())
            if repair_order_id
            else NULL_ID,
        )
    )


DEFAULT_RULES = (
    {
        "name": "差评回访（服务经理）",
        "lead_days": 0,
        "expiry_days": 7,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务经理。您在满意度调查中提到：“{item}”。"
            "非常抱歉给您带来不好的体验，想具体了解一下情况，看看我们能怎么弥补和改进。"
        ),
        "priority": 90,
    },
)

SPEC = register(
    KindSpec(
        kind="detractor_followup",
        label=gettext_lazy("Survey: manager's call to a detractor"),
        generate=generate,
        default_rules=DEFAULT_RULES,
        appointment_kind=RepairOrder.Kind.REPAIR,
        module=__name__,
    )
)
