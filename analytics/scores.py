"""NPS and CSAT: the two survey scores, for a queryset of responses or for the
counts the rollups keep. The cut-offs live in ``analytics.models``."""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet

from analytics.models import DETRACTOR_NPS_MAX, PROMOTER_NPS_MIN, SATISFIED_CSAT_MIN

_ONE_DECIMAL = Decimal("0.1")


def share(part: int, whole: int) -> Decimal | None:
    """``part`` as a percentage of ``whole``, to one decimal; None when nothing was counted."""
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)


def nps_from_counts(*, promoters: int, detractors: int, answers: int) -> Decimal | None:
    """% promoters (9–10) − % detractors (0–6), from −100 to +100; None without answers."""
    if not answers:
        return None
    return (Decimal(100) * (promoters - detractors) / answers).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)


def nps_counts(responses: QuerySet) -> dict[str, int]:
    """Answers, promoters and detractors of the NPS question among ``responses`` (one query)."""
    return responses.aggregate(
        answers=Count("pk", filter=Q(nps__isnull=False)),
        promoters=Count("pk", filter=Q(nps__gte=PROMOTER_NPS_MIN)),
        detractors=Count("pk", filter=Q(nps__lte=DETRACTOR_NPS_MAX)),
    )


def csat_counts(responses: QuerySet) -> dict[str, int]:
    """Answers of the CSAT question among ``responses`` and how many were 4 or 5 (one query)."""
    return responses.aggregate(
        answers=Count("pk", filter=Q(csat__isnull=False)),
        satisfied=Count("pk", filter=Q(csat__gte=SATISFIED_CSAT_MIN)),
    )


def nps(responses: QuerySet) -> Decimal | None:
    """The Net Promoter Score of a queryset of ``SurveyResponse``."""
    return nps_from_counts(**nps_counts(responses))


def csat(responses: QuerySet) -> Decimal | None:
    """The CSAT of a queryset of ``SurveyResponse``: % of the answers that were 4 or 5."""
    counts = csat_counts(responses)
    return share(counts["satisfied"], counts["answers"])
