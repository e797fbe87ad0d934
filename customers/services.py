import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from customers.models import ConsentChange, Customer


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
