"""The service desk's own write: a club event attended.

The nightly job (``loyalty.services.points_earn``) earns the event's points
from the ``attended`` rows; marking attendance only records the fact.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from loyalty.models import EventRegistration


def event_attend(
    *, registration: EventRegistration, by: User | None, now: datetime.datetime | None = None
) -> EventRegistration:
    """Mark a registration attended at ``now``. Only a registration still
    ``registered`` can be, and only once its event has begun the day of ``now``
    or earlier (nobody attends next week's event today). The row is locked, so
    two desks marking the same guest record one attendance."""
    now = now or timezone.now()
    with transaction.atomic():
        registration = (
            EventRegistration.objects.select_for_update(of=("self",)).select_related("event").get(pk=registration.pk)
        )
        if registration.status != EventRegistration.Status.REGISTERED:
            raise ValidationError(
                _("Only a registered guest can be marked attended (this one is %(status)s).")
                % {"status": EventRegistration.Status(registration.status).label},
                code="not_registered",
            )
        if timezone.localdate(registration.event.starts_at) > timezone.localdate(now):
            raise ValidationError(
                _("The event starts on %(day)s: attendance is marked from that day.")
                % {"day": timezone.localdate(registration.event.starts_at).isoformat()},
                code="not_started",
            )
        registration.status = EventRegistration.Status.ATTENDED
        registration.attended_at = now
        registration.save(update_fields=["status", "attended_at"])
    return registration
