"""Thanks to a referrer (推荐答谢): when a referral is rewarded (the referred
customer bought a car or paid a first order here, and the points were
earned), a call to the referrer by default (the advisor asks which free
service they pick as their thanks), or a message if the rule says so.

The referred customer is named by surname and title only (``{referred}``:
陈先生), never in full. One touch per referral (occasion
``referral-thanks:<referral id>``) on the day it was rewarded (the night,
02:30; the morning run makes the touch); ``care.engine.receivers`` makes it
at once when ``loyalty.signals.referral_rewarded`` is announced.
"""

import datetime

from django.db.models import F
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

from care.kinds.base import NULL_ID, Run, occasion
from care.kinds.club import surname_and_title
from care.registry import KindSpec, register
from loyalty.models import Referral


def generate(run: Run):
    oldest = run.day - datetime.timedelta(days=run.rule.expiry_days + 1)
    since = timezone.make_aware(datetime.datetime.combine(oldest, datetime.time.min))
    # Up to the end of the run's day: a rerun of a past day sees what it saw then.
    until = timezone.make_aware(datetime.datetime.combine(run.day + datetime.timedelta(days=1), datetime.time.min))
    return (
        Referral.objects.filter(
            dealership_id__in=run.dealership_ids,
            status=Referral.Status.REWARDED,
            rewarded_at__gte=since,
            rewarded_at__lt=until,
            referrer__in=run.customers().values("pk"),
        )
        .order_by()
        .annotate(
            t_dealership=F("dealership_id"),
            t_customer=F("referrer_id"),
            t_vehicle=NULL_ID,
            t_tier=F("referrer__value_tier"),
            t_advisor=F("referrer__advisor_id"),
            t_event=TruncDate("rewarded_at"),
            t_occasion=occasion("referral-thanks", "pk"),
            t_subject=surname_and_title("referred"),
        )
    )


def referred_context(touches: list) -> dict[int, dict]:
    """``{referred}`` is the touch's subject, written when it was made: no query."""
    return {t.pk: {"referred": t.subject} for t in touches}


DEFAULT_RULES = (
    {
        "name": "推荐答谢",
        "lead_days": 0,
        "expiry_days": 7,
        "message_template": (
            "【{dealership}】{name}{title}，感谢您推荐{referred}成为本店客户！推荐奖励积分已到账，"
            "另有一项免费服务由您挑选，详询{booking_phone}。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}。感谢您推荐{referred}来我们店，"
            "推荐奖励的积分已经到账了。作为答谢，您还可以挑一项免费服务，比如免费洗车或四轮定位，您想选哪一项？"
        ),
        "priority": 50,
    },
)

SPEC = register(
    KindSpec(
        kind="referral_thanks",
        label=gettext_lazy("Club: thanks for a referral"),
        generate=generate,
        context=referred_context,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
