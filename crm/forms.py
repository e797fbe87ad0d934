"""The admin's form for one year of the official holiday calendar."""

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.calendar import DayRange, year_arrangement
from crm.models import HolidayYear
from crm.services import holiday_year_validate

_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
# "2027-02-06..2027-02-13", also with ~, ～ or 至 between the two dates.
_SPAN = re.compile(rf"(?P<first>{_DATE})(?:\s*(?:\.\.|~|～|至)\s*(?P<last>{_DATE}))?")
# The official word for a weekend worked in exchange for a day off.
DEFAULT_WORKING_DAY_NAME = "调休"


def _parse_date(text: str, line_number: int) -> datetime.date:
    try:
        return datetime.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        raise ValidationError(
            gettext("Line %(line)s: %(text)s is not a date.") % {"line": line_number, "text": text}
        ) from None


def parse_day_ranges(text: str, *, default_name: str = "") -> list[DayRange]:
    """One range per line, the dates and the holiday's name in either order:
    ``2027-02-06..2027-02-13 春节`` or ``春节 2027-02-06..2027-02-13``; a
    single day needs no range. Blank lines and lines starting with # are skipped.
    Raises a ValidationError listing every line that cannot be read."""
    ranges, errors = [], []
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _SPAN.search(line)
        if match is None:
            errors.append(
                gettext("Line %(line)s: “%(text)s” has no date; write e.g. “2027-02-06..2027-02-13 春节”.")
                % {"line": line_number, "text": line}
            )
            continue
        name = (line[: match.start()] + " " + line[match.end() :]).strip() or default_name
        try:
            first = _parse_date(match["first"], line_number)
            last = _parse_date(match["last"], line_number) if match["last"] else first
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        ranges.append(DayRange(first, last, name))
    if errors:
        raise ValidationError(errors)
    return ranges


class HolidayYearForm(forms.ModelForm):
    """A year's official arrangement in one form; saved by holiday_year_set,
    which replaces every day of that year."""

    days_off = forms.CharField(
        label=_("Days off"),
        widget=forms.Textarea(attrs={"rows": 10, "cols": 60}),
        help_text=_(
            "One holiday per line: first day..last day, then its name, e.g. “2027-02-06..2027-02-13 春节”."
            " A single day needs no range: “2027-01-01 元旦”. Include the weekend days inside a holiday."
        ),
    )
    working_days = forms.CharField(
        label=_("Adjusted working days (调休)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        help_text=_(
            "Saturdays and Sundays that are worked, one per line, with the holiday they belong to,"
            " e.g. “2027-02-20 春节”. Without a name the day is called “调休”."
        ),
    )

    class Meta:
        model = HolidayYear
        fields = ["year"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            days_off, working = year_arrangement(self.instance.year)
            self.initial["days_off"] = "\n".join(str(r) for r in days_off)
            self.initial["working_days"] = "\n".join(str(r) for r in working)

    def clean_days_off(self) -> list[DayRange]:
        return parse_day_ranges(self.cleaned_data["days_off"])

    def clean_working_days(self) -> list[DayRange]:
        return parse_day_ranges(self.cleaned_data["working_days"], default_name=DEFAULT_WORKING_DAY_NAME)

    def clean(self):
        cleaned = super().clean()
        year = cleaned.get("year", self.instance.year)
        if year is None or "days_off" not in cleaned or "working_days" not in cleaned:
            return cleaned
        try:
            holiday_year_validate(year=year, days_off=cleaned["days_off"], working_days=cleaned["working_days"])
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned
