import dataclasses

from django import forms
from django.utils.translation import gettext_lazy as _

from care.registry import specs
from care.winback.models import WinbackReason
from care.workspace.models import Contact, OutcomeCode
from care.workspace.selectors import QueueFilters, outcome_needs
from complaints.models import Complaint, ComplaintCategory
from customers.models import Customer
from service.models import InsurancePolicy
from vehicles.models import Vehicle


def call_kinds() -> list[tuple[str, str]]:
    """Kinds that are worked by phone, read when a form is made (so a kind
    registered later is there too): message-only kinds, those whose default
    rules all send messages, never reach the queue."""
    return [("", _("All kinds")), *((spec.kind, spec.label) for spec in specs() if not spec.message_only)]


class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=50, required=False)
    kind = forms.ChoiceField(label=_("kind"), choices=call_kinds, required=False)
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


class OutcomeSelect(forms.Select):
    """Each option names the fields its outcome needs (``data-needs``): the
    panel's script shows just those; without it every field shows."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        code = getattr(value, "instance", None)  # ModelChoiceIteratorValue; None for the empty choice
        if code is not None:
            option["attrs"]["data-needs"] = " ".join(outcome_needs(code))
        return option


@dataclasses.dataclass(frozen=True)
class NeededField:
    """A field of the outcome form that only some outcomes need, with those outcomes."""

    field: forms.BoundField
    outcomes: list[OutcomeCode]

    @property
    def codes(self) -> str:
        return " ".join(o.code for o in self.outcomes)

    @property
    def hint(self) -> str:
        """The outcomes the field is for, e.g. "(for 已预约到店)": read when no script hides the others."""
        if not self.outcomes:
            return ""
        return _("(for %(outcomes)s)") % {"outcomes": " / ".join(o.label for o in self.outcomes)}


class OutcomeForm(forms.Form):
    # Shown only for the outcomes that need them (``outcome_needs``), in this order.
    NEEDED_FIELDS = (
        "appointment_at",
        "follow_up_on",
        "satisfaction",
        "reason",
        "where",
        "why",
        "insurer",
        "policy_kind",
        "premium",
        "starts_on",
        "ends_on",
    )
    DETAILS = (
        "reason",
        "where",
        "why",
        "insurer",
        "satisfaction",
        "policy_kind",
        "premium",
        "starts_on",
        "ends_on",
        "nps",
        "comment",
    )

    code = forms.ModelChoiceField(
        label=_("Outcome"),
        queryset=OutcomeCode.objects.filter(active=True),
        empty_label=_("Choose the outcome"),
        widget=OutcomeSelect,
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
    # A policy placed here ("renewed with us"): care.workspace.insurance.
    policy_kind = forms.ChoiceField(
        label=_("Insurance kind"), choices=[("", "—"), *InsurancePolicy.Kind.choices], required=False
    )
    premium = forms.DecimalField(
        label=_("Premium (yuan)"), min_value=0, max_digits=10, decimal_places=2, required=False
    )
    starts_on = forms.DateField(
        label=_("Policy starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    ends_on = forms.DateField(
        label=_("Policy ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    satisfaction = forms.IntegerField(
        label=_("Customer's satisfaction (1–5)"),
        min_value=1,
        max_value=5,
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": 5, "step": 1}),
    )
    # CSAT is ``satisfaction``; the recommend question and the customer's own words with it.
    nps = forms.IntegerField(
        label=_("How likely to recommend us to a friend (0–10)"),
        min_value=0,
        max_value=10,
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": 10, "step": 1}),
    )
    comment = forms.CharField(
        label=_("The customer's comment"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def details(self) -> dict:
        values = {key: self.cleaned_data.get(key) for key in self.DETAILS}
        return {key: "" if value is None else value for key, value in values.items()}

    def needed_fields(self, outcomes: list[OutcomeCode], *, asked: tuple[str, ...] = ()) -> list[NeededField]:
        """The fields only some outcomes need, each with the ``outcomes`` (the panel's) that need it;
        but not those the call's survey asks (``asked``): they are in the survey's block."""
        needs = {code.pk: outcome_needs(code) for code in outcomes}
        return [
            NeededField(field=self[name], outcomes=[o for o in outcomes if name in needs[o.pk]])
            for name in self.NEEDED_FIELDS
            if name not in asked
        ]


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


class ComplaintRaiseForm(forms.Form):
    """A complaint the customer makes on a call (``care.workspace.complaints.care_complaint_raise``)."""

    category = forms.ModelChoiceField(
        label=_("Category"), queryset=ComplaintCategory.objects.filter(active=True), empty_label=_("Choose")
    )
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Complaint.Severity.choices, initial=Complaint.Severity.NORMAL
    )
    description = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3}))
    demand = forms.CharField(
        label=_("What the customer wants"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
