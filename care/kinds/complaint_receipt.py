"""The acknowledgement of a complaint filed on the public form (投诉受理短信):
the case number and the link to its status page, by SMS.

A service message about the customer's own case, not marketing: it needs no
marketing consent; an opt-out of all SMS (or of this kind) is honoured, as
for every message (``care.kinds.base.Run.customers``, then the outbox checks).

One touch per case from the online form (occasion ``complaint-receipt:<id>``),
made and queued at once when the case is opened (``care.engine.receivers``,
running this generator narrowed to the case); the morning run catches a case
of the day before that has none (the rule was off when it came in).
"""

import datetime

from django.db.models import F
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, register
from complaints.models import Complaint


def generate(run: Run):
    oldest = run.day - datetime.timedelta(days=run.rule.expiry_days + 1)
    since = timezone.make_aware(datetime.datetime.combine(oldest, datetime.time.min))
    return (
        Complaint.objects.filter(
            channel=Complaint.Channel.ONLINE_FORM,
            dealership_id__in=run.dealership_ids,
            received_at__gte=since,
            customer__in=run.customers().values("pk"),
        )
        .order_by()
        .annotate(
            t_dealership=F("dealership_id"),
            t_customer=F("customer_id"),
            t_vehicle=F("vehicle_id"),
            t_tier=F("customer__value_tier"),
            t_advisor=F("customer__advisor_id"),
            t_event=TruncDate("received_at"),
            t_occasion=occasion("complaint-receipt", "pk"),
            t_subject=F("number"),
            t_complaint=F("pk"),
        )
    )


DEFAULT_RULES = (
    {
        "name": "投诉受理短信",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 1,
        "message_template": (
            "{name}{title}您好，{dealership}已受理您的投诉，编号{case_number}。"
            "我们会尽快与您联系，处理进度请查看：{status_link}"
        ),
        "priority": 80,
    },
)

SPEC = register(
    KindSpec(
        kind="complaint_receipt",
        label=gettext_lazy("Complaint: acknowledgement SMS"),
        generate=generate,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
