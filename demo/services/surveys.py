"""The demo's survey answers: one morning a fortnight (``SURVEY_EVERY_DAYS``) of the
last ``SURVEY_DAYS``, the invitations sent by the real service (``analytics.surveys``: who is asked, the 30-day and
180-day rules, the lapsed cap), then a share of the links answered through
``survey_answer`` the day after, as customers would have tapped them.

One loop over the answered links (a few hundred for the default demo), never
over the customers. The invitations of past mornings queue their SMS in the
outbox as they would have; the sender lets those past their touch's expiry go
as expired rather than send them late."""

import copy
import datetime

from django.utils import timezone

from analytics.models import DETRACTOR_CSAT_MAX, DETRACTOR_NPS_MAX, Survey
from analytics.surveys.services import survey_answer, survey_invitations_send
from care.registry import CareKind
from care.touches.models import CareRule
from crm.models import Dealership
from demo import data
from service.models import RepairOrder


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _maintenance_asked_by_sms(store: Dealership) -> None:
    """The store's own day-3 call rule, without maintenance visits: their
    customers get the SMS link instead (the call asks the customers of repairs).
    The other stores keep the group's rule, which calls after maintenance too."""
    for group_rule in CareRule.objects.filter(dealership=None, kind=CareKind.POST_REPAIR_DAY3):
        rule = copy.copy(group_rule)
        params = dict(rule.params or {})
        kinds = params.get("repair_order_kinds") or []
        params["repair_order_kinds"] = [k for k in kinds if k != RepairOrder.Kind.MAINTENANCE]
        rule.pk, rule.id, rule.dealership, rule.params = None, None, store, params
        rule.save()


def survey_history(builder) -> int:
    """Send the invitations of the last mornings and answer some; the number answered."""
    _maintenance_asked_by_sms(Dealership.objects.get(code=data.SURVEY_BY_SMS_STORE))
    today = builder.today
    first = today - datetime.timedelta(days=data.SURVEY_DAYS)
    for offset in range(data.SURVEY_DAYS, 0, -data.SURVEY_EVERY_DAYS):
        day = today - datetime.timedelta(days=offset)
        survey_invitations_send(day=day, now=_at(day, 10))
    answered = 0
    with builder.side_stream("surveys"):
        rng = builder.rng
        for survey in Survey.objects.filter(sent_at__gte=_at(first, 0), sent_at__lt=_at(today, 0)).order_by("pk"):
            if rng.random() >= data.SURVEY_ANSWERED[survey.kind]:
                continue
            nps = int(builder.pick(data.SURVEY_NPS[survey.kind]))
            csat = int(builder.pick(data.SURVEY_CSAT)) if survey.kind == Survey.Kind.POST_SERVICE else None
            unhappy = nps <= DETRACTOR_NPS_MAX or (csat is not None and csat <= DETRACTOR_CSAT_MAX)
            comment = ""
            if rng.random() < data.SURVEY_COMMENT_SHARE["detractor" if unhappy else "other"]:
                comment = rng.choice(data.SURVEY_COMMENTS_UNHAPPY if unhappy else data.SURVEY_COMMENTS_HAPPY)
            minutes = rng.randint(20, 60 * 30)
            answered_at = min(survey.sent_at + datetime.timedelta(minutes=minutes), _at(today, 0))
            survey_answer(survey=survey, csat=csat, nps=nps, comment=comment, now=answered_at)
            answered += 1
    return answered
