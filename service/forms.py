import datetime

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership

# Days the appointments page can show: far beyond any booking, and inside what
# both databases and Python's dates can shift by a day and a time zone.
FIRST_DAY = datetime.date(2000, 1, 1)
LAST_DAY = datetime.date(2099, 12, 31)


class AppointmentDayForm(forms.Form):
    """The appointments page's switches: the day, and for group-level users the store."""

    day = forms.DateField(
        label=_("Day"),
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    dealership = forms.ModelChoiceField(
        label=_("dealership"), required=False, queryset=Dealership.objects.none(), empty_label=_("All dealerships")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.is_group_level:
            self.fields["dealership"].queryset = Dealership.objects.filter(is_active=True).order_by("code")
        else:
            # The own store is the only one there is: no choice, and no query for the options.
            del self.fields["dealership"]


class RepairOrderAdminForm(forms.ModelForm):
    """The admin's repair order form (the admin supplies the model and fields):
    the technician works in the order's own store."""

    def clean(self):
        cleaned = super().clean()
        technician, dealership = cleaned.get("technician"), cleaned.get("dealership")
        if technician is not None and dealership is not None and technician.dealership_id != dealership.pk:
            self.add_error("technician", _("Choose a technician of the order's own dealership."))
        return cleaned
