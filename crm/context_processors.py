"""Template context shared by every page."""

from functools import cached_property

from django.http import HttpRequest
from django.utils.timezone import localdate

from crm.calendar import calendar_gaps
from crm.models import User


def sees_calendar_warning(user) -> bool:
    """Managers and administrators are told when the holiday calendar runs out;
    advisors cannot act on it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.role in {User.Role.MANAGER, User.Role.ADMIN}


class CalendarWarning:
    """Lazy: nothing is read until a template asks for ``years`` (the layout
    does; admin pages, htmx fragments and the API do not), and then once per
    request. A manager's or administrator's page pays exactly one query on a
    table of a few rows; an advisor's pays none, since the user is already
    loaded. Not cached across requests on purpose: a cache makes a page's
    query count depend on what ran before it, and the pages' tests pin those
    counts."""

    def __init__(self, request: HttpRequest):
        self._request = request

    @cached_property
    def years(self) -> list[int]:
        if not sees_calendar_warning(getattr(self._request, "user", None)):
            return []
        return calendar_gaps(localdate())


def calendar_warning(request: HttpRequest) -> dict:
    return {"calendar_warning": CalendarWarning(request)}
