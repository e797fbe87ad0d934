"""The club events and referral pages' forms. They parse what was typed; the
rules (places, one registration each, same store, never oneself) live in the
services, whose ValidationErrors the views put back on these forms."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loyalty.events_services import Audience, RewardService
from loyalty.models import ClubEvent, Referral


def add_service_errors(form: forms.Form, exc: ValidationError, rename: dict[str, str] | None = None) -> None:
    """A service's ValidationError on the form: each field's message on its field
    when the form shows it, the rest above the form."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            field = rename.get(field, field)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class EventForm(forms.Form):
    """A new club event; a group-level user also picks the store."""

    prefix = "event"

    dealership = forms.TypedChoiceField(label=_("store"), coerce=int, required=True)
    title = forms.CharField(label=_("title"), max_length=ClubEvent._meta.get_field("title").max_length)
    starts_at = forms.DateTimeField(
        label=_("starts at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    capacity = forms.IntegerField(label=_("places"), min_value=1, max_value=100_000)
    description = forms.CharField(label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        if stores is None:
            del self.fields["dealership"]
        else:
            self.fields["dealership"].choices = [("", _("Choose a store")), *((s.pk, s.name) for s in stores)]


class InviteForm(forms.Form):
    prefix = "invite"

    audience = forms.ChoiceField(label=_("invite"), choices=Audience.choices, widget=forms.RadioSelect)

    def __init__(self, *args, audiences=None, **kwargs):
        super().__init__(*args, **kwargs)
        if audiences is not None:
            self.fields["audience"].choices = [
                (value, _("%(audience)s (%(n)d)") % {"audience": label, "n": n}) for value, label, n in audiences
            ]


class ReferralForm(forms.Form):
    """Who referred whom, each found by mobile, plate or name; when several
    customers match, the form offers them to choose from (keeping what was typed)."""

    prefix = "referral"

    referrer_q = forms.CharField(label=_("referred by (mobile, plate or name)"), max_length=50)
    referrer = forms.TypedChoiceField(
        label=_("which one referred"), coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )
    referred_q = forms.CharField(label=_("new customer (mobile, plate or name)"), max_length=50)
    referred = forms.TypedChoiceField(
        label=_("which one is the new customer"), coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )

    def offer(self, side: str, candidates) -> None:
        """Offer ``candidates`` on the radio field of ``side`` ("referrer" or "referred")."""
        self.fields[side].choices = [
            (c.pk, " · ".join(filter(None, [c.name, c.phone, *(v.plate_number for v in c.vehicle_list)])))
            for c in candidates
        ]


class RewardForm(forms.Form):
    service = forms.ChoiceField(
        label=_("free service"), choices=[("", _("Choose the free service")), *RewardService.choices]
    )


class ReferralFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("status"), choices=[("", _("Any status")), *Referral.Status.choices], required=False
    )
