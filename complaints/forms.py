"""The complaint pages' forms. They only parse what was typed: the rules (which
step comes next, what it needs, who may handle a case) live in
``complaints.services``, whose ValidationErrors the views put back on these
forms' fields."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint, ComplaintCategory
from complaints.selectors import BoardFilters, BoardState
from complaints.services import NEEDS_LESSON, STEP_DATA

Status = Complaint.Status


def _staff_choices(staff, empty_label) -> list[tuple]:
    return [("", empty_label), *((u.pk, u.display_name) for u in staff)]


def add_service_errors(form: forms.Form, exc: ValidationError, rename: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError on the form: each field's message on the
    field when the form shows it, the others above the form."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            field = rename.get(field, field)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class BoardFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("SLA"), choices=[("", _("Any SLA state")), *BoardState.choices], required=False)
    severity = forms.ChoiceField(
        label=_("severity"), choices=[("", _("Any severity")), *Complaint.Severity.choices], required=False
    )
    category = forms.TypedChoiceField(label=_("category"), coerce=int, required=False, empty_value=None)
    channel = forms.ChoiceField(
        label=_("channel"), choices=[("", _("Any channel")), *Complaint.Channel.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("status"),
        choices=[("", _("Any open step")), *((v, label) for v, label in Status.choices if v != Status.CLOSED)],
        required=False,
    )
    handler = forms.TypedChoiceField(label=_("handler"), coerce=int, required=False, empty_value=None)
    advisor = forms.TypedChoiceField(label=_("advisor"), coerce=int, required=False, empty_value=None)
    technician = forms.TypedChoiceField(label=_("technician"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, categories, staff, technicians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any category")), *((c.pk, c.label) for c in categories)]
        self.fields["handler"].choices = _staff_choices(staff, _("Any handler"))
        self.fields["advisor"].choices = _staff_choices(staff, _("Any advisor"))
        self.fields["technician"].choices = [("", _("Any technician")), *((t.pk, t.name) for t in technicians)]

    def filters(self) -> BoardFilters:
        """The filters typed; a filter with a bad value is dropped (the form shows why)."""
        if not self.is_bound:
            return BoardFilters()
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}
        return BoardFilters(**data)


class StepForm(forms.Form):
    """The next step of the loop with the fields it records (``STEP_DATA``; the
    lesson when a major case closes). Whether a field is needed is the
    service's to say: every field here is optional."""

    prefix = "step"

    to = forms.ChoiceField(
        choices=[(v, label) for v, label in Status.choices if v not in (Status.RECEIVED, Status.REOPENED)],
        widget=forms.HiddenInput,
    )
    findings = forms.CharField(
        label=_("investigation findings"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    cause = forms.CharField(label=_("cause"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    remedy = forms.CharField(label=_("remedy"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    goodwill_cost = forms.CharField(
        label=_("goodwill cost (yuan)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    customer_agreed = forms.TypedChoiceField(
        label=_("customer agreed"),
        choices=[("", "—"), ("yes", _("Yes, the customer agrees")), ("no", _("No, the customer does not agree"))],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    customer_answer = forms.CharField(
        label=_("customer's answer"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    action_taken = forms.CharField(label=_("what was done"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    follow_up = forms.CharField(label=_("follow-up"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    lesson = forms.CharField(
        label=_("lesson learned: what changes in the process"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, case: Complaint, target: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.fields["to"].initial = target
        shown = set(STEP_DATA.get(target, {})) | {"to", "note"}
        if target == Status.CLOSED and case.severity in NEEDS_LESSON:
            shown.add("lesson")
        for name in list(self.fields):
            if name not in shown:
                del self.fields[name]
        self.needed = {name for name, required in STEP_DATA.get(target, {}).items() if required}
        if "lesson" in shown:
            self.needed.add("lesson")

    @property
    def step_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in ("to", "note")]

    def step_data(self) -> dict:
        """The posted step's own fields (a step is given only what it records)."""
        to = self.cleaned_data["to"]
        data = {name: self.cleaned_data[name] for name in STEP_DATA.get(to, {}) if name in self.cleaned_data}
        if to == Status.CLOSED and "lesson" in self.cleaned_data:
            data["lesson"] = self.cleaned_data["lesson"]
        return data


class NoteForm(forms.Form):
    """An action that only takes a note: customer contacted, resume."""

    note = forms.CharField(label=_("note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ContactedForm(NoteForm):
    prefix = "contacted"


class ResumeForm(NoteForm):
    prefix = "resume"


class PauseForm(forms.Form):
    prefix = "pause"

    waiting_on = forms.ChoiceField(
        label=_("waiting on"), choices=[("", "—"), *Complaint.WaitingOn.choices], required=False
    )
    pause_reason = forms.CharField(label=_("why it waits"), max_length=200, required=False)


class AssignForm(forms.Form):
    prefix = "assign"

    handler = forms.TypedChoiceField(label=_("handler"), coerce=int, empty_value=None, required=False)
    note = forms.CharField(label=_("note"), required=False, max_length=2000)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = {u.pk: u for u in staff}
        self.fields["handler"].choices = _staff_choices(staff, _("Choose a colleague"))

    def clean_handler(self):
        pk = self.cleaned_data["handler"]
        if pk is None:
            raise forms.ValidationError(_("Choose a colleague."))
        return self.staff[pk]


class ReopenForm(forms.Form):
    prefix = "reopen"

    note = forms.CharField(label=_("why it is reopened"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RepairOrderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.number} · {timezone.localtime(obj.opened_at):%Y-%m-%d} · {obj.get_kind_display()}"


class ComplaintNewForm(forms.Form):
    """A complaint received by phone or in person, for a customer already chosen."""

    vehicle = forms.ModelChoiceField(label=_("vehicle"), queryset=None, required=False, empty_label="—")
    repair_order = RepairOrderChoiceField(label=_("repair order"), queryset=None, required=False, empty_label="—")
    channel = forms.ChoiceField(label=_("channel"), choices=[("", "—"), *Complaint.Channel.choices], required=False)
    carmaker_reference = forms.CharField(
        label=_("carmaker's case reference"),
        max_length=60,
        required=False,
        help_text=_("For cases from the carmaker hotline."),
    )
    category = forms.ModelChoiceField(
        label=_("category"), queryset=ComplaintCategory.objects.filter(active=True), empty_label="—"
    )
    severity = forms.ChoiceField(
        label=_("severity"), choices=Complaint.Severity.choices, initial=Complaint.Severity.NORMAL, required=False
    )
    description = forms.CharField(label=_("what happened"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    demand = forms.CharField(
        label=_("what the customer wants"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    handler = forms.TypedChoiceField(label=_("handler"), coerce=int, empty_value=None, required=False)
    staff_involved = forms.TypedChoiceField(
        label=_("staff involved"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("The staff member the complaint is about; never its handler."),
    )

    def __init__(self, *args, customer, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vehicle"].queryset = customer.vehicles.select_related("model").order_by("pk")
        self.fields["repair_order"].queryset = customer.repair_orders.order_by("-opened_at", "-pk")
        self.staff = {u.pk: u for u in staff}
        self.fields["handler"].choices = _staff_choices(staff, "—")
        self.fields["staff_involved"].choices = _staff_choices(staff, "—")

    def clean_handler(self):
        pk = self.cleaned_data["handler"]
        return self.staff[pk] if pk is not None else None

    def clean_staff_involved(self):
        pk = self.cleaned_data["staff_involved"]
        return self.staff[pk] if pk is not None else None
