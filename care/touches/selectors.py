"""What a touch says: its placeholders filled for its customer, car and advisor."""

from django.conf import settings

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


def care_task_context(task: CareTask) -> dict:
    """The placeholders' values. Reads ``customer``, ``vehicle__model``,
    ``assigned_to``, ``dealership`` and ``complaint``: select them with the touch."""
    customer, vehicle, advisor, store = task.customer, task.vehicle, task.assigned_to, task.dealership
    case = task.complaint if task.complaint_id else None
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
    }


def care_task_render(task: CareTask, template: str) -> str:
    return render(template, care_task_context(task))
