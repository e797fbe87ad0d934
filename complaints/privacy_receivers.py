"""Complaints' answers to the customers app's erasure hooks (connected on
import, from ``ComplaintsConfig.ready``; customers sits below complaints).

An open case refuses the erasure: the store still owes the customer an
answer, and the case needs their contact details until it is closed.

A closed case stays (PIPL Art. 47 allows keeping what another law requires:
consumer-protection disputes and the carmaker's quality cases are kept for
years; the statistics count them). What the customer said in their own words
is blanked: what happened, what they wanted, their answer, and the notes of
the case's events, which often quote them. The store's own record of the
case stays: category, severity, dates, findings, cause, remedy, what was
done, the cost, the staff involved."""

from django.dispatch import receiver
from django.utils.translation import gettext as _

from complaints.models import Complaint, ComplaintEvent
from customers.privacy import customer_erasing, customer_erasure_check

# The customer's words, and what erasure leaves in them.
ERASED_TEXTS = {"description": "", "demand": "", "customer_answer": "", "follow_up": ""}


@receiver(customer_erasure_check, dispatch_uid="complaints-erasure-check")
def open_cases_refuse(sender, *, customer, **kwargs) -> list[str]:
    numbers = list(
        Complaint.objects.filter(customer_id=customer.pk)
        .exclude(status=Complaint.Status.CLOSED)
        .order_by("number")
        .values_list("number", flat=True)[:5]
    )
    if not numbers:
        return []
    return [
        _("The customer has an open complaint (%(numbers)s): close it before erasing their data.")
        % {"numbers": ", ".join(numbers)}
    ]


@receiver(customer_erasing, dispatch_uid="complaints-erase-texts")
def texts_erase(sender, *, customer_ids, by, **kwargs) -> dict[str, int]:
    cases = Complaint.objects.filter(customer_id__in=customer_ids)
    # The step data of an event repeats what the step recorded (the customer's answer among
    # it): those keys go. One customer's events are few; they are read and written in bulk.
    events = list(ComplaintEvent.objects.filter(complaint__in=cases).only("pk", "note", "data"))
    for event in events:
        event.note = ""
        event.data = {k: v for k, v in (event.data or {}).items() if k not in ERASED_TEXTS}
    ComplaintEvent.objects.bulk_update(events, ["note", "data"], batch_size=500)
    return {"complaints.Complaint": cases.update(**ERASED_TEXTS), "complaints.ComplaintEvent": len(events)}
