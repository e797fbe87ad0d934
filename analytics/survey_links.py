"""The customer's survey link: signed, short enough for an SMS, and carrying
nothing personal (the survey's id only). The link is good for one answer
within ``SURVEY_VALID`` of its sending: the row says whether it was answered
(``Survey.answered_at``) and until when it is valid (``Survey.expires_at``);
the signature only says the id was ours."""

import datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

_SALT = "analytics.survey"
SURVEY_VALID = datetime.timedelta(days=7)


def survey_token(survey_id: int) -> str:
    """A signed token of the survey id."""
    return signing.dumps(survey_id, salt=_SALT, compress=True)


def survey_id_from_token(token: str) -> int | None:
    """The survey id of a genuine token; None for a tampered or malformed one."""
    try:
        value = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError):  # ValueError: a well-signed payload that is not JSON
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def survey_path(survey_id: int) -> str:
    return reverse("analytics_public:survey", args=[survey_token(survey_id)])


def survey_link(survey_id: int) -> str:
    """The address for the SMS: the public pages' host (``CRM_COMPLAINT_PUBLIC_BASE_URL``,
    where customers reach the CRM's public pages) and the signed path; the bare
    path without that setting."""
    base = (getattr(settings, "CRM_COMPLAINT_PUBLIC_BASE_URL", "") or "").rstrip("/")
    return f"{base}{survey_path(survey_id)}"
