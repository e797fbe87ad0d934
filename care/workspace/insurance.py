"""Insurance placed here from a renewal call (issue 12): the outcome "renewed
with us" (``OutcomeCode.places_insurance``) records the policy the store sold
through ``service.services.insurance_policy_record``, which moves the car's
insurance expiry on; the night earns its points. Called by ``care_call_log``
in its transaction: a refused policy leaves the call unlogged and the form
shows why, field by field."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from care.registry import CareKind
from care.touches.models import CareTask
from care.workspace.models import Contact, OutcomeCode
from crm.models import User
from service.models import InsurancePolicy
from service.services import insurance_policy_record
from vehicles.models import Vehicle

# The service's field names as the outcome form calls them.
_FORM_FIELD = {"kind": "policy_kind"}


def _date(details: dict, key: str, errors: dict) -> datetime.date | None:
    value = details.get(key)
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[key] = [_("Enter a valid date.")]
        return None


def _premium(details: dict, errors: dict) -> Decimal | None:
    try:
        value = Decimal(str(details.get("premium")).strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        errors["premium"] = [_("Enter the premium as a number of yuan.")]
        return None
    return value


def insurance_after_call(
    *, group: list[CareTask], contact: Contact, code: OutcomeCode, details: dict, by: User
) -> InsurancePolicy | None:
    """For an outcome that places insurance: the policy of the call's car (the
    first insurance touch's), noted on the contact (``details["insurance_policy"]``).
    The touches close with the outcome's own result (insured with us)."""
    if not code.places_insurance:
        return None
    cars = [t.vehicle_id for t in group if t.kind == CareKind.INSURANCE and t.vehicle_id]
    if not cars:
        raise ValidationError(
            _("This outcome records an insurance policy: use it on an insurance renewal call."), code="no_insurance"
        )
    errors: dict[str, list[str]] = {}
    starts_on, ends_on = _date(details, "starts_on", errors), _date(details, "ends_on", errors)
    premium = _premium(details, errors)
    if errors:
        raise ValidationError(errors)
    try:
        policy = insurance_policy_record(
            vehicle=Vehicle.objects.select_related("customer").get(pk=cars[0]),
            insurer=details.get("insurer", ""),
            kind=details.get("policy_kind", ""),
            premium=premium,
            starts_on=starts_on,
            ends_on=ends_on,
            by=by,
            source=InsurancePolicy.Source.CALL,
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError({_FORM_FIELD.get(k, k): v for k, v in exc.message_dict.items()}) from exc
    contact.details = {**contact.details, "insurance_policy": policy.pk}
    contact.save(update_fields=["details"])
    return policy
