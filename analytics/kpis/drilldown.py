"""The customers behind a number (drill-down)."""

import dataclasses
import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.kpis._common import KpiFilters, by_store
from analytics.models import (
    DETRACTOR_NPS_MAX,
    PROMOTER_NPS_MIN,
    RetentionStats,
    Survey,
    SurveyResponse,
)
from analytics.rollups.figures import (
    RETURNED_WITHIN_MONTHS,
    age_band,
    arrived,
    counted_orders,
    had_maintenance,
    renewals_of,
    touch_contacts,
)
from care.models import CareTask, Channel, Contact
from complaints.models import Complaint
from crm.models import Dealership
from crm.sql import AddMonths
from crm.tenancy import scope_for_user
from customers.models import ChurnEvent, Customer, TierSnapshot
from loyalty.models import MembershipCard
from service.models import InsurancePolicy
from vehicles.models import Vehicle

# --- The customers behind a number (drill-down) ---------------------------------------------------
# The one live read of these pages: the customers behind a figure, from the source rows the
# rollups count, filtered on indexed columns (repair orders by store and opening time, churn
# events by day, survey responses by store and answer time…) and paginated by the view.


class Metric:
    VISITS = "visits"
    NEW = "new"
    AT_RISK = "at_risk"
    LOST = "lost"
    RECOVERED = "recovered"
    COMPLAINTS = "complaints"
    CSAT = "csat"
    NPS = "nps"
    PROMOTERS = "promoters"
    PASSIVES = "passives"
    DETRACTORS = "detractors"
    INSURANCE_DUE = "insurance_due"
    INSURANCE_RENEWED = "insurance_renewed"
    JOINS = "joins"
    CARE = "care"
    CALLS = "calls"
    OVERDUE = "overdue"
    TIER = "tier"
    SNAPSHOT = "snapshot"
    CARS = "cars"

    choices = [
        (VISITS, _("Customers with returning visits")),
        (NEW, _("New customers")),
        (AT_RISK, _("Customers who turned at risk")),
        (LOST, _("Customers lost")),
        (RECOVERED, _("Customers recovered")),
        (COMPLAINTS, _("Customers who complained")),
        (CSAT, _("Customers who gave a CSAT answer")),
        (NPS, _("Customers who gave an NPS answer")),
        (PROMOTERS, _("Promoters (NPS 9–10)")),
        (PASSIVES, _("Passives (NPS 7–8)")),
        (DETRACTORS, _("Detractors (NPS 0–6)")),
        (INSURANCE_DUE, _("Customers whose policy was ending")),
        (INSURANCE_RENEWED, _("Customers who renewed their policy here")),
        (JOINS, _("Customers who started a club card")),
        (CARE, _("Customers of the care touches")),
        (CALLS, _("Customers called")),
        (OVERDUE, _("Customers with touches overdue now")),
        (TIER, _("Active customers of the tier")),
        (SNAPSHOT, _("Customers of the tier in the month's snapshot")),
        (CARS, _("Owners of the cars")),
    ]
    # The metrics whose source rows carry a car model and the customer's tier.
    WITH_DIMENSIONS = frozenset({VISITS, CARS, TIER, SNAPSHOT})


class SurveyGroup:
    RETURNING = "returning"
    LAPSED = "lapsed"
    ALL = "all"

    choices = [
        (RETURNING, _("returning customers")),
        (LAPSED, _("lapsed customers")),
        (ALL, _("returning and lapsed customers")),
    ]


# An advisor id, or this for the touches and calls of nobody in particular.
NO_ADVISOR = "none"


@dataclasses.dataclass(frozen=True)
class DrillFilters:
    metric: str
    period: KpiFilters
    kind: str | None = None
    payer: str | None = None
    advisor: int | str | None = None  # a user id, or NO_ADVISOR
    stage: str | None = None
    group: str | None = None
    dimension: str | None = None
    band: str | None = None
    returned: int | None = None


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def drill_store_ids(*, user, filters: KpiFilters) -> list[int]:
    """The stores to read, as literal ids, so that the source tables' (store, time) indexes serve
    the read for a group too. A store's user reads their store (no query); a group-level user the
    chosen store or every store in their scope (one query)."""
    if not user.is_group_level:
        return [user.dealership_id] if user.dealership_id else []
    stores = scope_for_user(Dealership.objects.all(), user)
    if filters.dealership_id is not None:
        stores = stores.filter(pk=filters.dealership_id)
    return list(stores.values_list("pk", flat=True))


def _advisor_q(field: str, advisor) -> Q:
    if advisor is None:
        return Q()
    if advisor == NO_ADVISOR:
        return Q(**{f"{field}__isnull": True})
    return Q(**{field: advisor})


def _survey_rows(drill: DrillFilters, stores: list[int], start, until) -> QuerySet:
    rows = SurveyResponse.objects.filter(dealership_id__in=stores, answered_at__gte=start, answered_at__lt=until)
    # NPS: the returning customers answer the post-service survey, the lapsed ones the lapsed
    # survey. CSAT counts every answer.
    group = SurveyGroup.ALL if drill.metric == Metric.CSAT else drill.group or SurveyGroup.RETURNING
    if group == SurveyGroup.RETURNING:
        rows = rows.filter(kind=Survey.Kind.POST_SERVICE)
    elif group == SurveyGroup.LAPSED:
        rows = rows.filter(kind=Survey.Kind.LAPSED)
    rows = rows.filter(_advisor_q("advisor_id", drill.advisor))
    answer = {
        Metric.CSAT: Q(csat__isnull=False),
        Metric.NPS: Q(nps__isnull=False),
        Metric.PROMOTERS: Q(nps__gte=PROMOTER_NPS_MIN),
        Metric.PASSIVES: Q(nps__gt=DETRACTOR_NPS_MAX, nps__lt=PROMOTER_NPS_MIN),
        Metric.DETRACTORS: Q(nps__lte=DETRACTOR_NPS_MAX),
    }[drill.metric]
    return rows.filter(answer)


def _care_rows(drill: DrillFilters, stores: list[int]) -> QuerySet:
    period = drill.period
    rows = CareTask.objects.filter(dealership_id__in=stores, created_on__gte=period.start, created_on__lt=period.until)
    if drill.kind:
        rows = rows.filter(kind=drill.kind)
    rows = rows.filter(_advisor_q("assigned_to_id", drill.advisor))
    return rows.filter(care_stage(drill.stage or "generated"))


def care_stage(stage: str) -> Q:
    """The touches that reached a stage of the funnel, as analytics.rollups counts them."""
    if stage == "generated":
        return Q()
    if stage == "contacted":
        return Q(touch_contacts())
    if stage == "reached":
        return Q(touch_contacts(reached=True))
    if stage == "booked":
        return Q(touch_contacts(appointment__isnull=False)) | Q(outcome=CareTask.Outcome.BOOKED)
    if stage == "arrived":
        return arrived()
    raise ValueError(f"Unknown stage {stage!r}")


def drill_customer_ids(*, user, drill: DrillFilters, today: datetime.date) -> QuerySet:
    """The ids of the customers behind ``drill`` (a subquery: ``customer_id`` values)."""
    period = drill.period
    stores = drill_store_ids(user=user, filters=period)
    start, until = _local_midnight(period.start), _local_midnight(period.until)
    metric = drill.metric
    if metric == Metric.VISITS:
        orders = counted_orders().filter(dealership_id__in=stores, opened_at__gte=start, opened_at__lt=until)
        if drill.kind:
            orders = orders.filter(kind=drill.kind)
        if drill.payer:
            orders = orders.filter(payer=drill.payer)
        if period.model_id is not None:
            orders = orders.filter(vehicle__model_id=period.model_id)
        if period.tier:
            orders = orders.filter(customer__value_tier=period.tier)
        return orders.values("customer_id")
    if metric in (Metric.AT_RISK, Metric.LOST, Metric.RECOVERED):
        events = ChurnEvent.objects.filter(
            customer__dealership_id__in=stores, day__gte=period.start, day__lt=period.until
        )
        move = {
            Metric.AT_RISK: Q(to_state=Customer.ChurnState.AT_RISK),
            Metric.LOST: Q(to_state=Customer.ChurnState.LOST),
            Metric.RECOVERED: Q(recovered=True),
        }[metric]
        return events.filter(move).values("customer_id")
    if metric == Metric.NEW:
        customers = Customer.objects.filter(dealership_id__in=stores, created_at__gte=start, created_at__lt=until)
        return customers.values("pk")
    if metric == Metric.COMPLAINTS:
        cases = Complaint.objects.filter(dealership_id__in=stores, received_at__gte=start, received_at__lt=until)
        return cases.values("customer_id")
    if metric in (Metric.CSAT, Metric.NPS, Metric.PROMOTERS, Metric.PASSIVES, Metric.DETRACTORS):
        return _survey_rows(drill, stores, start, until).values("customer_id")
    if metric in (Metric.INSURANCE_DUE, Metric.INSURANCE_RENEWED):
        # The policies sold here ending in the period; renewed: another policy of the car and kind
        # started around the end (the rollups' renewal window).
        policies = InsurancePolicy.objects.filter(
            dealership_id__in=stores, ends_on__gte=period.start, ends_on__lt=period.until
        )
        if metric == Metric.INSURANCE_RENEWED:
            policies = policies.filter(Exists(renewals_of()))
        return policies.values("customer_id")
    if metric == Metric.JOINS:
        # A join: a card that replaces no earlier card (not an upgrade).
        cards = MembershipCard.objects.filter(
            dealership_id__in=stores, valid_from__gte=period.start, valid_from__lt=period.until, previous__isnull=True
        )
        return cards.values("customer_id")
    if metric == Metric.CARE:
        return _care_rows(drill, stores).values("customer_id")
    if metric == Metric.CALLS:
        calls = Contact.objects.filter(
            dealership_id__in=stores,
            created_at__gte=start,
            created_at__lt=until,
            channel=Contact.Channel.CALL,
            advisor__isnull=False,
        )
        return calls.filter(_advisor_q("advisor_id", drill.advisor)).values("customer_id")
    if metric == Metric.OVERDUE:
        # Live: the open call touches on the plan and due by yesterday, as last night's rollup counted them.
        day = today - datetime.timedelta(days=1)
        late = CareTask.objects.filter(
            Q(planned_for__isnull=True) | Q(planned_for__lte=day),
            dealership_id__in=stores,
            status=CareTask.Status.OPEN,
            channel=Channel.CALL,
            assigned_to__isnull=False,
            due_date__lte=day,
        )
        return late.filter(_advisor_q("assigned_to_id", drill.advisor)).values("customer_id")
    if metric == Metric.TIER:
        customers = Customer.objects.filter(dealership_id__in=stores, status=Customer.Status.ACTIVE)
        return customers.filter(value_tier=period.tier).values("pk") if period.tier else customers.values("pk")
    if metric == Metric.SNAPSHOT:
        snapshots = TierSnapshot.objects.filter(
            dealership_id__in=stores, month__gte=period.start, month__lt=period.until
        )
        return (snapshots.filter(tier=period.tier) if period.tier else snapshots).values("customer_id")
    if metric == Metric.CARS:
        return _retention_cars(drill, stores, today).values("customer_id")
    raise ValueError(f"Unknown metric {metric!r}")


def _retention_cars(drill: DrillFilters, stores: list[int], today: datetime.date) -> QuerySet:
    """The cars of a retention band, live as of today, by the rollups' rules: the age dimension
    counts cars in use by age band (returned: a maintenance visit in the last 12 months); the
    maintenance one the cars sold here by purchase year whose first maintenance is due
    (returned N: came back for the N-th maintenance)."""
    if drill.dimension == RetentionStats.Dimension.MAINTENANCE:
        cars = Vehicle.objects.filter(customer__dealership_id__in=stores, sold_here=True)
        cars = cars.annotate(first_due=AddMonths(F("purchase_date"), F("model__first_maintenance_months")))
        cars = cars.filter(first_due__lte=today)
        if drill.band and drill.band.isdigit():
            cars = cars.filter(purchase_date__year=int(drill.band))
        if drill.returned in (1, 2):
            cars = cars.filter(had_maintenance(drill.returned))
        elif drill.returned:
            cars = cars.none()  # the cars keep no count of a third maintenance yet
    else:
        cars = Vehicle.objects.filter(customer__dealership_id__in=stores, status=Vehicle.Status.ACTIVE)
        if drill.band:
            cars = cars.alias(band=age_band(today)).filter(band=drill.band)
        if drill.returned:
            since = today - relativedelta(months=RETURNED_WITHIN_MONTHS)
            cars = cars.filter(
                Q(last_maintenance_date__gt=since)
                | Q(last_maintenance_date__isnull=True, first_maintenance_date__gt=since)
            )
    if drill.period.model_id is not None:
        cars = cars.filter(model_id=drill.period.model_id)
    return cars


def drilldown_customers(*, user, drill: DrillFilters, today: datetime.date) -> QuerySet[Customer]:
    """The customers behind a figure, in the user's scope, by name (the view paginates: a count and
    a page, whatever the size).

    The visits of a group's every store are millions of orders: there, each customer (by name, as
    the page lists them) is looked up in its own orders (``EXISTS`` on the (customer, opened_at)
    index), so a page and a capped count read a few thousand index entries instead of the period's
    orders of every store. A store's period is read whole by (store, opened_at)."""
    ids = drill_customer_ids(user=user, drill=drill, today=today)
    if drill.metric == Metric.VISITS and by_store(user=user, filters=drill.period):
        customers = Customer.objects.filter(Exists(ids.filter(customer_id=OuterRef("pk"))))
    else:
        customers = Customer.objects.filter(pk__in=ids)
    return scope_for_user(customers, user).select_related("advisor", "dealership").order_by("name", "pk")
