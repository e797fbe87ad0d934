"""Message templates and call scripts with ``{placeholder}`` fields.

Only known placeholders are allowed: an admin who types ``{nmae}`` gets a
validation error when saving the rule, not a broken message to a customer.
"""

import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PLACEHOLDERS = {
    "name": _("customer's name"),
    "title": _("先生 or 女士"),
    "plate": _("plate number"),
    "model": _("vehicle model"),
    "due_date": _("date of the event (due date, expiry, birthday)"),
    "mileage": _("current or due mileage"),
    "advisor": _("advisor's name"),
    "advisor_phone": _("advisor's mobile"),
    "dealership": _("dealership's name"),
    "booking_phone": _("booking phone"),
    "rescue_phone": _("24-hour rescue phone"),
    "item": _("work item (declined work, campaign, holiday)"),
    "price": _("quoted price"),
    "case_number": _("complaint case number"),
    "remedy": _("the complaint's remedy"),
    "status_link": _("link to the complaint's status page"),
    "card_level": _("membership card level"),
    "card_number": _("membership card number"),
    "valid_until": _("membership card valid until"),
    "benefits": _("the card's benefits"),
    "referred": _("the referred customer (surname and title)"),
    "event_link": _("link to register for the club event"),
    "survey_link": _("link to the satisfaction survey"),
}


def template_fields(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template or "") if name is not None]
    except ValueError as exc:
        raise ValidationError(_("The template has an unmatched brace: %(error)s") % {"error": exc}) from exc


def validate_template(template: str) -> None:
    unknown = sorted({name for name in template_fields(template) if name not in PLACEHOLDERS})
    if unknown:
        raise ValidationError(
            _("Unknown placeholders: %(names)s. Use one of: %(known)s.")
            % {"names": _braced(unknown), "known": _braced(PLACEHOLDERS)},
            code="unknown_placeholder",
        )


def _braced(names) -> str:
    return ", ".join("{" + name + "}" for name in names)


def render(template: str, context: dict) -> str:
    """Fill a validated template; a value the context lacks renders empty."""
    values = dict.fromkeys(PLACEHOLDERS, "")
    values.update({k: "" if v is None else v for k, v in context.items()})
    return (template or "").format_map(values)
