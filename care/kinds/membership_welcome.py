"""The club's welcome message (入会/升级欢迎短信): when a card starts, joined or
upgraded, a message with the card's level, number, expiry and what it gives
(``{card_level}``, ``{card_number}``, ``{valid_until}``, ``{benefits}``).

A service message about the customer's own card, not marketing: no marketing
consent needed; an opt-out of the kind or of SMS is honoured as for every
message. One touch per card (occasion ``membership-welcome:<card id>``), on
the day the card was made (the night's joins and upgrades are made at 02:30,
the morning run at 06:00 sends their welcomes); ``care.engine.receivers``
sends it at once when ``loyalty.signals.card_started`` is announced (a card
issued at the desk).
"""

import datetime

from django.db.models import F
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

from care.kinds.base import NULL_ID, Run, occasion
from care.kinds.club import card_context_with_benefits
from care.registry import KindSpec, register
from loyalty.models import MembershipCard


def generate(run: Run):
    # Cards made recently enough for their welcome to be inside today's window.
    oldest = run.day - datetime.timedelta(days=run.rule.expiry_days + 1)
    since = timezone.make_aware(datetime.datetime.combine(oldest, datetime.time.min))
    # Up to the end of the run's day: a rerun of a past day sees what it saw then.
    until = timezone.make_aware(datetime.datetime.combine(run.day + datetime.timedelta(days=1), datetime.time.min))
    return (
        MembershipCard.objects.filter(
            dealership_id__in=run.dealership_ids,
            status=MembershipCard.Status.ACTIVE,
            created_at__gte=since,
            created_at__lt=until,
            customer__in=run.customers().values("pk"),
        )
        .order_by()
        .annotate(
            t_dealership=F("dealership_id"),
            t_customer=F("customer_id"),
            t_vehicle=NULL_ID,
            t_tier=F("customer__value_tier"),
            t_advisor=F("customer__advisor_id"),
            t_event=TruncDate("created_at"),
            t_occasion=occasion("membership-welcome", "pk"),
            t_subject=F("number"),
        )
    )


DEFAULT_RULES = (
    {
        "name": "会员入会欢迎短信",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 3,
        "message_template": (
            "【{dealership}】{name}{title}，欢迎您成为本店{card_level}会员，卡号{card_number}，"
            "有效期至{valid_until}。会员权益：{benefits}。详询{booking_phone}。"
        ),
        "priority": 50,
    },
)

SPEC = register(
    KindSpec(
        kind="membership_welcome",
        label=gettext_lazy("Club: welcome message"),
        generate=generate,
        context=card_context_with_benefits,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
