"""The figures of the rollups: one function per rule, each a grouped queryset
(the rules are worded in ``analytics.rollups``). ``where`` narrows a source to
the store-days being recomputed (``analytics.rollups.sql.on_days``); the
querysets never leave the database: ``insert_grouped`` wraps them in one
``INSERT … SELECT`` per table."""

import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, ExtractYear, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.models import (
    DETRACTOR_NPS_MAX,
    PROMOTER_NPS_MIN,
    SATISFIED_CSAT_MIN,
    RetentionStats,
    Survey,
    SurveyResponse,
)
from analytics.rollups.sql import on_days
from care.models import CareTask, Channel, Contact
from complaints.models import Complaint
from crm.sql import AddDays, AddMonths
from customers.models import ChurnEvent, Customer
from loyalty.models import MembershipCard
from service.models import InsurancePolicy, RepairOrder
from vehicles.models import Vehicle

Part = tuple[QuerySet, dict[str, str]]

# A policy counts as renewed when another policy of the same car and kind starts
# from this many days before its end to this many days after it (renewals are
# sold in the weeks before the old policy ends; a late one within a month still counts).
RENEWAL_FROM_DAYS_BEFORE = 60
RENEWAL_UNTIL_DAYS_AFTER = 30

# Vehicle age bands (code, at most this many years old; the last band has no bound).
# A car exactly 3 years old is still "1-3", as in analytics.selectors.AgeBand.
AGE_BANDS: list[tuple[str, int | None]] = [("0-1", 1), ("1-3", 3), ("3-5", 5), ("5-8", 8), ("8+", None)]
AGE_BAND_LABELS = {
    "0-1": _("Up to 1 year"),
    "1-3": _("1–3 years"),
    "3-5": _("3–5 years"),
    "5-8": _("5–8 years"),
    "8+": _("Over 8 years"),
}
# "Came back" in the age dimension: a maintenance visit within this many months before the day.
RETURNED_WITHIN_MONTHS = 12

KEYS = {"dealership_id": "k_store", "day": "k_day"}


def local_day(field: str) -> TruncDate:
    """The local (Asia/Shanghai) date of a timestamp, in SQL on SQLite and PostgreSQL alike."""
    return TruncDate(field, tzinfo=timezone.get_default_timezone())


def _count(condition=None) -> Count:
    return Count("pk", filter=condition)


def _money(expression) -> Coalesce:
    return Coalesce(expression, Value(Decimal("0")), output_field=DecimalField(max_digits=14, decimal_places=2))


# --- DailyOrderStats ------------------------------------------------------------

ORDER_KEYS = {
    **KEYS,
    "kind": "k_kind",
    "payer": "k_payer",
    "model_id": "k_model",
    "tier": "k_tier",
}


def counted_orders() -> QuerySet[RepairOrder]:
    """The orders the figures count: closed and not voided."""
    return RepairOrder.objects.filter(closed_at__isnull=False, voided_at__isnull=True)


def order_figures(where: Q) -> list[Part]:
    """Closed, not voided orders by local day of ``opened_at`` (the day the car
    came in), kind, payer, the car's model and the customer's tier now."""
    rows = (
        counted_orders()
        .filter(where)
        .order_by()
        .values(
            k_store=F("dealership_id"),
            k_day=local_day("opened_at"),
            k_kind=F("kind"),
            k_payer=F("payer"),
            k_model=F("vehicle__model_id"),
            k_tier=F("customer__value_tier"),
        )
        .annotate(
            f_visits=_count(),
            f_revenue=_money(Sum("total_amount")),
            f_labor=_money(Sum("labor_amount")),
            f_parts=_money(Sum("parts_amount")),
        )
    )
    return [(rows, {"visits": "f_visits", "revenue": "f_revenue", "labor": "f_labor", "parts": "f_parts"})]


# --- DailyStoreStats ------------------------------------------------------------


def new_customers(where_created: Q) -> Part:
    rows = (
        Customer.objects.filter(where_created)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=local_day("created_at"))
        .annotate(f_new=_count())
    )
    return rows, {"new_customers": "f_new"}


def churn_moves(where_day: Q) -> Part:
    """Churn events of the day (``ChurnEvent.day``) at the customer's store."""
    states = Customer.ChurnState
    rows = (
        ChurnEvent.objects.filter(where_day)
        .order_by()
        .values(k_store=F("customer__dealership_id"), k_day=F("day"))
        .annotate(
            f_at_risk=_count(Q(to_state=states.AT_RISK)),
            f_lost=_count(Q(to_state=states.LOST)),
            f_recovered=_count(Q(recovered=True)),
        )
    )
    return rows, {"at_risk_customers": "f_at_risk", "lost_customers": "f_lost", "recovered_customers": "f_recovered"}


def complaints_received(where_received: Q) -> Part:
    rows = (
        Complaint.objects.filter(where_received)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=local_day("received_at"))
        .annotate(f_complaints=_count())
    )
    return rows, {"complaints": "f_complaints"}


def survey_answers(where_answered: Q) -> Part:
    """CSAT of every answer that has one; NPS split by the survey's kind:
    after a service visit (returning customers) or lapsed customers."""
    post, lapsed = Survey.Kind.POST_SERVICE, Survey.Kind.LAPSED
    nps = Q(nps__isnull=False)
    rows = (
        SurveyResponse.objects.filter(where_answered)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=local_day("answered_at"))
        .annotate(
            f_csat_count=_count(Q(csat__isnull=False)),
            f_csat_sum=Coalesce(Sum("csat"), 0),
            f_csat_satisfied=_count(Q(csat__gte=SATISFIED_CSAT_MIN)),
            f_nps_count=_count(nps & Q(kind=post)),
            f_nps_promoters=_count(Q(kind=post, nps__gte=PROMOTER_NPS_MIN)),
            f_nps_detractors=_count(Q(kind=post, nps__lte=DETRACTOR_NPS_MAX)),
            f_lapsed_count=_count(nps & Q(kind=lapsed)),
            f_lapsed_promoters=_count(Q(kind=lapsed, nps__gte=PROMOTER_NPS_MIN)),
            f_lapsed_detractors=_count(Q(kind=lapsed, nps__lte=DETRACTOR_NPS_MAX)),
        )
    )
    return rows, {
        "csat_count": "f_csat_count",
        "csat_sum": "f_csat_sum",
        "csat_satisfied": "f_csat_satisfied",
        "nps_count": "f_nps_count",
        "nps_promoters": "f_nps_promoters",
        "nps_detractors": "f_nps_detractors",
        "lapsed_nps_count": "f_lapsed_count",
        "lapsed_nps_promoters": "f_lapsed_promoters",
        "lapsed_nps_detractors": "f_lapsed_detractors",
    }


def renewals_of(policy_ref: str = "pk") -> QuerySet[InsurancePolicy]:
    """Policies renewing the outer policy: the same car and kind, a later start
    within the renewal window around the outer policy's end."""
    return InsurancePolicy.objects.filter(
        vehicle_id=OuterRef("vehicle_id"),
        kind=OuterRef("kind"),
        starts_on__gt=OuterRef("starts_on"),
        starts_on__gte=AddDays(OuterRef("ends_on"), Value(-RENEWAL_FROM_DAYS_BEFORE)),
        starts_on__lte=AddDays(OuterRef("ends_on"), Value(RENEWAL_UNTIL_DAYS_AFTER)),
    ).exclude(pk=OuterRef(policy_ref))


def insurance_due(where_ends: Q) -> Part:
    """Policies sold here ending that day (``ends_on``), and those of them renewed."""
    rows = (
        InsurancePolicy.objects.filter(where_ends)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=F("ends_on"))
        .annotate(f_due=_count(), f_renewed=_count(Exists(renewals_of())))
    )
    return rows, {"insurance_due": "f_due", "insurance_renewed": "f_renewed"}


def club_joins(where_from: Q) -> Part:
    """Cards started that day (``valid_from``) that replace no earlier card: a
    join, not an upgrade; a refund later does not take the join back."""
    rows = (
        MembershipCard.objects.filter(where_from, previous__isnull=True)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=F("valid_from"))
        .annotate(f_joins=_count())
    )
    return rows, {"membership_joins": "f_joins"}


def store_figures(ranges) -> list[Part]:
    return [
        new_customers(on_days(ranges, "created_at", timestamp=True)),
        churn_moves(on_days(ranges, "day", store="customer__dealership_id", timestamp=False)),
        complaints_received(on_days(ranges, "received_at", timestamp=True)),
        survey_answers(on_days(ranges, "answered_at", timestamp=True)),
        insurance_due(on_days(ranges, "ends_on", timestamp=False)),
        club_joins(on_days(ranges, "valid_from", timestamp=False)),
    ]


# --- DailyCareStats -------------------------------------------------------------

CARE_KEYS = {**KEYS, "kind": "k_kind", "advisor_id": "k_advisor"}


def touch_contacts(**contact) -> Exists:
    through = Contact.tasks.through
    return Exists(
        through.objects.filter(caretask_id=OuterRef("pk"), **{f"contact__{k}": v for k, v in contact.items()})
    )


def arrived() -> Q:
    """A touch's visit: the order the morning run linked to it, unless voided."""
    return Q(converted_repair_order__isnull=False, converted_repair_order__voided_at__isnull=True)


def care_funnel(where_created: Q) -> list[Part]:
    """Touches by the day whose morning run generated them (``created_on``), kind
    and assigned advisor, down the funnel."""
    visit_revenue = Q(arrived(), converted_repair_order__closed_at__isnull=False)
    rows = (
        CareTask.objects.filter(where_created)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=F("created_on"), k_kind=F("kind"), k_advisor=F("assigned_to_id"))
        .annotate(
            f_generated=_count(),
            f_contacted=_count(touch_contacts()),
            f_reached=_count(touch_contacts(reached=True)),
            f_booked=_count(Q(touch_contacts(appointment__isnull=False)) | Q(outcome=CareTask.Outcome.BOOKED)),
            f_arrived=_count(arrived()),
            f_revenue=_money(Sum("converted_repair_order__total_amount", filter=visit_revenue)),
        )
    )
    return [
        (
            rows,
            {
                "generated": "f_generated",
                "contacted": "f_contacted",
                "reached": "f_reached",
                "booked": "f_booked",
                "arrived": "f_arrived",
                "revenue": "f_revenue",
            },
        )
    ]


def care_window_totals(first: datetime.date, last: datetime.date) -> QuerySet:
    """Touches generated, arrived and their revenue per store-day of a window:
    what the stored funnel is checked against (conversions are linked by the
    morning run without a timestamp to find them by)."""
    visit_revenue = Q(arrived(), converted_repair_order__closed_at__isnull=False)
    return (
        CareTask.objects.filter(created_on__gte=first, created_on__lte=last)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=F("created_on"))
        .annotate(
            generated=_count(),
            arrived=_count(arrived()),
            revenue=_money(Sum("converted_repair_order__total_amount", filter=visit_revenue)),
        )
    )


# --- DailyAdvisorStats ----------------------------------------------------------

ADVISOR_KEYS = {**KEYS, "advisor_id": "k_advisor"}
ADVISOR_FIGURES = ["calls", "reached", "booked", "csat_count", "csat_sum", "csat_satisfied"]


def advisor_calls(where_made: Q) -> Part:
    """Calls an advisor logged (``Contact`` on the phone) by local day."""
    rows = (
        Contact.objects.filter(where_made, channel=Contact.Channel.CALL, advisor__isnull=False)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=local_day("created_at"), k_advisor=F("advisor_id"))
        .annotate(
            f_calls=_count(),
            f_reached=_count(Q(reached=True)),
            f_booked=_count(Q(appointment__isnull=False)),
        )
    )
    return rows, {"calls": "f_calls", "reached": "f_reached", "booked": "f_booked"}


def advisor_csat(where_answered: Q) -> Part:
    """CSAT answers of the advisor's customers (``SurveyResponse.advisor``) by local day,
    and those of them satisfied (SATISFIED_CSAT_MIN or more: the page's % 4–5)."""
    rows = (
        SurveyResponse.objects.filter(where_answered, advisor__isnull=False, csat__isnull=False)
        .order_by()
        .values(k_store=F("dealership_id"), k_day=local_day("answered_at"), k_advisor=F("advisor_id"))
        .annotate(
            f_csat_count=_count(),
            f_csat_sum=Coalesce(Sum("csat"), 0),
            f_csat_satisfied=_count(Q(csat__gte=SATISFIED_CSAT_MIN)),
        )
    )
    return rows, {"csat_count": "f_csat_count", "csat_sum": "f_csat_sum", "csat_satisfied": "f_csat_satisfied"}


def advisor_figures(ranges) -> list[Part]:
    return [
        advisor_calls(on_days(ranges, "created_at", timestamp=True)),
        advisor_csat(on_days(ranges, "answered_at", timestamp=True)),
    ]


def overdue_touches(day: datetime.date) -> Part:
    """Open call touches of each advisor that were on their plan by ``day`` and
    due by then: overdue at the end of ``day`` (as the queue counts them the
    morning after)."""
    rows = (
        CareTask.objects.filter(
            Q(planned_for__isnull=True) | Q(planned_for__lte=day),
            status=CareTask.Status.OPEN,
            channel=Channel.CALL,
            assigned_to__isnull=False,
            due_date__lte=day,
        )
        .order_by()
        .values(k_store=F("dealership_id"), k_advisor=F("assigned_to_id"))
        .annotate(k_day=Value(day, output_field=DateField()), f_overdue=_count())
    )
    return rows, {"overdue": "f_overdue"}


# --- RetentionStats -------------------------------------------------------------

RETENTION_KEYS = {
    "dealership_id": "k_store",
    "dimension": "k_dimension",
    "band": "k_band",
    "model_id": "k_model",
    "as_of": "k_as_of",
}


def age_band(as_of: datetime.date) -> Case:
    whens = [
        When(purchase_date__gte=as_of - relativedelta(years=years), then=Value(code))
        for code, years in AGE_BANDS
        if years is not None
    ]
    return Case(*whens, default=Value(AGE_BANDS[-1][0]), output_field=CharField())


def had_maintenance(number: int) -> Q:
    """The car came in for its ``number``-th maintenance (1, 2 or 3), from the car's
    stored figures, kept nightly from the orders by
    ``service.services.vehicle_service_stats_refresh``: its count of maintenance
    visits here, and for the first two also a recorded first maintenance (one done
    before the store's orders reach the CRM) with a last one later than it."""
    if number == 1:
        return (
            Q(first_maintenance_date__isnull=False)
            | Q(last_maintenance_date__isnull=False)
            | Q(maintenance_count__gte=1)
        )
    if number == 2:
        return Q(first_maintenance_date__isnull=False, last_maintenance_date__gt=F("first_maintenance_date")) | Q(
            maintenance_count__gte=2
        )
    if number == 3:
        return Q(maintenance_count__gte=3)
    raise ValueError(f"The cars keep no figure for maintenance number {number}")


def retention_by_age(as_of: datetime.date) -> Part:
    """Cars in use by age band (from the purchase date), with those that had a
    maintenance visit in the 12 months up to ``as_of``."""
    since = as_of - relativedelta(months=RETURNED_WITHIN_MONTHS)
    rows = (
        Vehicle.objects.filter(status=Vehicle.Status.ACTIVE)
        .order_by()
        .values(
            k_store=F("customer__dealership_id"),
            k_dimension=Value(RetentionStats.Dimension.AGE, output_field=CharField()),
            k_band=age_band(as_of),
            k_model=F("model_id"),
            k_as_of=Value(as_of, output_field=DateField()),
        )
        .annotate(
            f_cars=_count(),
            f_returned=_count(Q(last_maintenance_date__gt=since) | Q(first_maintenance_date__gt=since)),
        )
    )
    return rows, {"cars": "f_cars", "returned": "f_returned"}


def retention_by_maintenance(as_of: datetime.date) -> Part:
    """Cars sold here by purchase year whose first maintenance is due by
    ``as_of`` (the model's months after the purchase), with those that came
    back for the first and second maintenance."""
    rows = (
        Vehicle.objects.filter(sold_here=True)
        .annotate(first_due=AddMonths(F("purchase_date"), F("model__first_maintenance_months")))
        .filter(first_due__lte=as_of)
        .order_by()
        .values(
            k_store=F("customer__dealership_id"),
            k_dimension=Value(RetentionStats.Dimension.MAINTENANCE, output_field=CharField()),
            k_band=Cast(ExtractYear("purchase_date"), CharField()),
            k_model=F("model_id"),
            k_as_of=Value(as_of, output_field=DateField()),
        )
        .annotate(
            f_cars=_count(),
            f_returned=_count(had_maintenance(1)),
            f_returned_2=_count(had_maintenance(2)),
            f_returned_3=_count(had_maintenance(3)),
        )
    )
    return rows, {
        "cars": "f_cars",
        "returned": "f_returned",
        "returned_2": "f_returned_2",
        "returned_3": "f_returned_3",
    }


def conversion_window(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The days whose touches the morning run may still link to a visit."""
    return day - datetime.timedelta(days=settings.CRM_CARE_CONVERSION_DAYS + 2), day
