"""The new-campaign form: it parses what was typed; the rules live in
``analytics.campaigns.campaign_create``, whose errors the view puts back here."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from analytics.models import Campaign
from customers.models import Customer


def add_service_errors(form: forms.Form, exc: ValidationError, rename: dict[str, str] | None = None) -> None:
    """A service's ValidationError on the form: each message on its field when the form shows it, else above it."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            field = rename.get(field, field)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class CampaignForm(forms.Form):
    """A new campaign; a group-level user also picks the store."""

    dealership = forms.TypedChoiceField(label=_("store"), coerce=int)
    # Not "name": in Chinese that reads as a person's name (姓名).
    name = forms.CharField(label=_("campaign name"), max_length=100)
    kind = forms.ChoiceField(label=_("kind of campaign"), choices=Campaign.Kind.choices)
    starts_on = forms.DateField(label=_("first day of the campaign"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("last day of the campaign"), widget=forms.DateInput(attrs={"type": "date"}))
    cost = forms.DecimalField(
        label=_("cost (yuan)"), min_value=0, max_digits=12, decimal_places=2, initial=Decimal("0")
    )
    holdout_percent = forms.IntegerField(
        label=_("holdout (%)"),
        min_value=0,
        max_value=50,
        initial=10,
        help_text=_("The share of the customers who get no touch, to measure the campaign against (0–50 %)."),
    )
    tiers = forms.MultipleChoiceField(
        label=_("value tiers"),
        choices=Customer.ValueTier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Seasonal and win-back campaigns: none ticked means every tier."),
    )
    churn_states = forms.MultipleChoiceField(
        label=_("churn states"),
        choices=Customer.ChurnState.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Seasonal: active customers unless ticked otherwise; win-back: at risk and lost."),
    )
    recall_campaign = forms.TypedChoiceField(label=_("recall campaign"), coerce=int, required=False, empty_value=None)
    upload = forms.FileField(
        label=_("list of customers"),
        required=False,
        help_text=_(
            "List campaigns: a CSV or XLSX file with one mobile number or plate per row (first column). "
            "Rows that match no customer are listed on the campaign's page."
        ),
    )

    def __init__(self, *args, stores=None, recalls=(), **kwargs):
        super().__init__(*args, **kwargs)
        if stores is None:
            del self.fields["dealership"]
        else:
            self.fields["dealership"].choices = [("", _("Choose a store")), *((s.pk, s.name) for s in stores)]
        self.fields["recall_campaign"].choices = [
            ("", "—"),
            *((r.pk, f"{r.code} {r.title}") for r in recalls),
        ]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == Campaign.Kind.LIST and not cleaned.get("upload"):
            self.add_error("upload", _("A list campaign needs the file of its customers."))
        if kind == Campaign.Kind.RECALL and not cleaned.get("recall_campaign"):
            self.add_error("recall_campaign", _("Choose the recall campaign whose cars' owners to call."))
        return cleaned

    def audience(self) -> dict:
        """The audience of a segment campaign (a list campaign's comes from its file)."""
        data, kind = self.cleaned_data, self.cleaned_data["kind"]
        if kind in (Campaign.Kind.SEASONAL, Campaign.Kind.WINBACK):
            audience = {}
            if data.get("tiers"):
                audience["tiers"] = list(data["tiers"])
            if data.get("churn_states"):
                audience["churn_states"] = list(data["churn_states"])
            return audience
        if kind == Campaign.Kind.RECALL:
            return {"recall_campaign": data.get("recall_campaign")}
        return {}

    @property
    def holdout_share(self) -> Decimal:
        return Decimal(self.cleaned_data["holdout_percent"]) / 100
