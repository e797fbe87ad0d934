"""The complaints section of the customer's page (see customers.panels): the
"open complaint" badge and the last closed cases, in one query."""

from complaints.selectors import complaint_can_see, customer_complaints_overview
from customers.panels import Panel, register


def complaints_context(*, customer, user) -> dict:
    open_cases, past = customer_complaints_overview(customer=customer)
    sees_customer = complaint_can_see(user=user, customer=customer)
    for case in (*open_cases, *past):
        # An advisor opens the cases of their own customers and those they handle.
        case.can_open = sees_customer or case.handler_id == user.pk
    return {"open_complaints": open_cases, "past_complaints": past}


def register_panels() -> None:
    # Before the care panels: an open complaint is the first thing to know before calling.
    register(Panel("complaints", "complaints/panels/complaints.html", complaints_context, order=5))
