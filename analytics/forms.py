import datetime
import re
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.selectors import AnalyticsFilters, Dimension, month_start
from crm.models import Dealership
from crm.tenancy import scope_for_user

MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
EARLIEST_YEAR = 2000


class DashboardFilterForm(forms.Form):
    """The dashboard's GET filters. Invalid input is reported and falls back to
    the default of that field, so the page always renders."""

    month = forms.CharField(
        label=_("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    dimension = forms.ChoiceField(
        label=_("Breakdown"),
        required=False,
        choices=Dimension.choices,
        error_messages={"invalid_choice": _("Choose a breakdown from the list.")},
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
            # A store's users see their store: nothing to choose.
            del self.fields["dealership"]
        self.default_dimension = Dimension.DEALERSHIP if self.group_level else Dimension.ADVISOR
        self.fields["dimension"].initial = self.default_dimension
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

    def filters(self) -> AnalyticsFilters:
        """The valid filters, each invalid or missing one at its default."""
        data = {}
        if self.is_bound:
            self.is_valid()  # cleans; invalid fields are left out of cleaned_data
            data = self.cleaned_data
        dealership = data.get("dealership")
        return AnalyticsFilters(
            month=data.get("month") or month_start(self.today),
            dimension=data.get("dimension") or self.default_dimension,
            dealership_id=dealership.pk if dealership else None,
        )

    def querystring(self) -> str:
        """The filters in force, for the CSV links (not the raw request, which may hold junk)."""
        filters = self.filters()
        params = {"month": f"{filters.month:%Y-%m}", "dimension": filters.dimension}
        if filters.dealership_id is not None:
            params["dealership"] = str(filters.dealership_id)
        return urlencode(params)


class ComplaintFilterForm(DashboardFilterForm):
    """The complaint numbers' filters: the dashboard's month and store (a complaint
    rate has its own breakdowns, so no breakdown to choose)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["dimension"]

    def querystring(self) -> str:
        filters = self.filters()
        params = {"month": f"{filters.month:%Y-%m}"}
        if filters.dealership_id is not None:
            params["dealership"] = str(filters.dealership_id)
        return urlencode(params)
