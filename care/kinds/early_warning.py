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
import functools

from django.db.models import Case, CharField, F, QuerySet, Value, When
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, register
from customers.models import Customer

# What the advisor reads as the reason for the call, with the figures the
# watch was made on (customers.selectors.customer_watch_text says the same on
# pages, in the reader's language); an unknown reason is shown as it is.
Reason = Customer.WatchReason


def _subject():
    text = functools.partial(Value, output_field=CharField())
    visit_rate = Concat(
        text("来店频次下降：通常每"),
        Cast("watch_usual_days", CharField()),
        text("天来一次，已"),
        Cast("watch_days_since", CharField()),
        text("天未到店（上次"),
        Cast("watch_last_visit", CharField()),
        text("），请关怀回访"),
        output_field=CharField(),
    )
    tier_down = Concat(
        text("价值等级下降："),
        "watch_from_tier",
        text("→"),
        "watch_to_tier",
        text("（"),
        Cast("watch_since", CharField()),
        text("），请关怀回访"),
        output_field=CharField(),
    )
    return Case(
        When(watch_reason=Reason.VISIT_RATE, watch_usual_days__isnull=False, then=visit_rate),
        When(watch_reason=Reason.TIER_DOWN, watch_from_tier__gt="", then=tier_down),
        When(watch_reason=Reason.VISIT_RATE, then=text("来店频次下降，请关怀回访")),
        When(watch_reason=Reason.TIER_DOWN, then=text("价值等级下降（如A→B），请关怀回访")),
        When(watch_reason=Reason.COMPLAINT, then=text("A类客户有投诉，请优先回访")),
        default=F("watch_reason"),
        output_field=CharField(),
    )


def generate(run: Run) -> QuerySet[Customer]:
    since = run.day - datetime.timedelta(days=run.rule.expiry_days)
    subject = _subject()
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
