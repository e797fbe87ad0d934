from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from vehicles.forms import VehicleForm
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
            "repair_orders": vehicle.repair_orders.select_related("technician").order_by("-opened_at")[:30],
        },
    )


@login_required
def vehicle_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = vehicle_get_for_user(user=request.user, pk=pk)
    form = VehicleForm(request.POST or None, instance=vehicle)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("customers:detail", pk=vehicle.customer_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "vehicles/vehicle_form.html", {"vehicle": vehicle, "form": form}, status=status)
