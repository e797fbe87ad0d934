from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.validators import normalize_id_number, normalize_mobile
from customers.models import Customer


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=50)
    value_tier = forms.ChoiceField(
        label=_("value tier"), required=False, choices=[("", _("All tiers")), *Customer.ValueTier.choices]
    )
    churn_state = forms.ChoiceField(
        label=_("churn state"), required=False, choices=[("", _("All")), *Customer.ChurnState.choices]
    )


class CustomerForm(forms.ModelForm):
    """The customer card as advisors and admins edit it: inputs are normalized
    (spaces, +86, lower-case X) before the validators run."""

    class Meta:
        model = Customer
        fields = [
            "name",
            "phone",
            "id_number",
            "gender",
            "occupation",
            "birthday",
            "lunar_birthday_month",
            "lunar_birthday_day",
            "lunar_birthday_leap",
            "city",
            "district",
            "address",
            "email",
            "preferred_channel",
            "marketing_consent",
            "source",
            "advisor",
            "notes",
        ]

    # Longer than the stored 11 digits: "+86 139 0000 1111" is normalized in
    # clean_phone, then the model's validator checks the result.
    phone = forms.CharField(label=_("mobile"), max_length=20)

    # The stored number is never sent back to the browser: the field starts
    # empty, the masked number is shown beside it, and empty keeps it.
    id_number = forms.CharField(
        label=_("ID number"),
        required=False,
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["id_number"] = ""
        if self.instance.pk and self.instance.id_number:
            self.fields["id_number"].help_text = _("On file: %(masked)s. Leave empty to keep it.") % {
                "masked": self.instance.id_number_masked
            }

    def clean_phone(self) -> str:
        return normalize_mobile(self.cleaned_data["phone"])

    def clean_id_number(self) -> str:
        value = normalize_id_number(self.cleaned_data["id_number"])
        if not value and self.instance.pk:
            return self.instance.id_number
        return value


class CustomerAdminForm(CustomerForm):
    """The admin's card: a pinned tier needs a reason."""

    def clean(self):
        data = super().clean()
        if data.get("tier_pinned") and not (data.get("tier_pin_reason") or "").strip():
            self.add_error("tier_pin_reason", _("Say why the tier is pinned."))
        return data


class CustomerEditForm(CustomerForm):
    """The card plus the advisor's observations, as edited on the customer's page."""

    class Meta(CustomerForm.Meta):
        fields = [
            *CustomerForm.Meta.fields,
            "phone_wrong",
            "traits",
            "interests",
            "typical_events",
            "visit_pattern",
            "payment_habits",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the advisors of the customer's own store.
        self.fields["advisor"].queryset = User.objects.filter(
            role=User.Role.ADVISOR, is_active=True, dealership_id=self.instance.dealership_id
        )
        self.fields["birthday"].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
