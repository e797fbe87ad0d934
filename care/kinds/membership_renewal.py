"""The club card's renewal (会员续费提醒): before an active card's
``valid_until`` (30 days by default, when the club's renewal window opens), a
call by default, or a message if the rule says so, with ``{card_level}``,
``{card_number}`` and ``{valid_until}``.

One touch per card and expiry (occasion ``membership-renewal:<card id>:<valid
until>``). Renewing moves the card's ``valid_until`` on, which closes the touch
as fulfilled the next morning (so does an upgrade, which replaces the card);
a card not renewed lapses the day after expiry, when the touch expires.
"""

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy

from care.kinds.base import NULL_ID, Run, occasion, window
from care.kinds.club import card_context
from care.registry import KindSpec, register
from care.touches.models import CareTask
from loyalty.models import MembershipCard


def generate(run: Run):
    return (
        MembershipCard.objects.filter(
            dealership_id__in=run.dealership_ids,
            status=MembershipCard.Status.ACTIVE,
            valid_until__range=window(run),
            customer__in=run.customers().values("pk"),
        )
        .order_by()
        .annotate(
            t_dealership=F("dealership_id"),
            t_customer=F("customer_id"),
            t_vehicle=NULL_ID,
            t_tier=F("customer__value_tier"),
            t_advisor=F("customer__advisor_id"),
            t_event=F("valid_until"),
            t_occasion=occasion("membership-renewal", "pk", "valid_until"),
            t_subject=F("number"),
        )
    )


def renewed(open_touches: QuerySet[CareTask], day) -> QuerySet[CareTask]:
    """The card now runs past the date the touch was about (renewed), or an upgrade replaced it."""
    card = MembershipCard.objects.filter(dealership_id=OuterRef("dealership_id"), number=OuterRef("subject"))
    moved_on = Q(valid_until__gt=OuterRef("event_date")) | Q(status=MembershipCard.Status.REPLACED)
    return open_touches.filter(Exists(card.filter(moved_on)))


DEFAULT_RULES = (
    {
        "name": "会员卡续费提醒",
        "lead_days": 30,
        "expiry_days": 0,
        "message_template": (
            "【{dealership}】{name}{title}，您的{card_level}（卡号{card_number}）将于{valid_until}到期，"
            "到期前续费可保留积分和会员权益，详询{booking_phone}。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}。您的{card_level}（卡号{card_number}）"
            "将于{valid_until}到期，到期后积分会清零、权益失效。现在续费可以保留积分，"
            "您看方便的时候来店里办一下，或者我帮您预约个时间？"
        ),
        "priority": 55,
    },
)

SPEC = register(
    KindSpec(
        kind="membership_renewal",
        label=gettext_lazy("Club: card renewal"),
        generate=generate,
        fulfilled=renewed,
        context=card_context,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
