"""The public complaint form: what a customer types, checked and normalised."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.validators import normalize_mobile, normalize_plate, validate_mobile

# The field bots fill and people never see (hidden by CSS, skipped by screen
# readers and the tab key); a filled one is answered "thank you" and dropped.
HONEYPOT = "website"

DESCRIPTION_MAX = 2000
DEMAND_MAX = 1000


class PublicComplaintForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=50,
        error_messages={"required": _("Tell us your name.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        error_messages={"required": _("Enter your mobile number: we reply to it.")},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    plate = forms.CharField(
        label=_("Plate number (optional)"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 沪A12345"), "autocapitalize": "characters"}),
    )
    description = forms.CharField(
        label=_("What happened"),
        max_length=DESCRIPTION_MAX,
        error_messages={"required": _("Tell us what happened.")},
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    demand = forms.CharField(
        label=_("What you would like us to do"),
        max_length=DEMAND_MAX,
        error_messages={"required": _("Tell us what you would like us to do.")},
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("description", "demand"):
            field = self.fields[name]
            field.error_messages["max_length"] = _(
                "Please keep this to %(limit_value)d characters (it has %(show_value)d)."
            )
            # No maxlength in the page: a browser would cut a long paste without
            # a word; the server's message says how long it may be, text kept.
            field.widget.attrs.pop("maxlength", None)

    def clean_mobile(self) -> str:
        mobile = normalize_mobile(self.cleaned_data["mobile"])
        validate_mobile(mobile)
        return mobile

    def clean_plate(self) -> str:
        # Not checked against the plate rules: the plate only links a car the
        # store knows, and any other text is kept for the handler to read.
        return normalize_plate(self.cleaned_data["plate"])
