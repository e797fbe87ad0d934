from django import forms

from crm.validators import normalize_plate
from vehicles.models import Vehicle

_DATE = {"attrs": {"type": "date"}, "format": "%Y-%m-%d"}


class VehicleForm(forms.ModelForm):
    """What the advisor keeps up to date on a car: plate, use, and the dates care reminds of."""

    class Meta:
        model = Vehicle
        fields = [
            "plate_number",
            "colour",
            "usage",
            "status",
            "insurance_expiry_date",
            "insurer",
            "inspection_due_date",
            "warranty_end_date",
            "warranty_end_km",
        ]
        widgets = {
            "insurance_expiry_date": forms.DateInput(**_DATE),
            "inspection_due_date": forms.DateInput(**_DATE),
            "warranty_end_date": forms.DateInput(**_DATE),
        }

    def clean_plate_number(self) -> str:
        return normalize_plate(self.cleaned_data["plate_number"])
