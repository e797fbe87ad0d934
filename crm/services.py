"""Writes of the crm app. The holiday calendar's rules live here, once, for
the admin's year form and the load_holidays command alike; and the API
tokens' issue and revocation, for the admin and any later page."""

import datetime
import hashlib
import secrets
import string
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm.calendar import DayRange
from crm.models import ApiToken, Dealership, Holiday, HolidayYear, User

# The longest official holiday so far is ten days (Spring Festival 2020,
# extended); a longer range is a typing error, not a holiday.
MAX_RANGE_DAYS = 14
_WEEKEND = (5, 6)


def _range_errors(year: int, ranges: Sequence[DayRange], *, working: bool) -> list[str]:
    errors = []
    for r in ranges:
        if r.last < r.first:
            errors.append(_("%(range)s: the last day comes before the first.") % {"range": r})
            continue
        if r.first.year != year or r.last.year != year:
            errors.append(_("%(range)s is not in %(year)s.") % {"range": r, "year": year})
            continue
        if not r.name.strip():
            errors.append(_("%(range)s: give the holiday's name.") % {"range": r})
        elif len(r.name) > Holiday._meta.get_field("name").max_length:
            errors.append(_("%(range)s: the name is longer than 50 characters.") % {"range": r})
        if len(r.days()) > MAX_RANGE_DAYS:
            errors.append(
                _("%(range)s is longer than %(max)s days: check the dates.") % {"range": r, "max": MAX_RANGE_DAYS}
            )
        if working:
            for day in r.days():
                if day.weekday() not in _WEEKEND:
                    errors.append(
                        _("%(day)s is a %(weekday)s: only a Saturday or Sunday can be an adjusted working day.")
                        % {"day": day.isoformat(), "weekday": date_format(day, "l")}
                    )
    return errors


def _overlap_errors(ranges: Sequence[DayRange]) -> list[str]:
    errors = []
    ordered = sorted((r for r in ranges if r.first <= r.last), key=lambda r: (r.first, r.last))
    # Compared with the range reaching furthest so far, not only the previous one.
    furthest = None
    for r in ordered:
        if furthest is not None and r.first <= furthest.last:
            errors.append(_("%(first)s and %(second)s overlap.") % {"first": furthest, "second": r})
        if furthest is None or r.last > furthest.last:
            furthest = r
    return errors


def holiday_year_validate(*, year: int, days_off: Sequence[DayRange], working_days: Sequence[DayRange]) -> None:
    """The rules of one year's official arrangement; raises a ValidationError
    keyed by ``days_off`` / ``working_days`` / ``year``.

    - every day inside the year (a calendar year: the New Year's Eve day of a
      notice that starts in December belongs to the previous year's entry);
    - ranges of one list do not overlap, and no day is both off and worked;
    - an adjusted working day (调休) is a Saturday or Sunday: a weekday is
      worked anyway;
    - a day off may fall on any day: weekend days inside a holiday carry its
      name, and the days that matter are the weekdays it takes off;
    - at least one day off: a year without any is surely not entered yet.
    """
    errors: dict[str, list[str]] = {}
    if not 2000 <= year <= 2100:
        errors["year"] = [_("Enter a year between 2000 and 2100.")]
        raise ValidationError(errors)
    off_errors = _range_errors(year, days_off, working=False) + _overlap_errors(days_off)
    if not days_off:
        off_errors.append(_("Enter at least one day off."))
    work_errors = _range_errors(year, working_days, working=True) + _overlap_errors(working_days)
    off_days = {day for r in days_off if r.first <= r.last for day in r.days()}
    for r in working_days:
        clash = sorted(day for day in r.days() if day in off_days) if r.first <= r.last else []
        if clash:
            work_errors.append(
                _("%(range)s is also entered as a day off (%(days)s).")
                % {"range": r, "days": ", ".join(d.isoformat() for d in clash)}
            )
    if off_errors:
        errors["days_off"] = off_errors
    if work_errors:
        errors["working_days"] = work_errors
    if errors:
        raise ValidationError(errors)


def holiday_year_set(
    *,
    year: int,
    days_off: Sequence[DayRange],
    working_days: Sequence[DayRange],
    by: User | None,
    source: str = HolidayYear.Source.ADMIN,
    release: str = "",
) -> HolidayYear:
    """Replace ``year``'s days in the calendar and record the year as known, in
    one transaction: a half-entered year is never visible. ``by`` is None for
    the load_holidays command."""
    holiday_year_validate(year=year, days_off=days_off, working_days=working_days)
    rows = [Holiday(date=day, name=r.name.strip(), is_day_off=True) for r in days_off for day in r.days()]
    rows += [Holiday(date=day, name=r.name.strip(), is_day_off=False) for r in working_days for day in r.days()]
    with transaction.atomic():
        # Two admins saving the same year wait for each other here (when the
        # year exists); for a new year the unique date makes the second fail.
        list(HolidayYear.objects.select_for_update().filter(year=year))
        Holiday.objects.filter(date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)).delete()
        Holiday.objects.bulk_create(sorted(rows, key=lambda row: row.date))
        record, _created = HolidayYear.objects.update_or_create(
            year=year,
            defaults={"source": source, "release": release, "loaded_at": timezone.now(), "loaded_by": by},
        )
    return record


# --- API tokens ----------------------------------------------------------------

API_KEY_LENGTH = 40
_KEY_ALPHABET = string.ascii_letters + string.digits


def api_key_hash(key: str) -> str:
    """What is stored of a key, and what a request's key is looked up by."""
    return hashlib.sha256(key.encode()).hexdigest()


def _can_manage_tokens(by: User, dealership: Dealership | None) -> bool:
    """Administrators issue and revoke tokens: a store's administrator for the
    store's own tokens, a group-level administrator for every token."""
    if not by.is_active or not (by.is_superuser or by.role == User.Role.ADMIN):
        return False
    if by.is_group_level:
        return True
    return dealership is not None and dealership.pk == by.dealership_id


def _new_key() -> str:
    """A random key whose prefix is unused (a clash is about one in 10^14)."""
    while True:
        key = "".join(secrets.choice(_KEY_ALPHABET) for _i in range(API_KEY_LENGTH))
        prefix = key[: ApiToken.PREFIX_LENGTH]
        if (
            not ApiToken.objects.filter(prefix=prefix).exists()
            and not User.objects.filter(username=f"api-{prefix}").exists()
        ):
            return key


def api_token_issue(
    *,
    name: str,
    dealership: Dealership | None,
    can_write: bool,
    by: User,
    expires_at: datetime.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for one integration; returns it with its raw key, which
    is shown once and never stored (only its SHA-256 is).

    The requests of the token act as a service account created here: a
    manager of ``dealership``, or a group-level administrator when
    ``dealership`` is None; its password is unusable, so it never logs in to
    pages, and it is not staff, so it never enters the admin.
    """
    if not _can_manage_tokens(by, dealership):
        raise PermissionDenied(_("Only an administrator of the store issues its API tokens."))
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Name the integration the token is for.")]
    elif len(name) > ApiToken._meta.get_field("name").max_length:
        errors["name"] = [_("The name is longer than 100 characters.")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("The expiry is in the past: give a later time, or none.")]
    if dealership is not None and not dealership.is_active:
        errors["dealership"] = [_("This store is closed: it gets no new tokens.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        key = _new_key()
        prefix = key[: ApiToken.PREFIX_LENGTH]
        user = User(
            username=f"api-{prefix}",
            first_name=name[: User._meta.get_field("first_name").max_length],
            role=User.Role.MANAGER if dealership is not None else User.Role.ADMIN,
            dealership=dealership,
            is_staff=False,
            is_superuser=False,
        )
        user.set_unusable_password()
        user.save()
        token = ApiToken.objects.create(
            name=name,
            dealership=dealership,
            can_write=can_write,
            prefix=prefix,
            key_hash=api_key_hash(key),
            user=user,
            expires_at=expires_at,
            created_by=by,
        )
    return token, key


def api_token_revoke(*, token: ApiToken, by: User) -> ApiToken:
    """Revoke a token for good: its next request is a 401. Its service account
    is deactivated too, so nothing else can act as it. Revoking twice keeps
    the first revocation's time and author."""
    if not _can_manage_tokens(by, token.dealership):
        raise PermissionDenied(_("Only an administrator of the store revokes its API tokens."))
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.revoked_by = by
            token.save(update_fields=["revoked_at", "revoked_by"])
        User.objects.filter(pk=token.user_id, is_active=True).update(is_active=False)
    return token
