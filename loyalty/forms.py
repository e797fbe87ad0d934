"""Forms of the managers' club page and of the club's admin."""

import datetime
import re
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership
from crm.tenancy import scope_for_user
from loyalty.selectors import ClubFilters, month_start

MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
EARLIEST_YEAR = 2000


class ClubFilterForm(forms.Form):
    """The club page's GET filters (as /analytics/ has them). Invalid input is
    reported and falls back to the field's default, so the page always renders."""

    month = forms.CharField(
        label=_("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    dealership = forms.ModelChoiceField(
        label=_("dealership"),
        required=False,
        queryset=Dealership.objects.none(),
        empty_label=_("All dealerships"),
        error_messages={"invalid_choice": _("Choose a dealership from the list.")},
    )

    def __init__(self, *args, user, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.group_level = user.is_group_level
        if self.group_level:
            self.fields["dealership"].queryset = scope_for_user(Dealership.objects.all(), user).order_by("code")
        else:
            # A store's managers see their store: nothing to choose.
            del self.fields["dealership"]
        self.fields["month"].initial = f"{today:%Y-%m}"

    def clean_month(self) -> datetime.date | None:
        value = self.cleaned_data["month"].strip()
        if not value:
            return None
        match = MONTH_RE.match(value)
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < EARLIEST_YEAR:
            raise forms.ValidationError(_("Give the month as YYYY-MM, e.g. 2025-05."), code="invalid")
        month = datetime.date(int(match[1]), int(match[2]), 1)
        if month > month_start(self.today):
            raise forms.ValidationError(_("That month has not begun yet."), code="future")
        return month

    def filters(self) -> ClubFilters:
        """The valid filters, each invalid or missing one at its default."""
        data = {}
        if self.is_bound:
            self.is_valid()  # cleans; invalid fields are left out of cleaned_data
            data = self.cleaned_data
        dealership = data.get("dealership")
        return ClubFilters(
            month=data.get("month") or month_start(self.today),
            dealership_id=dealership.pk if dealership else None,
        )

    def querystring(self) -> str:
        """The filters in force, for the CSV links (not the raw request, which may hold junk)."""
        filters = self.filters()
        params = {"month": f"{filters.month:%Y-%m}"}
        if filters.dealership_id is not None:
            params["dealership"] = str(filters.dealership_id)
        return urlencode(params)


class PointsAdjustForm(forms.Form):
    """A manager's correction of a card's points (admin): the service checks the
    rest (manager only, reason required, never below zero, active cards only)."""

    points = forms.IntegerField(
        label=_("points"),
        help_text=_("Points to add; with a minus sign, to take off."),
        min_value=-100_000,
        max_value=100_000,
    )
    reason = forms.CharField(
        label=_("reason"),
        max_length=200,
        widget=forms.TextInput(attrs={"size": 60}),
        error_messages={"required": _("Say why the points change.")},
    )

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's refusal on the field it names, else on the form."""
        if hasattr(error, "error_dict"):
            for field, errors in error.message_dict.items():
                for message in errors:
                    self.add_error(field if field in self.fields else None, message)
        else:
            for message in error.messages:
                self.add_error(None, message)
