"""The care rule's admin form: target tiers as checkboxes, the cadence as a list
of days, and each parameter the rule's kind declares (``KindSpec.params``) as
a field of its own, ``param_<name>``.

The parameter fields follow the kind the form is for (``care_rule_form(kind)``):
the saved rule's, or the one chosen on the page. When the kind posted is not
the one whose fields the page showed (a kind chosen on the add page, or
changed), nothing is saved: the page comes back with the new kind's fields,
filled with their defaults, to check and save again.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from care.registry import KindSpec, Param, spec_for
from care.touches.models import CareRule
from customers.models import Customer

PARAM_PREFIX = "param_"
# A message of ``clean_params`` about one key starts with it: "end: …", "segment.usage: …".
_ABOUT_KEY = re.compile(r"^(?P<key>\w+)(?P<sep>\s*[:：]\s*|\.)")


class IntListField(forms.CharField):
    """Whole numbers separated by commas ("45, 33, 30"); a pasted JSON list is fine too."""

    def __init__(self, *, min_value: int | None = None, **kwargs):
        self.min_value = min_value
        kwargs["help_text"] = kwargs.get("help_text") or _("Whole numbers separated by commas, such as 45, 33, 30.")
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[int]:
        if isinstance(value, (list, tuple)):
            return list(value)
        numbers = []
        for part in _split(super().to_python(value)):
            if not re.fullmatch(r"[+-]?\d+", part):
                raise ValidationError(
                    _("“%(value)s” is not a whole number: write whole numbers separated by commas, e.g. 45, 33, 30."),
                    code="invalid",
                    params={"value": part},
                )
            number = int(part)
            if self.min_value is not None and number < self.min_value:
                raise ValidationError(
                    _("%(value)s: each number must be at least %(min)s."),
                    code="min_value",
                    params={"value": number, "min": self.min_value},
                )
            numbers.append(number)
        return numbers


class StrListField(forms.CharField):
    """Words separated by commas."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, (list, tuple)):
            return list(value)
        return _split(super().to_python(value))


def _split(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip().strip("\"'") for part in re.split(r"[,，、;；\s]+", text) if part.strip().strip("\"'")]


def param_field(param: Param) -> forms.Field:
    """The form field for one declared parameter of a kind."""
    common = {"label": param.label, "help_text": param.help_text, "required": param.required}
    choices = list(param.choices)
    match param.type:
        case "int":
            return forms.IntegerField(min_value=param.min_value, **common)
        case "date":
            return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
        case "bool":
            return forms.BooleanField(**{**common, "required": False})
        case "choice":
            return forms.ChoiceField(choices=choices if param.required else [("", "—"), *choices], **common)
        case "multichoice":
            return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
        case "int_list":
            return IntListField(min_value=param.min_value, **common)
        case "str_list":
            return StrListField(**common)
        case "json":
            return forms.JSONField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), **common)
        case _:  # "str", and any type a newer kind declares before the form knows it
            return forms.CharField(**common)


def _stored(param: Param, value: Any) -> tuple[bool, Any]:
    """What the field's cleaned value keeps in ``params``: (keep, value). A
    cleared number, date, choice or JSON gives the key up (the kind's default
    applies again), and so does a choice of several without a default where
    none is ticked ("none ticked: every festival"); text and lists keep what
    was entered, empty or not."""
    if isinstance(value, datetime.date):
        return True, value.isoformat()  # the kinds read ISO dates
    if value is None or (value == "" and param.type in {"int", "date", "choice", "json"}):
        return False, None
    if value == [] and param.type == "multichoice" and param.default is None:
        return False, None
    return True, value


class CareRuleForm(forms.ModelForm):
    """The base form; ``care_rule_form(kind)`` adds the kind's parameter fields."""

    # Set by care_rule_form: the kind whose parameters the form has fields for.
    kind_name: str = ""
    kind_params: tuple[Param, ...] = ()
    # The kind whose parameter fields the page showed: another kind posted is
    # checked again before it is saved.
    params_kind = forms.CharField(label=_("parameters shown for"), widget=forms.HiddenInput, required=False)

    target_tiers = forms.MultipleChoiceField(
        label=CareRule._meta.get_field("target_tiers").verbose_name,
        choices=Customer.ValueTier.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The value tiers of the customers to contact."),
        error_messages={"required": _("Choose at least one tier.")},
    )
    cadence_days = IntListField(
        label=CareRule._meta.get_field("cadence_days").verbose_name,
        min_value=0,
        required=False,
        help_text=_(
            "Further contacts, in whole days before the event, separated by commas, such as 45, 33, 30. "
            "Empty: one contact at lead days."
        ),
    )

    class Meta:
        model = CareRule
        fields = [
            "dealership",
            "kind",
            "name",
            "enabled",
            "channel",
            "priority",
            "target_tiers",
            "lead_days",
            "cadence_days",
            "expiry_days",
            "message_day_before",
            "message_template",
            "gateway_template_code",
            "call_script",
            "params",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.kind_params:
            self.fields.pop("params", None)  # written from the parameter fields (see clean)
        self.initial["target_tiers"] = list(self.instance.target_tiers or "")
        self.initial["params_kind"] = self.kind_name
        stored = self._stored_params()
        for param in self.kind_params:
            name = PARAM_PREFIX + param.name
            value = stored.get(param.name, param.default)
            if value is None and param.type == "multichoice":
                value = [code for code, _label in param.choices]  # no list: every choice (the holiday kind)
            if param.type == "date" and isinstance(value, str):
                value = _iso_date(value)
            self.initial.setdefault(name, value)
        shown = self.data.get(self.add_prefix("params_kind")) if self.is_bound else self.kind_name
        self.kind_switched = bool(self.kind_params) and shown != self.kind_name
        if self.kind_switched:
            self._show_defaults()

    def _stored_params(self) -> dict:
        params = self.instance.params
        return dict(params) if isinstance(params, dict) else {}

    def _show_defaults(self) -> None:
        """The posted kind is not the one the page showed fields for: show its
        fields with their defaults (the stored values), instead of blanks."""
        data = self.data.copy()
        for param in self.kind_params:
            name = PARAM_PREFIX + param.name
            key, field = self.add_prefix(name), self.fields[name]
            value = self.initial.get(name)
            data.pop(key, None)
            if param.type == "bool":
                if value:
                    data[key] = "on"
            elif param.type == "multichoice":
                data.setlist(key, [str(v) for v in value or []])
            else:
                prepared = field.prepare_value(value)
                data[key] = "" if prepared is None else str(prepared)
        data[self.add_prefix("params_kind")] = self.kind_name
        self.data = data

    def clean_target_tiers(self) -> str:
        chosen = set(self.cleaned_data["target_tiers"])
        return "".join(tier for tier in "ABCD" if tier in chosen)

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.kind_params:
            return cleaned
        if self.kind_switched:
            return cleaned  # see _post_clean
        params = self._stored_params()  # keys the spec does not declare stay as they are
        for param in self.kind_params:
            name = PARAM_PREFIX + param.name
            if name not in cleaned:
                continue  # invalid: its field shows the error
            if param.name not in params and name not in self.changed_data:
                continue  # never set, left as shown: the kind's default keeps applying
            keep, value = _stored(param, cleaned[name])
            if keep:
                params[param.name] = value
            else:
                params.pop(param.name, None)
        # Not a field of this form: construct_instance leaves it alone, and the
        # model's clean() checks it with the kind's clean_params.
        self.instance.params = params
        return cleaned

    def _post_clean(self) -> None:
        if self.kind_switched:
            # Nothing is saved this time, and the model is not checked: its
            # parameters are the ones the page is about to show.
            message = _("This kind has parameters of its own: check them below, then save again.")
            self.add_error("kind", ValidationError(message, code="params"))
            return
        super()._post_clean()

    def add_error(self, field, error) -> None:
        """Errors the model reports on ``params`` (from the kind's ``clean_params``)
        go to the parameter they name, when the form has a field for it."""
        if field is None and "params" not in self.fields and hasattr(error, "error_dict"):
            errors = dict(error.error_dict)
            for message in ValidationError(errors.pop("params", [])).messages:
                super().add_error(*self._route(message))
            if not errors:
                return
            error = ValidationError(errors)
        super().add_error(field, error)

    def _route(self, message: str) -> tuple[str | None, str]:
        found = _ABOUT_KEY.match(message)
        name = PARAM_PREFIX + found["key"] if found else ""
        if name not in self.fields:
            return None, message
        # "end: cannot end before it starts" on the end field reads "cannot end before it starts".
        return name, message[found.end() :] if found["sep"] != "." else message


def _iso_date(value: str) -> datetime.date | str:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return value  # shown as stored; the field says what is wrong


def care_rule_form(kind: str) -> type[CareRuleForm]:
    """The rule form for ``kind``: the base fields and one per declared parameter."""
    spec: KindSpec | None = spec_for(kind) if kind else None
    params = spec.params if spec else ()
    attrs: dict[str, Any] = {PARAM_PREFIX + p.name: param_field(p) for p in params}
    attrs.update(kind_params=tuple(params), kind_name=kind if spec else "")
    return type(f"CareRuleForm[{kind or '-'}]", (CareRuleForm,), attrs)


def param_field_names(kind: str) -> list[str]:
    spec = spec_for(kind) if kind else None
    return [PARAM_PREFIX + p.name for p in spec.params] if spec else []
