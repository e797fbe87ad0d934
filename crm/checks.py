"""System checks of the crm app.

crm.W001, the holiday calendar running out, reads the database, so it
follows Django's rule for database checks: it runs only when Django passes
``databases``, i.e. ``manage.py check --database default`` and ``migrate``
(which checks the database it migrates), never in a plain ``check`` or in
CI's ``check --deploy --fail-level WARNING``, whose outcome must not depend
on the date it runs on or on the data of whichever database is reachable.
"""

from django.core.checks import Tags, Warning, register
from django.db import connections
from django.utils.timezone import localdate
from django.utils.translation import gettext as _

from crm.calendar import GAP_HORIZON_DAYS, calendar_gaps
from crm.models import HolidayYear

CALENDAR_TAG = "calendar"


@register(Tags.database, CALENDAR_TAG)
def check_holiday_calendar(app_configs=None, databases=None, **kwargs) -> list[Warning]:
    if not databases:
        return []
    if app_configs is not None and not any(config.label == "crm" for config in app_configs):
        return []
    warnings = []
    for alias in databases:
        connection = connections[alias]
        # migrate runs checks before it creates the tables.
        if HolidayYear._meta.db_table not in connection.introspection.table_names():
            continue
        gaps = calendar_gaps(localdate(), days=GAP_HORIZON_DAYS, using=alias)
        if gaps:
            warnings.append(
                Warning(
                    _(
                        "The holiday calendar of database '%(alias)s' has no official data for %(years)s, "
                        "which starts within %(days)s days: working days there count only weekends as days off."
                    )
                    % {"alias": alias, "years": ", ".join(str(y) for y in gaps), "days": GAP_HORIZON_DAYS},
                    hint=_(
                        "Enter the year in admin (Holiday years) once the State Council publishes it, "
                        "or run `manage.py load_holidays` after upgrading chinesecalendar."
                    ),
                    id="crm.W001",
                )
            )
    return warnings
