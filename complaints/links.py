"""The customer's status link of a case: signed, short enough for an SMS, and
carrying nothing personal (the case's id only). The page it opens shows the
steps reached, never names or numbers."""

from django.core import signing
from django.urls import reverse

from complaints.models import Complaint

_SALT = "complaints.status"


def status_token(case: Complaint) -> str:
    """A signed token of the case id (no expiry: the customer may look again later)."""
    return signing.dumps(case.pk, salt=_SALT, compress=True)


def case_id_from_token(token: str) -> int | None:
    """The case id of a genuine token; None for a tampered or malformed one."""
    try:
        value = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def status_path(case: Complaint) -> str:
    return reverse("complaints-public:status", args=[status_token(case)])
