from django.db.models import QuerySet

from crm.tenancy import get_for_user_or_404, scope_for_user
from vehicles.models import Vehicle


def vehicle_list(*, user) -> QuerySet[Vehicle]:
    return scope_for_user(Vehicle.objects.all(), user).select_related("model", "customer")


def vehicle_get_for_user(*, user, pk: int) -> Vehicle:
    return get_for_user_or_404(Vehicle.objects.select_related("model", "customer__dealership"), user, pk=pk)
