import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.models import Survey
from analytics.surveys.selectors import ResponseFilters
from crm.models import Dealership
from crm.tenancy import scope_for_user

CSAT_CHOICES = [(str(n), str(n)) for n in range(1, 6)]
NPS_CHOICES = [(str(n), str(n)) for n in range(0, 11)]


class SurveyAnswerForm(forms.Form):
    """The customer's answer on the public page: satisfaction (after a visit
    only), how likely to recommend us, and a comment; either score may be
    left out, not both."""

    csat = forms.TypedChoiceField(
        label=_("How satisfied are you with this visit?"),
        choices=CSAT_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("1 very dissatisfied, 5 very satisfied"),
    )
    nps = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend?"),
        choices=NPS_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("0 not at all likely, 10 extremely likely"),
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 1000}),
    )

    def __init__(self, *args, asks_csat: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not asks_csat:
            del self.fields["csat"]

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("csat") is None and data.get("nps") is None:
            raise forms.ValidationError(_("Please answer at least one question."), code="empty")
        return data


class ResponseFilterForm(forms.Form):
    """The managers' filters of the answers. Invalid input is reported and
    falls back to the default of that field, so the page always renders."""

    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    dealership = forms.ModelChoiceField(
        label=_("dealership"),
        required=False,
        queryset=Dealership.objects.none(),
        empty_label=_("All dealerships"),
        error_messages={"invalid_choice": _("Choose a dealership from the list.")},
    )
    kind = forms.ChoiceField(label=_("Survey"), required=False, choices=[("", _("All surveys")), *Survey.Kind.choices])
    channel = forms.ChoiceField(
        label=_("channel"), required=False, choices=[("", _("All channels")), *Survey.Channel.choices]
    )
    detractors = forms.BooleanField(label=_("Detractors only"), required=False)

    DEFAULT_DAYS = 30

    def __init__(self, *args, user, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.group_level = user.is_group_level
        if self.group_level:
            self.fields["dealership"].queryset = scope_for_user(Dealership.objects.all(), user).order_by("code")
        else:
            del self.fields["dealership"]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end of the period is before its start."))
        return data

    def filters(self) -> ResponseFilters:
        data = {}
        if self.is_bound:
            self.is_valid()
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        end = data.get("end") or self.today
        start = data.get("start") or end - datetime.timedelta(days=self.DEFAULT_DAYS - 1)
        if start > end:
            start = end - datetime.timedelta(days=self.DEFAULT_DAYS - 1)
        dealership = data.get("dealership")
        return ResponseFilters(
            start=start,
            end=end,
            dealership_id=dealership.pk if dealership else None,
            kind=data.get("kind") or "",
            channel=data.get("channel") or "",
            detractors=bool(data.get("detractors")),
        )
