"""What the survey pages read: a survey by its signed link (the public page,
which learns nothing personal), and the managers' list of answers."""

import dataclasses
import datetime
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from analytics.models import (
    DETRACTOR_CSAT_MAX,
    DETRACTOR_NPS_MAX,
    PROMOTER_NPS_MIN,
    SATISFIED_CSAT_MIN,
    Survey,
    SurveyResponse,
)
from analytics.scores import nps_from_counts, share
from analytics.survey_links import survey_id_from_token
from crm.tenancy import dealership_lookup, scope_for_user

PER_PAGE = 50


class LinkState:
    OPEN = "open"
    UNKNOWN = "unknown"  # tampered, malformed, or no such survey
    ANSWERED = "answered"
    EXPIRED = "expired"


@dataclasses.dataclass(frozen=True)
class PublicSurvey:
    """What the public page may show: the store's name and the visit date, nothing about the customer."""

    state: str
    survey_id: int | None = None
    kind: str = ""
    store_name: str = ""
    visit_date: datetime.date | None = None
    asks_csat: bool = False


def public_survey(*, token: str, now: datetime.datetime | None = None) -> PublicSurvey:
    """The survey a genuine token names, and whether it still takes an answer (one query).

    Only the columns the page needs are read: never the customer's."""
    pk = survey_id_from_token(token)
    if pk is None:
        return PublicSurvey(state=LinkState.UNKNOWN)
    row = (
        Survey.objects.filter(pk=pk, channel=Survey.Channel.SMS)
        .values("pk", "kind", "expires_at", "answered_at", "dealership__name", "repair_order__opened_at")
        .first()
    )
    if row is None:
        return PublicSurvey(state=LinkState.UNKNOWN)
    if row["answered_at"] is not None:
        state = LinkState.ANSWERED
    elif row["expires_at"] <= (now or timezone.now()):
        state = LinkState.EXPIRED
    else:
        state = LinkState.OPEN
    opened = row["repair_order__opened_at"]
    return PublicSurvey(
        state=state,
        survey_id=row["pk"],
        kind=row["kind"],
        store_name=row["dealership__name"],
        visit_date=timezone.localdate(opened) if opened else None,
        asks_csat=row["kind"] == Survey.Kind.POST_SERVICE,
    )


# --- The managers' list of answers -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ResponseFilters:
    start: datetime.date  # answered on or after (local date)
    end: datetime.date  # answered on or before (local date)
    dealership_id: int | None = None
    kind: str = ""
    channel: str = ""
    detractors: bool = False


def detractor_q() -> Q:
    """A detractor's answer: NPS ≤ 6 or CSAT ≤ 2 (the cut-offs of ``analytics.models``)."""
    return Q(nps__lte=DETRACTOR_NPS_MAX) | Q(csat__lte=DETRACTOR_CSAT_MAX)


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def survey_responses(*, user, filters: ResponseFilters) -> QuerySet[SurveyResponse]:
    """The answers ``user`` may see that match ``filters``, newest first."""
    responses = scope_for_user(SurveyResponse.objects.all(), user).filter(
        answered_at__gte=_local_midnight(filters.start),
        answered_at__lt=_local_midnight(filters.end + datetime.timedelta(days=1)),
    )
    if filters.dealership_id:
        responses = responses.filter(**{dealership_lookup(SurveyResponse): filters.dealership_id})
    if filters.kind:
        responses = responses.filter(kind=filters.kind)
    if filters.channel:
        responses = responses.filter(channel=filters.channel)
    if filters.detractors:
        responses = responses.filter(detractor_q())
    return responses


@dataclasses.dataclass
class ResponseSummary:
    answers: int
    detractors: int  # answers with NPS ≤ 6 or CSAT ≤ 2
    nps_answers: int
    nps: Decimal | None
    csat_answers: int
    csat: Decimal | None  # % of the CSAT answers that were 4 or 5


def response_summary(responses: QuerySet[SurveyResponse]) -> ResponseSummary:
    """NPS, CSAT and detractors of the filtered answers (one aggregate query;
    the scores as ``analytics.scores`` computes them)."""
    counts = responses.aggregate(
        answers=Count("pk"),
        detractors=Count("pk", filter=detractor_q()),
        nps_answers=Count("pk", filter=Q(nps__isnull=False)),
        promoters=Count("pk", filter=Q(nps__gte=PROMOTER_NPS_MIN)),
        nps_detractors=Count("pk", filter=Q(nps__lte=DETRACTOR_NPS_MAX)),
        csat_answers=Count("pk", filter=Q(csat__isnull=False)),
        satisfied=Count("pk", filter=Q(csat__gte=SATISFIED_CSAT_MIN)),
    )
    return ResponseSummary(
        answers=counts["answers"],
        detractors=counts["detractors"],
        nps_answers=counts["nps_answers"],
        nps=nps_from_counts(
            promoters=counts["promoters"], detractors=counts["nps_detractors"], answers=counts["nps_answers"]
        ),
        csat_answers=counts["csat_answers"],
        csat=share(counts["satisfied"], counts["csat_answers"]),
    )


def response_page(responses: QuerySet[SurveyResponse], page) -> Page:
    """One page of answers with what the list shows (a fixed number of queries)."""
    ordered = responses.select_related("dealership", "customer", "repair_order", "advisor", "asked_by").order_by(
        "-answered_at", "-pk"
    )
    return Paginator(ordered, PER_PAGE).get_page(page)
