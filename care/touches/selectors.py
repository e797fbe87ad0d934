"""What a touch says: its placeholders filled for its customer, car and advisor."""

from care.templating import render
from care.touches.models import CareTask


def care_task_context(task: CareTask) -> dict:
    customer, vehicle, advisor, store = task.customer, task.vehicle, task.assigned_to, task.dealership
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
    }


def care_task_render(task: CareTask, template: str) -> str:
    return render(template, care_task_context(task))
