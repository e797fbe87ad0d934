"""Forms of the import pages: they parse what was chosen; the rules live in
``imports.services``, whose errors the views put back on the form."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from imports import fields as F
from imports.models import ImportKind


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class UploadForm(forms.Form):
    """The file and what it holds; a group-level user also picks the store."""

    dealership = forms.TypedChoiceField(label=_("store"), coerce=int)
    kind = forms.ChoiceField(label=_("the file holds"), choices=ImportKind.choices, initial=ImportKind.REPAIR_ORDERS)
    file = forms.FileField(
        label=_("file"), help_text=_("An Excel workbook (.xlsx, the first sheet) or a CSV file exported from the DMS.")
    )

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        if stores is None:
            del self.fields["dealership"]
        else:
            self.fields["dealership"].choices = [(s.pk, s.name) for s in stores]


class MappingForm(forms.Form):
    """One choice per field: which column of the file holds it (or none)."""

    def __init__(self, *args, job, **kwargs):
        super().__init__(*args, **kwargs)
        columns = [("", _("— not in the file —"))] + [(h, h) for h in job.header if h]
        for field in F.fields_for(job.kind):
            required = job.kind in field.required
            self.fields[field.key] = forms.ChoiceField(
                label=field.label,
                choices=columns,
                required=required,
                initial=job.mapping.get(field.key, ""),
            )
            self.fields[field.key].widget.attrs["data-required"] = "1" if required else "0"

    def mapping(self) -> dict[str, str]:
        return {key: value for key, value in self.cleaned_data.items() if value}
