from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from vehicles.selectors import vehicle_get_for_user


@login_required
@require_GET
def vehicle_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = vehicle_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        "vehicles/vehicle_detail.html",
        {
            "vehicle": vehicle,
            "readings": vehicle.mileage_readings.order_by("-read_on", "-mileage")[:30],
            "repair_orders": vehicle.repair_orders.order_by("-opened_at")[:30],
        },
    )
