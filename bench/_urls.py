"""The project's URLs and the benchmarks' reference: one indexed query, no template."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from crm.urls import urlpatterns as project_urlpatterns
from customers.models import Customer


def reference(request: HttpRequest) -> JsonResponse:
    """A bare view: one query by primary key, a tiny JSON body."""
    customer = Customer.objects.filter(pk=int(request.GET.get("id", 1))).values("pk", "value_tier").first()
    return JsonResponse({"customer": customer})


urlpatterns = [path("bench/reference/", reference), *project_urlpatterns]
