import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Dealership
from crm.validators import normalize_id_number, normalize_mobile
from customers.models import ChurnEvent, ConsentChange, Customer, TierChange


def customer_consent_set(
    *,
    customers: QuerySet[Customer],
    granted: bool,
    source: str,
    at: datetime.datetime,
    detail: str = "",
    by=None,
) -> int:
    """Give or withdraw marketing consent for ``customers``; every customer whose
    consent changes gets a ``ConsentChange`` row. Returns how many changed."""
    with transaction.atomic():
        changing = list(customers.exclude(marketing_consent=granted).select_for_update().values_list("pk", flat=True))
        if not changing:
            return 0
        Customer.objects.filter(pk__in=changing).update(marketing_consent=granted, marketing_consent_at=at)
        ConsentChange.objects.bulk_create(
            ConsentChange(
                customer_id=pk, granted=granted, source=source, detail=detail[:200], changed_at=at, recorded_by=by
            )
            for pk in changing
        )
    return len(changing)


def customer_save(*, form, by) -> Customer:
    """Save an edited customer card; a change of marketing consent is put on record."""
    customer = form.instance
    consent_changed = "marketing_consent" in form.changed_data
    with transaction.atomic():
        if consent_changed:
            customer.marketing_consent_at = timezone.now()
        form.save()
        if consent_changed:
            ConsentChange.objects.create(
                customer=customer,
                granted=customer.marketing_consent,
                source=ConsentChange.Source.ADVISOR,
                changed_at=customer.marketing_consent_at,
                recorded_by=by,
            )
    return customer


def customer_visit_recorded(*, customer_id: int, day: datetime.date) -> bool:
    """A visit (a repair order) on ``day``: the last visit moves forward, and a
    customer who was drifting or lost is active again, recorded as a recovery.
    Returns whether it was a recovery."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().only("churn_state", "last_visit_date").get(pk=customer_id)
        if customer.last_visit_date is None or customer.last_visit_date < day:
            customer.last_visit_date = day
        recovered = customer.churn_state != Customer.ChurnState.ACTIVE
        if recovered:
            ChurnEvent.objects.create(
                customer_id=customer_id, day=day, from_state=customer.churn_state, to_state="active", recovered=True
            )
            customer.churn_state = Customer.ChurnState.ACTIVE
        customer.churn_confirm_by_call = False
        customer.save(update_fields=["last_visit_date", "churn_state", "churn_confirm_by_call"])
    return recovered


def customer_tier_pin(*, customer: Customer, tier: str | None, reason: str, by, day: datetime.date) -> None:
    """A manager fixes a customer's tier (``tier``), or lets the recompute decide
    again (``tier=None``); either way the change is kept in the tier history."""
    if tier is not None and tier not in Customer.ValueTier.values:
        raise ValidationError({"value_tier": [_("Choose A, B, C or D.")]})
    if tier is not None and not reason.strip():
        raise ValidationError({"tier_pin_reason": [_("Say why the tier is pinned.")]})
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        before = customer.value_tier
        if tier is None:
            cause, customer.tier_pinned, customer.tier_pin_reason = TierChange.Cause.UNPINNED, False, ""
        else:
            cause, customer.tier_pinned, customer.tier_pin_reason = TierChange.Cause.PINNED, True, reason.strip()
            customer.value_tier = tier
        customer.save(update_fields=["value_tier", "tier_pinned", "tier_pin_reason"])
        TierChange.objects.create(
            customer=customer,
            day=day,
            from_tier=before,
            to_tier=customer.value_tier,
            cause=cause,
            reason=reason.strip()[:200],
            by=by,
        )


def customer_for_mobile_or_prospect(
    *, dealership: Dealership, phone: str, name: str, note: str
) -> tuple[Customer, bool]:
    """The store's customer with this mobile (normalised, as stored), or a new
    prospect record when the store has none; returns it and whether it is new.

    Only this store's customers are matched: the same mobile at another store is
    another customer record. Of several with the mobile, an active one first,
    then the oldest. A prospect is an ordinary customer record (there is no
    prospect status): source "first visit", no advisor, no marketing consent,
    and ``note`` saying where it came from, for the store to verify.

    The store's row is locked for the caller's transaction, so that two
    submissions with one unknown mobile at once make one prospect, not two."""
    with transaction.atomic():
        list(Dealership.objects.select_for_update().filter(pk=dealership.pk).values_list("pk", flat=True))
        matches = list(Customer.objects.filter(dealership=dealership, phone=phone).order_by("pk")[:20])
        if matches:
            active = [c for c in matches if c.status == Customer.Status.ACTIVE]
            return (active or matches)[0], False
        customer = Customer(
            dealership=dealership,
            name=name.strip(),
            phone=phone,
            source=Customer.Source.FIRST_VISIT,
            notes=note.strip(),
        )
        customer.full_clean()
        customer.save()
    return customer, True


# --- Writes from the API and from imports ----------------------------------------------

# What the API and imports may set on a customer. Tier, churn state, the
# watch list and the last visit are worked out by the nightly jobs; consent
# goes through ``customer_consent_set``; ``customer_source`` is the
# customer's own ``source`` field (how they came to the store), named apart
# from the write's ``source``.
CUSTOMER_WRITABLE_FIELDS = frozenset(
    {
        "name",
        "phone",
        "id_number",
        "gender",
        "occupation",
        "employer",
        "education",
        "income_band",
        "hobbies",
        "province",
        "city",
        "district",
        "address",
        "preferred_channel",
        "birthday",
        "lunar_birthday_month",
        "lunar_birthday_day",
        "lunar_birthday_leap",
        "email",
        "marketing_consent",
        "customer_source",
        "advisor",
        "status",
        "notes",
    }
)


def _customer_fields(fields: dict) -> tuple[dict, bool | None]:
    """The model's attribute values for ``fields`` (normalised identifiers,
    ``customer_source`` as ``source``), and the consent asked for (None: not given)."""
    unknown = set(fields) - CUSTOMER_WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"Customers cannot be given {', '.join(sorted(unknown))} here.")
    values = dict(fields)
    consent = values.pop("marketing_consent", None)
    if "customer_source" in values:
        values["source"] = values.pop("customer_source")
    if isinstance(values.get("phone"), str):
        values["phone"] = normalize_mobile(values["phone"])
    if isinstance(values.get("id_number"), str):
        values["id_number"] = normalize_id_number(values["id_number"])
    return values, (None if consent is None else bool(consent))


def _consent_source(source: str) -> str:
    if source not in ConsentChange.Source.values:
        raise ValueError(f"Unknown consent source {source!r}.")
    return source


def customer_create(*, dealership: Dealership, by, source: str, **fields) -> Customer:
    """A new customer of ``dealership``. ``source`` says where the write comes
    from (a ``ConsentChange.Source``: ``api``, ``import`` …): marketing consent
    given at creation is put on record with it. Mobile and ID number are
    normalised (``+86 139 …`` → ``139…``), then every field is validated:
    a ValidationError names each bad field and nothing is saved."""
    _consent_source(source)
    values, consent = _customer_fields(fields)
    customer = Customer(dealership=dealership, **values)
    customer.full_clean()
    with transaction.atomic():
        customer.save()
        if consent:
            customer_consent_set(
                customers=Customer.objects.filter(pk=customer.pk),
                granted=True,
                source=source,
                at=timezone.now(),
                by=by,
            )
            customer.refresh_from_db(fields=["marketing_consent", "marketing_consent_at"])
    return customer


def customer_update(*, customer: Customer, by, source: str, **changes) -> Customer:
    """Change a customer's fields (those of ``CUSTOMER_WRITABLE_FIELDS``); a
    change of marketing consent goes through ``customer_consent_set``, which
    records it with ``source``. Validated as ``customer_create``; the row is
    locked, so two writers do not overwrite each other's half. Returns the
    customer as saved (a fresh instance)."""
    _consent_source(source)
    values, consent = _customer_fields(changes)
    with transaction.atomic():
        current = Customer.objects.select_for_update().get(pk=customer.pk)
        for name, value in values.items():
            setattr(current, name, value)
        # Only what changes is judged: a legacy value elsewhere on the row does not block an edit.
        current.full_clean(exclude=[f.name for f in Customer._meta.fields if f.name not in values])
        if values:
            # The lookup hash follows the ID number (crm.fields.KeyedHashField.pre_save).
            hashed = ["id_number_hash"] if "id_number" in values else []
            current.save(update_fields=[*values, *hashed, "updated_at"])
        if consent is not None and consent != current.marketing_consent:
            customer_consent_set(
                customers=Customer.objects.filter(pk=current.pk),
                granted=consent,
                source=source,
                at=timezone.now(),
                by=by,
            )
            current.refresh_from_db(fields=["marketing_consent", "marketing_consent_at"])
    return current


def customer_upsert_by_mobile(
    *, dealership: Dealership, phone: str, by, source: str, **fields
) -> tuple[Customer, bool]:
    """The store's customer with this mobile updated, or a new one created;
    returns it and whether it is new. The mobile is matched as stored
    (normalised), only within ``dealership``; of several, an active one
    first, then the oldest (as ``customer_for_mobile_or_prospect``). The
    store's row is locked, so two syncs of one new mobile make one customer."""
    phone = normalize_mobile(phone)
    with transaction.atomic():
        list(Dealership.objects.select_for_update().filter(pk=dealership.pk).values_list("pk", flat=True))
        matches = list(Customer.objects.filter(dealership=dealership, phone=phone).order_by("pk")[:20])
        if matches:
            active = [c for c in matches if c.status == Customer.Status.ACTIVE]
            return customer_update(customer=(active or matches)[0], by=by, source=source, phone=phone, **fields), False
        return customer_create(dealership=dealership, by=by, source=source, phone=phone, **fields), True
