"""Insurance policies placed at the dealership."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Q,
)
from django.utils.translation import gettext as _

from service.models import InsurancePolicy
from vehicles.models import Vehicle

# --- Insurance placed here ----------------------------------------------------------


def _insurance_errors(*, vehicle, insurer, kind, premium, starts_on, ends_on, by, source) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (insurer or "").strip():
        errors["insurer"] = [_("Enter the insurer.")]
    if kind not in InsurancePolicy.Kind.values:
        errors["kind"] = [_("Choose compulsory or commercial insurance.")]
    if source not in InsurancePolicy.Source.values:
        errors["source"] = [_("Say where the policy was recorded.")]
    if premium is None:
        errors["premium"] = [_("Enter the premium.")]
    elif premium < 0:
        errors["premium"] = [_("The premium cannot be negative.")]
    if not isinstance(starts_on, datetime.date):
        errors["starts_on"] = [_("Enter the day the policy starts.")]
    if not isinstance(ends_on, datetime.date):
        errors["ends_on"] = [_("Enter the day the policy ends.")]
    elif isinstance(starts_on, datetime.date) and ends_on <= starts_on:
        errors["ends_on"] = [_("The policy ends after it starts.")]
    store = vehicle.customer.dealership_id
    if by is not None and not by.is_group_level and by.dealership_id != store:
        errors["vehicle"] = [_("Choose a car of your own dealership.")]
    return errors


def _decimal_or_none(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).strip())
    except ArithmeticError:
        return Decimal("NaN")


def insurance_policy_record(
    *,
    vehicle: Vehicle,
    insurer: str,
    kind: str,
    premium,
    starts_on: datetime.date,
    ends_on: datetime.date,
    by,
    source: str,
) -> InsurancePolicy:
    """A policy the store sold or renewed for a car: recorded for the car's
    customer at the customer's store, and the car's insurance moved on to
    ``ends_on`` when that is later than what the car had (so care's renewal
    touches about the old expiry close as fulfilled: ``care.kinds.insurance``).
    The night earns its points (``loyalty.services.points_earn``).

    Raises ValidationError with a message per field (``insurer``, ``kind``,
    ``premium``, ``starts_on``, ``ends_on``, ``vehicle``): nothing is saved."""
    amount = _decimal_or_none(premium)
    if amount is not None and not amount.is_finite():
        raise ValidationError({"premium": [_("Enter the premium as a number of yuan.")]})
    errors = _insurance_errors(
        vehicle=vehicle,
        insurer=insurer,
        kind=kind,
        premium=amount,
        starts_on=starts_on,
        ends_on=ends_on,
        by=by,
        source=source,
    )
    if errors:
        raise ValidationError(errors)
    customer = vehicle.customer
    policy = InsurancePolicy(
        dealership_id=customer.dealership_id,
        vehicle=vehicle,
        customer=customer,
        insurer=insurer.strip(),
        kind=kind,
        premium=amount,
        starts_on=starts_on,
        ends_on=ends_on,
        source=source,
        sold_by=by,
    )
    # The fields' own limits (digits of the premium, the insurer's length); the
    # references were checked above and would cost a query each.
    policy.clean_fields(exclude=["dealership", "vehicle", "customer", "sold_by"])
    with transaction.atomic():
        policy.save()
        moved = (
            Vehicle.objects.filter(pk=vehicle.pk)
            .filter(Q(insurance_expiry_date__isnull=True) | Q(insurance_expiry_date__lt=ends_on))
            .update(
                insurance_expiry_date=ends_on, insurer=policy.insurer[: Vehicle._meta.get_field("insurer").max_length]
            )
        )
    if moved:
        vehicle.insurance_expiry_date = ends_on
        vehicle.insurer = policy.insurer[: Vehicle._meta.get_field("insurer").max_length]
    return policy
