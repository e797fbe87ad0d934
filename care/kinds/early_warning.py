"""Early-warning calls (预警关怀, seeds 000 and 002): a customer starts to slip
before being lost, and a call now may keep them.

The nightly tier recompute puts customers on the watch list: ``watch_reason``
(why: the tier fell, visits thinned out, a tier-A customer complained) and
``watch_since`` (the day). One call per watched customer, about that day,
occasion ``early-warning:<watch_reason>:<watch_since>``: a new reason, or the
same reason on a later day, is a new call; a rerun or an unchanged watch is
not. Only watches from the last ``expiry_days`` up to the run day are called:
an older one has expired unworked (the engine drops it too).
"""

import datetime

from django.db.models import Case, CharField, F, QuerySet, Value, When
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, register
from customers.models import Customer

# What the advisor reads as the reason for the call; an unknown reason is shown as it is.
SUBJECTS = {
    "tier_down": "价值等级下降（如A→B），请关怀回访",
    "visit_rate": "来店频次下降，请关怀回访",
    "complaint": "A类客户有投诉，请优先回访",
}


def generate(run: Run) -> QuerySet[Customer]:
    since = run.day - datetime.timedelta(days=run.rule.expiry_days)
    subject = Case(
        *[When(watch_reason=reason, then=Value(text)) for reason, text in SUBJECTS.items()],
        default=F("watch_reason"),
        output_field=CharField(),
    )
    return (
        run.customers()
        .exclude(watch_reason="")
        .filter(watch_since__gte=since, watch_since__lte=run.day)
        .annotate(
            t_event=F("watch_since"),
            t_occasion=occasion("early-warning", "watch_reason", "watch_since"),
            t_subject=subject,
        )
    )


DEFAULT_RULES = (
    {
        "name": "预警关怀回访",
        "lead_days": 0,
        "expiry_days": 7,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。想回访一下您最近用车和在本店的服务体验，有没有哪里让您不满意、需要我们改进的？"
            "有什么需要随时找我，我的电话是{advisor_phone}。"
        ),
        "priority": 75,
    },
)

SPEC = register(
    KindSpec(
        kind="early_warning",
        label=gettext_lazy("Early warning call"),
        generate=generate,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
