"""Service's answer to the customers app's erasure hook (connected on import,
from ``ServiceConfig.ready``): an appointment's notes are free text about the
customer and are blanked. Repair orders stay whole, their work done included:
they are the store's legal record of the work and its invoice."""

from django.dispatch import receiver

from customers.privacy import customer_erasing
from service.models import Appointment


@receiver(customer_erasing, dispatch_uid="service-erase-notes")
def notes_erase(sender, *, customer_ids, by, **kwargs) -> dict[str, int]:
    return {
        "service.Appointment": Appointment.objects.filter(customer_id__in=customer_ids)
        .exclude(notes="")
        .update(notes="")
    }
