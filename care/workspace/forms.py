from django import forms
from django.utils.translation import gettext_lazy as _

from care.registry import CareKind
from care.winback.models import WinbackReason
from care.workspace.models import Contact, OutcomeCode
from care.workspace.selectors import QueueFilters
from customers.models import Customer
from vehicles.models import Vehicle

# Kinds that are worked by phone (message-only kinds never reach the queue).
CALL_KINDS = [
    (value, label)
    for value, label in CareKind.choices
    if value not in {CareKind.BIRTHDAY, CareKind.HOLIDAY, CareKind.WEATHER}
]


class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=50, required=False)
    kind = forms.ChoiceField(label=_("kind"), choices=[("", _("All kinds")), *CALL_KINDS], required=False)
    tier = forms.ChoiceField(
        label=_("value tier"), choices=[("", _("All tiers")), *Customer.ValueTier.choices], required=False
    )
    usage = forms.ChoiceField(
        label=_("vehicle usage"), choices=[("", _("Any usage")), *Vehicle.Usage.choices], required=False
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    advisor = forms.TypedChoiceField(label=_("advisor"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, advisors=None, **kwargs):
        """``advisors``: the store's advisors to filter by (managers); None for an advisor's own queue."""
        super().__init__(*args, **kwargs)
        if advisors is None:
            del self.fields["advisor"]
        else:
            choices = [(a.pk, a.display_name) for a in advisors]
            self.fields["advisor"].choices = [("", _("All advisors")), *choices]

    def filters(self) -> QueueFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return QueueFilters(
            kind=data.get("kind", ""),
            tier=data.get("tier", ""),
            overdue=bool(data.get("overdue")),
            usage=data.get("usage", ""),
            q=(data.get("q") or "").strip(),
            advisor=data.get("advisor"),
        )


class OutcomeForm(forms.Form):
    code = forms.ModelChoiceField(
        label=_("Outcome"), queryset=OutcomeCode.objects.filter(active=True), empty_label=_("Choose the outcome")
    )
    appointment_at = forms.DateTimeField(
        label=_("Appointment"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    follow_up_on = forms.DateField(
        label=_("Call again on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    where = forms.CharField(label=_("Where"), max_length=100, required=False)
    why = forms.CharField(label=_("Why there"), max_length=200, required=False)
    insurer = forms.CharField(label=_("Insurer"), max_length=60, required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def details(self) -> dict:
        return {key: self.cleaned_data.get(key, "") for key in ("reason", "where", "why", "insurer")}


class ReassignForm(forms.Form):
    tasks = forms.CharField(widget=forms.HiddenInput)
    to_user = forms.TypedChoiceField(label=_("Give to"), coerce=int)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, advisors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].choices = [(a.pk, a.display_name) for a in advisors]

    def clean_tasks(self) -> list[int]:
        raw = self.cleaned_data["tasks"].replace(",", " ").split()
        if not raw or not all(part.isdigit() for part in raw):
            raise forms.ValidationError(_("Select at least one call."))
        return [int(part) for part in raw]


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=Contact.Channel.choices, initial=Contact.Channel.CALL)
    code = forms.ModelChoiceField(label=_("Outcome"), queryset=OutcomeCode.objects.filter(active=True), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class WinbackSurveyForm(forms.Form):
    """The win-back survey (seed 003), asked on a call with a win-back touch;
    stored by ``care.winback.winback_survey_record``."""

    # The outcome form has "where" and "why" of its own.
    prefix = "survey"

    reasons = forms.MultipleChoiceField(
        label=_("Why not back"), choices=WinbackReason.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    repaired_elsewhere = forms.TypedChoiceField(
        label=_("Repaired elsewhere meanwhile"),
        choices=[("", _("Unknown")), ("yes", _("Yes")), ("no", _("No"))],
        coerce={"yes": True, "no": False}.get,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    what = forms.CharField(label=_("What was done"), max_length=200, required=False)
    where = forms.CharField(label=_("Where"), max_length=100, required=False)
    why_there = forms.CharField(label=_("Why there"), max_length=200, required=False)
    other = forms.CharField(label=_("Other reason"), max_length=200, required=False)
