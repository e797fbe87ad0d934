"""The service desk's forms. They parse what was typed; the rules (what is
left, the renewal window, the refund period, the fees) are the services'."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loyalty.models import Benefit, Level, MembershipCard

Route = MembershipCard.Route


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


class DeskSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Plate, mobile or card number"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "placeholder": "沪A12345 · 13912345678 · M00000012"}),
    )


class RedeemForm(forms.Form):
    """One counted benefit used now; the form's prefix is the benefit."""

    quantity = forms.IntegerField(label=_("how many"), min_value=1, max_value=10_000, initial=1)
    note = forms.CharField(label=_("note"), max_length=200, required=False)

    def __init__(self, *args, benefit: str, **kwargs):
        kwargs.setdefault("prefix", benefit)
        super().__init__(*args, **kwargs)
        self.benefit = benefit
        if benefit == Benefit.TOWING_KM:
            self.fields["quantity"].label = _("km")
        self.fields["quantity"].widget.attrs.update({"class": "qty", "inputmode": "numeric"})


class RenewForm(forms.Form):
    prefix = "renew"


class RefundForm(forms.Form):
    prefix = "refund"

    reason = forms.CharField(label=_("why the customer wants the fee back"), max_length=200)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("Say why the card is refunded."))
        return reason


# How a customer joins at the desk: by the fee, or in a campaign. A car bought
# here joins by itself in the night; upgrades are earned, not chosen here.
JOIN_ROUTES = [
    (Route.FEE, Route.FEE.label),
    (Route.REFERRED, Route.REFERRED.label),
    (Route.CAMPAIGN, Route.CAMPAIGN.label),
]


class JoinForm(forms.Form):
    prefix = "join"

    level = forms.ChoiceField(label=_("card"), choices=Level.choices, initial=Level.ORDINARY)
    obtained = forms.ChoiceField(label=_("how"), choices=JOIN_ROUTES, initial=Route.FEE)
