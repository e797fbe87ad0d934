from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from care.selectors import (
    care_call_groups,
    care_queue_tasks,
    care_task_render,
    customer_messages,
    weather_alerts_in_force,
)
from customers.selectors import customer_get_for_user

MAX_TASKS = 500


@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    """The advisor's day: merged calls first, then messages waiting to go out."""
    day = timezone.localdate()
    tasks = list(care_queue_tasks(user=request.user, day=day)[:MAX_TASKS])
    groups = care_call_groups(tasks=tasks, day=day)
    messages_due = [
        (t, care_task_render(t, t.rule.message_template)) for t in tasks if t.channel != "call" and t.due_date <= day
    ]
    context = {
        "day": day,
        "groups": groups,
        "messages_due": messages_due,
        "weather_alerts": weather_alerts_in_force(user=request.user, now=timezone.now()),
    }
    return render(request, "care/queue.html", context)


@login_required
@require_GET
def customer_messages_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's messages (suppressed ones with their reason) and consent history, for the customer page."""
    customer = customer_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        "care/partials/customer_messages.html",
        {
            "customer": customer,
            "messages_sent": customer_messages(customer=customer),
            "consent_changes": customer.consent_changes.select_related("recorded_by")[:20],
        },
    )
