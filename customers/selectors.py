import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from crm.tenancy import get_for_user_or_404, scope_for_user
from crm.validators import PLATE_PROVINCES, normalize_plate, normalize_vin
from customers.models import Customer


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    value_tier: str = ""
    churn_state: str = ""
    advisor_id: int | None = None


def customer_search_q(q: str) -> Q:
    """Name, mobile, plate or VIN, as a person types them at the front desk."""
    q = q.strip()
    if not q:
        return Q()
    condition = Q(name__icontains=q)
    digits = q.replace(" ", "").replace("-", "")
    if digits.isdigit():
        condition |= Q(phone__contains=digits)
    plate = normalize_plate(q)
    # "沪A" is already a useful plate prefix; two Latin characters are not.
    if len(plate) >= 3 or plate[:1] in PLATE_PROVINCES:
        condition |= Q(vehicles__plate_number__icontains=plate)
    vin = normalize_vin(q)
    if len(vin) >= 6:
        condition |= Q(vehicles__vin__icontains=vin)
    return condition


def customer_list(*, user, filters: CustomerFilters | None = None) -> QuerySet[Customer]:
    filters = filters or CustomerFilters()
    # A record merged into another or erased is no customer to list or find (its 360
    # stays reachable by id, for the trace).
    qs = (
        scope_for_user(Customer.objects.all(), user)
        .exclude(status__in=Customer.RecordStatus.values)
        .select_related("advisor", "dealership")
    )
    if filters.q:
        # The plate/VIN join can repeat a customer with several cars: filter by id.
        matching = Customer.objects.filter(customer_search_q(filters.q)).values("pk")
        qs = qs.filter(pk__in=matching)
    if filters.value_tier:
        qs = qs.filter(value_tier=filters.value_tier)
    if filters.churn_state:
        qs = qs.filter(churn_state=filters.churn_state)
    if filters.advisor_id:
        qs = qs.filter(advisor_id=filters.advisor_id)
    return qs.prefetch_related(Prefetch("vehicles", to_attr="vehicle_list")).order_by("name", "pk")


def customer_get_for_user(*, user, pk: int) -> Customer:
    """The customer 360: one customer with cars, models and recent repair orders."""
    # The cars with their models in one query (a join, not a second prefetch); the
    # car model is reached through the relation, since customers sits below vehicles.
    vehicles = Customer._meta.get_field("vehicles").related_model._default_manager.select_related("model")
    qs = Customer.objects.select_related("advisor", "dealership", "referred_by").prefetch_related(
        Prefetch("vehicles", queryset=vehicles),
    )
    return get_for_user_or_404(qs, user, pk=pk)


def customer_watch_text(customer: Customer) -> str:
    """Why ``customer`` is on the watch list, with the figures it was put there on, in the
    active language: "Visits slowed down: usually every 118 days; 205 days since 2026-05-12",
    "Tier went down: A → B on 2026-12-01", "A tier-A customer complained: case received
    2026-11-20, open 3 days on 2026-11-23". Just the reason when it has no figures (set by
    hand, or another kind of watch); "" when the customer is not watched.

    Reads ``watch_reason``, ``watch_since``, ``watch_usual_days``, ``watch_days_since``,
    ``watch_last_visit``, ``watch_from_tier`` and ``watch_to_tier`` (no query)."""
    if not customer.watch_reason:
        return ""
    reason = Customer.WatchReason
    label = str(dict(reason.choices).get(customer.watch_reason, customer.watch_reason))
    figures = ""
    if (
        customer.watch_reason == reason.VISIT_RATE
        and customer.watch_usual_days is not None
        and customer.watch_days_since is not None
        and customer.watch_last_visit is not None
    ):
        figures = _("usually every %(usual)d days; %(days)d days since %(last)s") % {
            "usual": customer.watch_usual_days,
            "days": customer.watch_days_since,
            "last": customer.watch_last_visit.isoformat(),
        }
    elif customer.watch_reason == reason.TIER_DOWN and customer.watch_from_tier and customer.watch_to_tier:
        figures = _("%(before)s → %(after)s on %(day)s") % {
            "before": customer.watch_from_tier,
            "after": customer.watch_to_tier,
            "day": customer.watch_since.isoformat() if customer.watch_since else "—",
        }
    elif (
        customer.watch_reason == reason.COMPLAINT
        and customer.watch_days_since is not None
        and customer.watch_since is not None
    ):
        # The days are counted on watch_since; the day received is worked back from them.
        received = customer.watch_since - datetime.timedelta(days=customer.watch_days_since)
        figures = _("case received %(received)s, open %(days)d days on %(day)s") % {
            "received": received.isoformat(),
            "days": customer.watch_days_since,
            "day": customer.watch_since.isoformat(),
        }
    if not figures:
        return label
    return _("%(reason)s: %(figures)s") % {"reason": label, "figures": figures}
