from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from care.panels import messages_context
from customers.selectors import customer_get_for_user


@login_required
@require_GET
def customer_messages_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's messages (suppressed ones with their reason) and consent history, for the customer page."""
    customer = customer_get_for_user(user=request.user, pk=pk)
    return render(
        request, "care/partials/customer_messages.html", messages_context(customer=customer, user=request.user)
    )
