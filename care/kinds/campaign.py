"""Campaign touches (活动关怀): the touches of a manager's measured campaign
(``analytics.Campaign``), one per customer of its treated group; its holdout
gets none.

Two kinds, because the messaging checks read "marketing" from the kind:

- ``campaign``: a marketing touch (seasonal offers, win-back, an uploaded
  list). The campaign draws only customers who agreed to marketing messages,
  and the outbox checks the consent and the frequency cap again when a
  message of the rule is sent.
- ``campaign_service``: a service message about the customer's own car (a
  recall campaign's extra push): no marketing consent needed; an opt-out of
  the kind, or of everything, is honoured as for every kind.

Nothing is due in the morning run: who is in a campaign is the manager's
draw, made once (``analytics.campaigns.campaign_draw`` hands the treated
customers to ``member_rows`` through ``care.engine.services.care_touches_make_now``,
the engine's one ``INSERT … SELECT``). One customer-level touch per customer
and campaign (occasion ``campaign:<campaign id>``, subject the campaign's
name), so drawing again makes nothing twice. A visit of the customer after
the touch was made fulfils it.

Each store gets its rule on demand (``campaign_rule_for``): the store's own
rule of the kind's default name, else the group default installed after
``migrate``, else one made for the store from the defaults (no migration).
"""

import datetime

from django.db import transaction
from django.db.models import CharField, DateField, Exists, OuterRef, Q, QuerySet, Value
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, visits_since_touch_made
from care.registry import KindSpec, register
from care.touches.models import CareRule, CareTask
from crm.models import Dealership
from service.models import RepairOrder

MARKETING = "campaign"
SERVICE = "campaign_service"
PREFIX = "campaign"


def campaign_occasion(campaign_id: int) -> str:
    return f"{PREFIX}:{int(campaign_id)}"


def member_rows(run: Run, *, customers: QuerySet, occasion: str, subject: str, event: datetime.date) -> QuerySet:
    """The touch rows for ``customers`` (a queryset of customer ids, e.g. a
    campaign's treated members) among the run's eligible customers
    (``Run.customers``: the store's active customers of the rule's tiers who
    did not opt out), about ``event``."""
    return (
        run.customers()
        .filter(pk__in=customers)
        .annotate(
            t_event=Value(event, output_field=DateField()),
            t_occasion=Value(occasion, output_field=CharField()),
            t_subject=Value(subject[:200], output_field=CharField()),
        )
    )


def generate(run: Run):
    """The morning run finds nothing to do: a campaign's touches are made when it is drawn."""
    return member_rows(run, customers=[], occasion="", subject="", event=run.day)


def visited(open_touches: QuerySet[CareTask], day: datetime.date) -> QuerySet[CareTask]:
    """The customer came in (an order not voided, opened since the touch was made)."""
    visit = visits_since_touch_made().filter(customer=OuterRef("customer"), voided_at__isnull=True)
    return open_touches.filter(Exists(visit))


@transaction.atomic
def campaign_rule_for(*, dealership: Dealership, kind: str) -> CareRule:
    """The rule whose words and channel the store's campaign touches of
    ``kind`` use: the store's own rule of the default name, else the group
    default, else one made now for the store from the kind's defaults."""
    defaults = dict(_DEFAULTS[kind])
    name = defaults.pop("name")
    own_or_group = Q(dealership=dealership) | Q(dealership__isnull=True)
    rules = {rule.dealership_id: rule for rule in CareRule.objects.filter(own_or_group, kind=kind, name=name)}
    if dealership.pk in rules:
        return rules[dealership.pk]
    if None in rules:
        return rules[None]
    rule, _created = CareRule.objects.get_or_create(dealership=dealership, kind=kind, name=name, defaults=defaults)
    return rule


MARKETING_RULES = (
    {
        "name": "活动关怀",
        "lead_days": 0,
        "expiry_days": 14,
        "message_template": "【{dealership}】{name}{title}，“{item}”活动进行中，欢迎致电{booking_phone}预约。",
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}。我们正在做“{item}”活动，"
            "想邀请您到店看看，您看哪天方便？"
        ),
        "priority": 45,
    },
)
SERVICE_RULES = (
    {
        "name": "服务活动通知",
        "lead_days": 0,
        "expiry_days": 30,
        "message_template": (
            "【{dealership}】{name}{title}，关于“{item}”，您的爱车可到店免费处理，请致电{booking_phone}预约。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}。关于“{item}”，您的爱车可以到店免费处理，"
            "大约需要一小时，请问哪天方便？"
        ),
        "priority": 80,
    },
)
_DEFAULTS = {MARKETING: MARKETING_RULES[0], SERVICE: SERVICE_RULES[0]}

SPEC = register(
    KindSpec(
        kind=MARKETING,
        label=gettext_lazy("Campaign (marketing)"),
        marketing=True,
        generate=generate,
        fulfilled=visited,
        default_rules=MARKETING_RULES,
        module=__name__,
    )
)
SPEC_SERVICE = register(
    KindSpec(
        kind=SERVICE,
        label=gettext_lazy("Campaign (service message)"),
        generate=generate,
        fulfilled=visited,
        appointment_kind=RepairOrder.Kind.WARRANTY,
        default_rules=SERVICE_RULES,
        module=__name__,
    )
)
