from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from care.selectors import care_call_groups, care_queue_tasks, care_task_render

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
    return render(request, "care/queue.html", {"day": day, "groups": groups, "messages_due": messages_due})
