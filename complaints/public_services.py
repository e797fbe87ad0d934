"""A complaint a customer files on the store's public form (no login).

The acknowledgement SMS with the case number and the status link is care's:
it answers the ``complaint_opened`` signal of an online-form case. Nothing
here sends a message."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from complaints.models import Complaint, ComplaintCategory
from complaints.services import complaint_open
from crm.models import Dealership
from customers.services import customer_for_mobile_or_prospect
from vehicles.models import Vehicle

# Cases from the form start in the catch-all category; the handler sorts them.
OTHER_CATEGORY = "other"


def _other_category() -> ComplaintCategory:
    with translation.override(settings.LANGUAGE_CODE):
        category, _created = ComplaintCategory.objects.get_or_create(
            code=OTHER_CATEGORY, defaults={"label": _("Other"), "position": 999}
        )
    return category


def complaint_file_online(
    *, store: Dealership, name: str, mobile: str, plate: str, description: str, demand: str
) -> Complaint:
    """Open the case of a form submission, all in one transaction.

    ``mobile`` is normalised and valid (the form checks it), ``plate``
    normalised or empty. The customer is the store's customer with that mobile,
    or a new prospect record; the plate links the car when it is one of that
    customer's. What the customer typed that the case does not hold otherwise
    (a name other than the record's, a plate that matches no car of theirs) is
    added at the end of the description, so the handler sees it."""
    # Text stored in the database is in the store's language, not the visitor's.
    with translation.override(settings.LANGUAGE_CODE):
        note = _("Prospect from the online complaint form on %(date)s: not yet verified by the store.") % {
            "date": date_format(timezone.localdate(), "Y-m-d")
        }
        with transaction.atomic():
            customer, _new = customer_for_mobile_or_prospect(dealership=store, phone=mobile, name=name, note=note)
            vehicle = Vehicle.objects.filter(customer=customer, plate_number=plate).first() if plate else None
            extra = []
            if name.strip() != customer.name:
                extra.append(_("Name given on the form: %(name)s") % {"name": name.strip()})
            if plate and vehicle is None:
                extra.append(_("Plate given on the form (no car of this customer): %(plate)s") % {"plate": plate})
            text = description.strip()
            if extra:
                text = "\n\n".join([text, "\n".join(extra)])
            case = complaint_open(
                customer=customer,
                channel=Complaint.Channel.ONLINE_FORM,
                category=_other_category(),
                severity=Complaint.Severity.NORMAL,
                description=text,
                demand=demand,
                by=None,
                vehicle=vehicle,
            )
    return case
