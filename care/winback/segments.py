"""Which lapsed customers a win-back campaign calls: its segment and the checks on it."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from customers.models import Customer

LAPSED_STATES = [Customer.ChurnState.AT_RISK.value, Customer.ChurnState.LOST.value]
_LIST_KEYS = {
    "models": None,  # names of vehicle models, free text
    "brands": None,
    "cities": None,
    "churn_states": LAPSED_STATES,
}
_AGE_KEYS = ("min_age_years", "max_age_years")
CAR_KEYS = ("models", "brands", *_AGE_KEYS)
SEGMENT_KEYS = frozenset(_LIST_KEYS) | frozenset(_AGE_KEYS) | {"tiers"}


def clean_campaign_segment(segment) -> dict:
    """The segment of a win-back campaign, or ValidationError listing every mistake."""
    if segment is None:
        return {}
    if not isinstance(segment, dict):
        raise ValidationError(_('The segment is an object such as {"tiers": "CD"}.'))
    errors: list[str] = []
    for key in sorted(set(segment) - SEGMENT_KEYS):
        errors.append(_("%(key)s: unknown; use %(known)s.") % {"key": key, "known": ", ".join(sorted(SEGMENT_KEYS))})
    for key, choices in _LIST_KEYS.items():
        if key not in segment:
            continue
        values = segment[key]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            errors.append(_("%(key)s: a non-empty list of names.") % {"key": key})
        elif choices is not None and not set(values) <= set(choices):
            errors.append(_("%(key)s: use %(known)s.") % {"key": key, "known": ", ".join(choices)})
    if "tiers" in segment:
        tiers = segment["tiers"]
        if not isinstance(tiers, str) or not tiers or not set(tiers) <= set(Customer.ValueTier.values):
            errors.append(_("tiers: letters of the value tiers, such as CD."))
    for key in _AGE_KEYS:
        value = segment.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors.append(_("%(key)s: a whole number of years ≥ 0.") % {"key": key})
    low, high = segment.get("min_age_years"), segment.get("max_age_years")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.append(_("min_age_years is above max_age_years."))
    if errors:
        raise ValidationError(errors)
    return segment
