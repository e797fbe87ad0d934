"""What changes surveys: the daily invitations by SMS, a customer answering
their link, a call's answers, the manager's follow-up of a detractor, and an
answer raised as a complaint.

Who is invited (each rule of care's ``survey_invite`` kind sends one survey,
for the stores it governs; a store turns the SMS surveys off with its own rule,
disabled):

- **After a service visit** (``Survey.Kind.POST_SERVICE``), the day after:
  each customer with a repair order closed (not voided, not internal) the day
  before at their own store gets one survey, about their last such order;
  not a customer whose order gets the post-repair day-3 call (that call asks
  the questions), nor one with any survey in the last ``SURVEY_EVERY_DAYS``
  (any kind, SMS or call).
- **Lapsed customers** (``Survey.Kind.LAPSED``): at-risk and lost customers,
  the recommend question only, at most ``CRM_SURVEY_LAPSED_PER_DAY`` a store
  and day (the most recently lapsed first), never twice within
  ``LAPSED_EVERY_DAYS``, nor within ``SURVEY_EVERY_DAYS`` of any survey, nor
  while a win-back call is open (that call asks it).

Both only for active customers with a usable mobile (not reported wrong), in
the rule's tiers and not opted out of the kind or of SMS (``Run.customers``).
The candidates are chosen and written in one ``INSERT … SELECT`` per rule
(per store for the lapsed, for the cap); the unique (repair order, kind) of a
survey and the windows make a second run create nothing. Then each new
survey's touch (its link signed in Python: the one loop, bounded by a day's
surveys and done in slices of ``_LINK_CHUNK``) and its message are made
through care (``care_touches_make_now``, ``outbox_enqueue``): a service
message, no marketing consent needed.
"""

import dataclasses
import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from analytics.models import Survey, SurveyResponse
from analytics.survey_links import SURVEY_VALID, survey_link
from care.engine.services import care_touches_make_now, effective_rules
from care.kinds import detractor_followup, post_repair, survey_invite
from care.kinds.base import NULL_ID, Run, occasion
from care.messaging.services import outbox_enqueue
from care.registry import CareKind
from care.touches.models import CareTask, Channel
from complaints.models import Complaint, ComplaintCategory
from complaints.services import complaint_open
from crm.models import Dealership, User
from crm.sql import insert_select
from crm.validators import MOBILE_RE
from customers.models import Customer
from service.models import RepairOrder

logger = logging.getLogger(__name__)

# At most one survey per customer in this many days, whatever its kind or channel.
SURVEY_EVERY_DAYS = 30
# A lapsed customer is asked again after this many days at the soonest.
LAPSED_EVERY_DAYS = 180
# Links signed per statement when the day's touches are made.
_LINK_CHUNK = 200
# The category of a case raised from a survey answer: the catch-all, the handler sorts it.
COMPLAINT_CATEGORY = "other"

Kind, SurveyChannel = Survey.Kind, Survey.Channel


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# --- The daily invitations ---------------------------------------------------------------------


@dataclasses.dataclass
class InvitationReport:
    day: datetime.date
    post_service: int = 0  # after-service surveys made
    lapsed: int = 0  # lapsed customers' surveys made
    touches: int = 0  # their SMS touches made
    queued: int = 0  # messages queued (or suppressed at once by the outbox's checks)


def _reachable(run: Run) -> QuerySet[Customer]:
    """The rule's customers (active, in its tiers, not opted out) with a mobile we may text."""
    return run.customers().filter(phone_wrong=False, phone__regex=MOBILE_RE.pattern)


def _surveyed_since(since: datetime.datetime, *, customer: str, kind: str | None = None) -> Exists:
    surveys = Survey.objects.filter(customer_id=OuterRef(customer), sent_at__gte=since)
    return Exists(surveys.filter(kind=kind) if kind else surveys)


def _gets_the_day3_call(day: datetime.date, start: datetime.datetime, end: datetime.datetime) -> Q:
    """Orders closed in [start, end) that a post-repair call rule will call about
    (its own generator says which: kinds, tiers, opt-outs, cars in use)."""
    called = Q(pk__in=[])
    for rule, store_ids in effective_rules(kinds=[CareKind.POST_REPAIR_DAY3]):
        if rule.channel != Channel.CALL:
            continue
        orders = post_repair.generate(Run(rule=rule, day=day, dealership_ids=store_ids))
        called |= Q(customer_id__in=orders.filter(closed_at__gte=start, closed_at__lt=end).values("customer_id"))
    return called


def _survey_columns(*, kind: str, now: datetime.datetime, order: F | None) -> dict:
    return {
        "s_kind": Value(kind, output_field=CharField()),
        "s_channel": Value(SurveyChannel.SMS, output_field=CharField()),
        "s_sent": Value(now, output_field=DateTimeField()),
        "s_expires": Value(now + SURVEY_VALID, output_field=DateTimeField()),
        "s_order": order if order is not None else NULL_ID,
    }


_INSERTED = {
    "dealership_id": "s_dealership",
    "customer_id": "s_customer",
    "repair_order_id": "s_order",
    "kind": "s_kind",
    "channel": "s_channel",
    "sent_at": "s_sent",
    "expires_at": "s_expires",
}


def _post_service_surveys(run: Run, now: datetime.datetime) -> int:
    """One INSERT … SELECT: the after-service surveys of the run's stores (see the module)."""
    start, end = _local_midnight(run.day - datetime.timedelta(days=1)), _local_midnight(run.day)
    closed = RepairOrder.objects.filter(
        closed_at__gte=start, closed_at__lt=end, voided_at__isnull=True, dealership_id=F("customer__dealership_id")
    ).exclude(payer=RepairOrder.Payer.INTERNAL)
    # Every kind, said out loud: with it the (dealership, kind, closed_at) index
    # answers the day's range, instead of a scan of the store's whole history.
    closed = closed.filter(kind__in=RepairOrder.Kind.values)
    last_of_customer = closed.filter(customer_id=OuterRef("customer_id")).order_by("-closed_at", "-pk").values("pk")
    orders = (
        closed.filter(dealership_id__in=run.dealership_ids, customer__in=_reachable(run).values("pk"))
        .filter(pk=Subquery(last_of_customer[:1]))
        .exclude(_surveyed_since(now - datetime.timedelta(days=SURVEY_EVERY_DAYS), customer="customer_id"))
        .exclude(_gets_the_day3_call(run.day, start, end))
        .order_by()
        .annotate(
            s_dealership=F("dealership_id"),
            s_customer=F("customer_id"),
            **_survey_columns(kind=Kind.POST_SERVICE, now=now, order=F("pk")),
        )
    )
    return insert_select(Survey, orders, _INSERTED)


def _lapsed_surveys(run: Run, now: datetime.datetime) -> int:
    """Per store (the cap is a store's), one INSERT … SELECT of the lapsed customers' surveys."""
    cap = settings.CRM_SURVEY_LAPSED_PER_DAY
    day_start = _local_midnight(timezone.localdate(now))
    # Two runs at once wait for each other here, then see each other's rows: the windows hold.
    stores = list(
        Dealership.objects.select_for_update()
        .filter(pk__in=run.dealership_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent_today = dict(
        Survey.objects.filter(dealership_id__in=stores, kind=Kind.LAPSED, channel=SurveyChannel.SMS)
        .filter(sent_at__gte=day_start)
        .values("dealership_id")
        .annotate(n=Count("pk"))
        .values_list("dealership_id", "n")
    )
    open_winback = CareTask.objects.filter(
        customer_id=OuterRef("pk"), kind=CareKind.WINBACK, status=CareTask.Status.OPEN
    )
    lapsed = (
        _reachable(run)
        .filter(churn_state__in=[Customer.ChurnState.AT_RISK, Customer.ChurnState.LOST])
        .exclude(_surveyed_since(now - datetime.timedelta(days=SURVEY_EVERY_DAYS), customer="pk"))
        .exclude(_surveyed_since(now - datetime.timedelta(days=LAPSED_EVERY_DAYS), customer="pk", kind=Kind.LAPSED))
        .exclude(Exists(open_winback))
    )
    made = 0
    for store in stores:  # the run's stores: a handful
        room = cap - sent_today.get(store, 0)
        if room <= 0:
            continue
        picked = lapsed.filter(dealership_id=store).order_by(F("last_visit_date").desc(nulls_last=True), "pk")
        rows = (
            Customer.objects.filter(pk__in=Subquery(picked.values("pk")[:room]))
            .order_by()
            .annotate(
                s_dealership=F("dealership_id"),
                s_customer=F("pk"),
                **_survey_columns(kind=Kind.LAPSED, now=now, order=None),
            )
        )
        made += insert_select(Survey, rows, _INSERTED)
    return made


def _has_touch() -> Exists:
    """The survey's SMS touch exists (its occasion names the survey)."""
    return Exists(
        CareTask.objects.filter(
            customer_id=OuterRef("customer_id"),
            kind=CareKind.SURVEY_INVITE,
            occasion=occasion(survey_invite.PREFIX, OuterRef("pk")),
        )
    )


def _invitation_rows(run: Run, *, links: dict[int, str]) -> QuerySet[Survey]:
    """The touch rows of the surveys ``links`` names that the run's rule sends
    (its ``survey``) and that have no touch yet, for customers the rule may
    still text; the link is the touch's subject (``{survey_link}``)."""
    which = survey_invite.rule_survey(run.params)
    link = Case(
        *(When(pk=pk, then=Value(url)) for pk, url in links.items()), default=Value(""), output_field=CharField()
    )
    return (
        Survey.objects.filter(pk__in=list(links), kind=which, dealership_id__in=run.dealership_ids)
        .filter(customer__in=_reachable(run).values("pk"))
        .exclude(_has_touch())
        .order_by()
        .annotate(
            t_dealership=F("dealership_id"),
            t_customer=F("customer_id"),
            t_vehicle=F("repair_order__vehicle_id"),
            t_tier=F("customer__value_tier"),
            t_advisor=F("customer__advisor_id"),
            t_event=Value(run.day, output_field=DateField()),
            t_occasion=occasion(survey_invite.PREFIX, "pk"),
            t_subject=link,
            t_repair_order=F("repair_order_id"),
        )
    )


def _invitations_queue(*, stores: set[int], day: datetime.date, now: datetime.datetime) -> tuple[int, int]:
    """The SMS touch and message of each of the day's unanswered SMS surveys
    of ``stores`` that has none yet (a rerun after a failure picks up where it stopped)."""
    pending = (
        Survey.objects.filter(dealership_id__in=stores, sent_at__gte=_local_midnight(day))
        .filter(sent_at__lt=_local_midnight(day + datetime.timedelta(days=1)))
        .filter(channel=SurveyChannel.SMS, answered_at__isnull=True)
        .exclude(_has_touch())
        .order_by("dealership_id", "pk")
        .values_list("dealership_id", "pk")
    )
    by_store: dict[int, list[int]] = {}
    for store, pk in pending:
        by_store.setdefault(store, []).append(pk)
    made = 0
    for store, ids in by_store.items():
        # Signing is Python's: one statement per slice of a day's surveys.
        for start in range(0, len(ids), _LINK_CHUNK):
            links = {pk: survey_link(pk) for pk in ids[start : start + _LINK_CHUNK]}
            made += care_touches_make_now(
                kind=CareKind.SURVEY_INVITE,
                dealership_id=store,
                narrow=Q(),
                now=now,
                rows=lambda run, links=links: _invitation_rows(run, links=links),
            )
    queued = outbox_enqueue(
        now=now, tasks=CareTask.objects.filter(kind=CareKind.SURVEY_INVITE, created_on=timezone.localdate(now))
    )
    return made, queued


def survey_invitations_send(*, day: datetime.date, now: datetime.datetime | None = None) -> InvitationReport:
    """The day's survey invitations (see the module): the surveys, their SMS
    touches and messages, in one transaction. Safe to rerun for the day."""
    now = now or timezone.now()
    report = InvitationReport(day=day)
    stores: set[int] = set()
    with transaction.atomic():
        for rule, store_ids in effective_rules(kinds=[CareKind.SURVEY_INVITE]):
            stores.update(store_ids)
            run = Run(rule=rule, day=day, dealership_ids=store_ids)
            which = survey_invite.rule_survey(rule.params)
            if which == Kind.POST_SERVICE:
                report.post_service += _post_service_surveys(run, now)
            elif which == Kind.LAPSED:
                report.lapsed += _lapsed_surveys(run, now)
        report.touches, report.queued = _invitations_queue(stores=stores, day=timezone.localdate(now), now=now)
    logger.info("survey invitations", extra={"survey_report": dataclasses.asdict(report) | {"day": str(day)}})
    return report


# --- Answers ---------------------------------------------------------------------------------


class SurveyClosed(Exception):
    """The link can take no answer: it was answered, or its time is up."""

    ANSWERED = "answered"
    EXPIRED = "expired"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _answer_errors(*, kind: str, csat, nps, comment: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if csat is not None and (isinstance(csat, bool) or not isinstance(csat, int) or not 1 <= csat <= 5):
        errors["csat"] = [_("Choose a score from 1 to 5.")]
    if nps is not None and (isinstance(nps, bool) or not isinstance(nps, int) or not 0 <= nps <= 10):
        errors["nps"] = [_("Choose a score from 0 to 10.")]
    if kind == Kind.LAPSED and csat is not None:
        errors["csat"] = [_("This survey asks only how likely you are to recommend us.")]
    if not errors and csat is None and nps is None:
        errors["__all__"] = [_("Please answer at least one question.")]
    if len(comment) > 1000:
        errors["comment"] = [_("Please keep the comment under 1000 characters.")]
    return errors


def _advisor_of(*, order: RepairOrder | None, customer_id: int) -> int | None:
    """The advisor whose customer answered: the order's, else the customer's."""
    if order is not None and order.advisor_id:
        return order.advisor_id
    return Customer.objects.filter(pk=customer_id).values_list("advisor_id", flat=True).first()


def survey_open(*, survey: Survey, now: datetime.datetime | None = None) -> None:
    """The customer opened the link: the first time is kept."""
    Survey.objects.filter(pk=survey.pk, opened_at__isnull=True).update(opened_at=now or timezone.now())


def survey_answer(
    *, survey: Survey, csat: int | None, nps: int | None, comment: str, now: datetime.datetime | None = None
) -> SurveyResponse:
    """The customer's answer to their link: one ``SurveyResponse``, and the link
    used up (``answered_at``). The survey row is locked, so two submits at once
    make one answer; the second gets ``SurveyClosed(ANSWERED)``, a link past its
    time ``SurveyClosed(EXPIRED)``. Raises ValidationError by field for a bad
    score. A detractor's answer with a comment makes the manager's follow-up."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    with transaction.atomic():
        locked = Survey.objects.select_for_update(of=("self",)).select_related("repair_order").get(pk=survey.pk)
        if locked.answered_at is not None:
            raise SurveyClosed(SurveyClosed.ANSWERED)
        if locked.expires_at <= now:
            raise SurveyClosed(SurveyClosed.EXPIRED)
        errors = _answer_errors(kind=locked.kind, csat=csat, nps=nps, comment=comment)
        if errors:
            raise ValidationError(errors)
        response = SurveyResponse.objects.create(
            survey=locked,
            dealership_id=locked.dealership_id,
            customer_id=locked.customer_id,
            repair_order=locked.repair_order,
            advisor_id=_advisor_of(order=locked.repair_order, customer_id=locked.customer_id),
            kind=locked.kind,
            channel=locked.channel,
            csat=csat,
            nps=nps,
            comment=comment,
            answered_at=now,
        )
        locked.answered_at = now
        locked.opened_at = locked.opened_at or now
        locked.save(update_fields=["answered_at", "opened_at"])
        survey_detractor_followup(response=response, now=now)
    survey.answered_at = now
    return response


def survey_record_call(
    *,
    contact,
    tasks: list[CareTask],
    survey: str,
    csat: int | None,
    nps: int | None,
    comment: str,
    by: User | None,
    now: datetime.datetime,
) -> SurveyResponse:
    """A call's answers (``care.signals.call_survey_answered``): a survey asked
    on the call (``Survey.Channel.CALL``, answered at once) and its response,
    with the call as its contact and the caller as ``asked_by``. A post-repair
    call's survey is about the touch's repair order; an SMS survey of that
    order not yet answered is answered by the call instead (one survey per
    order and kind). Runs in the call's transaction."""
    kind = Kind(survey)  # ValueError for a survey this app does not know
    errors = _answer_errors(kind=kind, csat=csat, nps=nps, comment=comment or "")
    if errors:
        raise ValidationError(errors)
    order_id = next(
        (t.repair_order_id for t in tasks if t.kind == CareKind.POST_REPAIR_DAY3 and t.repair_order_id), None
    )
    order = RepairOrder.objects.filter(pk=order_id).first() if kind == Kind.POST_SERVICE and order_id else None
    row = None
    if order is not None:
        row = Survey.objects.select_for_update().filter(repair_order=order, kind=kind).first()
    if row is None:
        row = Survey.objects.create(
            dealership_id=contact.dealership_id,
            customer_id=contact.customer_id,
            repair_order=order,
            kind=kind,
            channel=SurveyChannel.CALL,
            sent_at=now,
            expires_at=now + SURVEY_VALID,
            opened_at=now,
            answered_at=now,
        )
    elif row.answered_at is None:
        row.answered_at, row.opened_at = now, row.opened_at or now
        row.save(update_fields=["answered_at", "opened_at"])
    else:
        row = None  # the customer answered the link already: the call's answers stand on their own
    response = SurveyResponse.objects.create(
        survey=row,
        dealership_id=contact.dealership_id,
        customer_id=contact.customer_id,
        repair_order=order,
        advisor_id=_advisor_of(order=order, customer_id=contact.customer_id),
        asked_by=by,
        contact=contact,
        kind=kind,
        channel=SurveyChannel.CALL,
        csat=csat,
        nps=nps,
        comment=(comment or "").strip(),
        answered_at=now,
    )
    survey_detractor_followup(response=response, now=now)
    return response


def survey_detractor_followup(*, response: SurveyResponse, now: datetime.datetime | None = None) -> int:
    """A detractor's answer (``SurveyResponse.is_detractor``) that says why (a
    comment): the store manager's follow-up call (care's
    ``detractor_followup``), one per answer; returns how many touches were made."""
    if not (response.is_detractor and response.comment.strip()):
        return 0
    return care_touches_make_now(
        kind=CareKind.DETRACTOR_FOLLOWUP,
        dealership_id=response.dealership_id,
        narrow=Q(),
        now=now,
        rows=lambda run: detractor_followup.followup_rows(
            run,
            customer_id=response.customer_id,
            response_id=response.pk,
            comment=response.comment,
            repair_order_id=response.repair_order_id,
        ),
    )


# --- Raising an answer as a complaint ---------------------------------------------------------


def response_complaints(responses: list[SurveyResponse]) -> dict[int, Complaint]:
    """The case raised from each of ``responses`` (one query), by response id."""
    ids = [r.complaint_id for r in responses if r.complaint_id]
    if not ids:
        return {}
    cases = {c.pk: c for c in Complaint.objects.filter(pk__in=ids).only("pk", "number", "status", "customer_id")}
    return {r.pk: cases[r.complaint_id] for r in responses if r.complaint_id in cases}


def _complaint_category() -> ComplaintCategory:
    category = ComplaintCategory.objects.filter(code=COMPLAINT_CATEGORY, active=True).first()
    category = category or ComplaintCategory.objects.filter(active=True).first()
    if category is None:
        raise ValidationError(_("No complaint category is in use: ask an administrator to add one."))
    return category


def survey_response_raise_complaint(*, response: SurveyResponse, by: User) -> tuple[Complaint, bool]:
    """Open a complaint case from an answer, with its comment as the
    description: from the online survey page (an SMS link) or a follow-up
    call. Returns (case, opened); an answer raised before returns its case
    (the response is locked, so two clicks at once open one). Raises
    ValidationError for an answer without a comment."""
    with transaction.atomic():
        locked = (
            SurveyResponse.objects.select_for_update(of=("self",))
            .select_related("customer", "repair_order")
            .get(pk=response.pk)
        )
        if locked.complaint_id is not None:
            return Complaint.objects.get(pk=locked.complaint_id), False
        if not locked.comment.strip():
            raise ValidationError(_("This answer has no comment to raise as a complaint."))
        channel = (
            Complaint.Channel.ONLINE_FORM if locked.channel == SurveyChannel.SMS else Complaint.Channel.FOLLOW_UP_CALL
        )
        # Text stored in the database is in the store's language, not the manager's.
        with translation.override(settings.LANGUAGE_CODE):
            scores = _("From the satisfaction survey of %(date)s (CSAT %(csat)s, NPS %(nps)s)") % {
                "date": timezone.localdate(locked.answered_at).isoformat(),
                "csat": "—" if locked.csat is None else locked.csat,
                "nps": "—" if locked.nps is None else locked.nps,
            }
        case = complaint_open(
            customer=locked.customer,
            channel=channel,
            category=_complaint_category(),
            severity=Complaint.Severity.NORMAL,
            description=f"{locked.comment.strip()}\n\n{scores}",
            by=by,
            repair_order=locked.repair_order,
        )
        locked.complaint = case
        locked.save(update_fields=["complaint"])
    return case, True
