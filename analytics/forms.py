import dataclasses
import datetime
import re
from urllib.parse import urlencode

from dateutil.relativedelta import relativedelta
from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.kpis import FUNNEL_STAGES, NO_ADVISOR, DrillFilters, KpiFilters, Metric, SurveyGroup
from analytics.models import RetentionStats
from analytics.selectors import AnalyticsFilters, Dimension, month_start
from care.registry import specs
from crm.models import Dealership
from crm.tenancy import scope_for_user
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import VehicleModel

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


class Period:
    """The KPI pages' periods: the last 12 or 24 months (this one included), or chosen months."""

    LAST_12 = "12"
    LAST_24 = "24"
    RANGE = "range"

    choices = [
        (LAST_12, _("Last 12 months")),
        (LAST_24, _("Last 24 months")),
        (RANGE, _("Chosen months")),
    ]


# The longest period a page shows: five years of months.
MAX_MONTHS = 60


def _month_value(value: str, *, today: datetime.date) -> datetime.date | None:
    """A YYYY-MM text as the month's first day; None for no text; a ValidationError otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    match = MONTH_RE.match(value)
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < EARLIEST_YEAR:
        raise forms.ValidationError(_("Give the month as YYYY-MM, e.g. 2025-05."), code="invalid")
    month = datetime.date(int(match[1]), int(match[2]), 1)
    if month > month_start(today):
        raise forms.ValidationError(_("That month has not begun yet."), code="future")
    return month


class KpiFilterForm(forms.Form):
    """The KPI pages' GET filters: store (group-level users only), period, car model and tier.

    As on the dashboard, invalid input is reported and falls back to the field's
    default, so the page always renders; a store's manager has no store to
    choose, and a ``dealership`` in the URL is ignored for them."""

    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=Period.choices,
        error_messages={"invalid_choice": _("Choose a period from the list.")},
    )
    start = forms.CharField(
        label=_("From"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    end = forms.CharField(
        label=_("To"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    model = forms.ModelChoiceField(
        label=_("model"),
        required=False,
        queryset=VehicleModel.objects.order_by("brand", "name"),
        empty_label=_("All models"),
        error_messages={"invalid_choice": _("Choose a model from the list.")},
    )
    tier = forms.ChoiceField(
        label=_("value tier"),
        required=False,
        choices=[("", _("All tiers")), *Customer.ValueTier.choices],
        error_messages={"invalid_choice": _("Choose a tier from the list.")},
    )
    dealership = forms.ModelChoiceField(
        label=_("dealership"),
        required=False,
        queryset=Dealership.objects.none(),
        empty_label=_("All dealerships"),
        error_messages={"invalid_choice": _("Choose a dealership from the list.")},
    )

    def __init__(self, *args, user, today: datetime.date, default_period: str = Period.LAST_24, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.default_period = default_period
        self.group_level = user.is_group_level
        if self.group_level:
            self.fields["dealership"].queryset = scope_for_user(Dealership.objects.all(), user).order_by("code")
        else:
            del self.fields["dealership"]
        self.fields["period"].initial = default_period

    def clean_start(self) -> datetime.date | None:
        return _month_value(self.cleaned_data["start"], today=self.today)

    def clean_end(self) -> datetime.date | None:
        return _month_value(self.cleaned_data["end"], today=self.today)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start:
            until = end or month_start(self.today)
            if start > until:
                self.add_error("end", forms.ValidationError(_("The period ends before it starts."), code="order"))
            elif len(_months_between(start, until)) > MAX_MONTHS:
                message = _("Choose at most %(n)s months.") % {"n": MAX_MONTHS}
                self.add_error("start", forms.ValidationError(message, code="too_long"))
        return data

    def _data(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()  # cleans; invalid fields are left out of cleaned_data
        return self.cleaned_data

    def filters(self) -> KpiFilters:
        """The valid filters, each invalid or missing one at its default."""
        data = self._data()
        this_month = month_start(self.today)
        period = data.get("period") or ""
        start, end = data.get("start"), data.get("end")
        if period == Period.RANGE or (not period and (start or end)):
            # Chosen months; a missing end is this month, a missing start twelve months before the end.
            end = end or this_month
            start = start or end - relativedelta(months=11)
        else:
            months = int(period or self.default_period)
            end, start = this_month, this_month - relativedelta(months=months - 1)
        model, dealership = data.get("model"), data.get("dealership")
        return KpiFilters(
            start=start,
            end=end,
            dealership_id=dealership.pk if dealership else None,
            model_id=model.pk if model else None,
            tier=data.get("tier") or None,
        )

    def params(self) -> dict[str, str]:
        """The filters in force as URL parameters (not the raw request, which may hold junk)."""
        filters = self.filters()
        params = {"period": Period.RANGE, "start": f"{filters.start:%Y-%m}", "end": f"{filters.end:%Y-%m}"}
        if filters.dealership_id is not None:
            params["dealership"] = str(filters.dealership_id)
        if filters.model_id is not None:
            params["model"] = str(filters.model_id)
        if filters.tier:
            params["tier"] = filters.tier
        return params

    def querystring(self) -> str:
        return urlencode(self.params())


def _months_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return KpiFilters(start=start, end=end).months


class DrillFilterForm(KpiFilterForm):
    """The drill-down's GET parameters: the KPI filters, the figure (``metric``) and what
    narrows it (order kind, payer, advisor, funnel stage, survey group, retention band).
    Without a valid metric there is no list; the other fields fall back to "any"."""

    metric = forms.ChoiceField(
        label=_("Figure"),
        choices=Metric.choices,
        error_messages={
            "required": _("Say which figure's customers to list."),
            "invalid_choice": _("There is no such figure to list the customers of."),
        },
    )
    kind = forms.CharField(required=False, max_length=24)
    payer = forms.ChoiceField(
        required=False,
        choices=[("", ""), *RepairOrder.Payer.choices],
        error_messages={"invalid_choice": _("Choose a payer from the list.")},
    )
    advisor = forms.CharField(required=False, max_length=12)
    stage = forms.ChoiceField(
        required=False,
        choices=[("", ""), *((stage, stage) for stage in FUNNEL_STAGES)],
        error_messages={"invalid_choice": _("There is no such stage of the care funnel.")},
    )
    group = forms.ChoiceField(
        required=False,
        choices=[("", ""), *SurveyGroup.choices],
        error_messages={"invalid_choice": _("There is no such group of survey answers.")},
    )
    dimension = forms.ChoiceField(
        required=False,
        choices=[("", ""), *RetentionStats.Dimension.choices],
        error_messages={"invalid_choice": _("There is no such retention table.")},
    )
    band = forms.CharField(required=False, max_length=20)
    returned = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", ""), ("1", "1"), ("2", "2"), ("3", "3")],
        error_messages={"invalid_choice": _("Choose the first, second or third return.")},
    )

    def clean_kind(self) -> str | None:
        kind = self.cleaned_data["kind"].strip()
        if not kind:
            return None
        known = set(RepairOrder.Kind.values) | {spec.kind for spec in specs()}
        if kind not in known:
            raise forms.ValidationError(_("There is no such kind."), code="invalid")
        return kind

    def clean_advisor(self) -> int | str | None:
        value = self.cleaned_data["advisor"].strip()
        if not value:
            return None
        if value == NO_ADVISOR:
            return NO_ADVISOR
        if not value.isdigit():
            raise forms.ValidationError(_("Choose an advisor from the list."), code="invalid")
        return int(value)

    def drill(self) -> DrillFilters | None:
        """The figure to list, or None without a valid metric (the page says why)."""
        period = self.filters()
        data = self.cleaned_data if self.is_bound else {}
        metric = data.get("metric")
        if not metric:
            return None
        if metric not in Metric.WITH_DIMENSIONS:
            # The figure's source rows have no car model (nor the customer's tier): the list is not narrowed.
            period = dataclasses.replace(period, model_id=None, tier=period.tier if metric == Metric.TIER else None)
        return DrillFilters(
            metric=metric,
            period=period,
            kind=data.get("kind"),
            payer=data.get("payer") or None,
            advisor=data.get("advisor"),
            stage=data.get("stage") or None,
            group=data.get("group") or None,
            dimension=data.get("dimension") or None,
            band=(data.get("band") or "").strip() or None,
            returned=data.get("returned"),
        )
