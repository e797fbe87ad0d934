"""What a touch says: its placeholders filled for its customer, car and advisor."""

from django.conf import settings

from care.registry import spec_for
from care.templating import render
from care.touches.models import CareTask
from complaints.links import status_path
from complaints.models import Complaint


def complaint_status_link(case: Complaint) -> str:
    """The absolute address of the case's public status page, for an SMS.

    ``CRM_COMPLAINT_PUBLIC_BASE_URL`` is where customers reach the public
    pages; without it (there is no request here to take the host from) the
    link is the bare path."""
    base = (getattr(settings, "CRM_COMPLAINT_PUBLIC_BASE_URL", "") or "").rstrip("/")
    return f"{base}{status_path(case)}"


def care_tasks_kind_context(tasks: list[CareTask]) -> list[CareTask]:
    """Fill the kinds' own placeholders (``KindSpec.context``: a card's level,
    a club event's link…) of ``tasks`` at once: one call per kind present, a
    fixed number of queries each, kept on the touches for ``care_task_context``."""
    by_kind: dict[str, list[CareTask]] = {}
    for task in tasks:
        if "_kind_context" not in task.__dict__:
            by_kind.setdefault(task.kind, []).append(task)
    for kind, touches in by_kind.items():
        spec = spec_for(kind)
        found = spec.context(touches) if spec is not None and spec.context is not None else {}
        for task in touches:
            task._kind_context = found.get(task.pk, {})
    return tasks


def care_task_context(task: CareTask) -> dict:
    """The placeholders' values. Reads ``customer``, ``vehicle__model``,
    ``assigned_to``, ``dealership`` and ``complaint``: select them with the
    touch; the kind's own placeholders are read here when
    ``care_tasks_kind_context`` did not fill them for a whole list before."""
    customer, vehicle, advisor, store = task.customer, task.vehicle, task.assigned_to, task.dealership
    case = task.complaint if task.complaint_id else None
    if "_kind_context" not in task.__dict__:
        care_tasks_kind_context([task])
    return {
        "name": customer.name,
        "title": customer.title,
        "plate": vehicle.plate_number if vehicle else "",
        "model": str(vehicle.model) if vehicle else "",
        "due_date": task.event_date.isoformat(),
        "mileage": vehicle.current_mileage if vehicle else "",
        "advisor": advisor.display_name if advisor else "",
        "advisor_phone": advisor.phone if advisor else "",
        "dealership": store.name,
        "booking_phone": store.booking_phone,
        "rescue_phone": store.rescue_phone,
        "item": task.subject,
        "price": task.amount if task.amount is not None else "",
        "case_number": case.number if case else "",
        "remedy": case.remedy if case else "",
        "status_link": complaint_status_link(case) if case else "",
        **task._kind_context,
    }


def care_task_render(task: CareTask, template: str) -> str:
    return render(template, care_task_context(task))
