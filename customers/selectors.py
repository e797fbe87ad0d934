from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

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
    qs = scope_for_user(Customer.objects.all(), user).select_related("advisor", "dealership")
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
    qs = Customer.objects.select_related("advisor", "dealership", "referred_by").prefetch_related(
        "vehicles__model",
    )
    return get_for_user_or_404(qs, user, pk=pk)
