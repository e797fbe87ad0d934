"""A customer's rights under PIPL: a copy of everything held about them
(Art. 45) and erasure (Art. 47), both for a manager, both audited with a
``PrivacyRequest`` row (who, for whom, what, when, from which address).

Export walks the relations generically, as the merge does: every model with
a foreign key to ``Customer`` (the customer's rows), and every model that
points at those rows without pointing at a customer itself (an order's
lines, a card's points, a complaint's events): one query per table. The ID
number is decrypted in the export: it is the customer's own data.

Erasure anonymises the customer's record and blanks the free text other
apps hold about them, while repair orders, amounts, cards, points and every
statistic stay (legal retention: tax and warranty records, the carmaker's
quality cases). The apps above customers answer two hooks defined here:
``customer_erasure_check`` (a reason to refuse, e.g. an open complaint) and
``customer_erasing`` (blank your texts for these customer ids). Records
merged into the customer earlier are the same person: they are erased with it.
"""

import dataclasses
import datetime
import decimal
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.fields import KeyedHashField
from customers.models import ConsentChange, Customer, CustomerMerge, PrivacyRequest
from customers.services import customer_consent_set

# ``sender=Customer, customer=``: a receiver returns a list of reasons (in the
# active language) why the customer's data cannot be erased now, or [].
customer_erasure_check = Signal()
# ``sender=Customer, customer_ids=, by=``, inside the erasure's transaction: a
# receiver blanks its free text about those customers and returns {table: rows}.
customer_erasing = Signal()

FORMAT_VERSION = "pipl-export/1"

# Personal fields of the customer's record and what erasure leaves in them.
# Province and city stay (coarse, the statistics are by city); tier, churn
# state, visits and the store's own fields stay too.
ERASED_VALUES = {
    "phone": "",
    "phone_wrong": False,
    "id_number": "",
    "id_number_hash": "",
    "gender": Customer.Gender.UNKNOWN,
    "occupation": "",
    "employer": "",
    "education": "",
    "income_band": "",
    "hobbies": "",
    "district": "",
    "address": "",
    "birthday": None,
    "lunar_birthday_month": None,
    "lunar_birthday_day": None,
    "lunar_birthday_leap": False,
    "email": "",
    "tier_pin_reason": "",
    "traits": "",
    "interests": "",
    "typical_events": "",
    "visit_pattern": "",
    "payment_habits": "",
    "notes": "",
}


def _is_manager(user) -> bool:
    return user is not None and (user.is_superuser or user.role != user.Role.ADVISOR)


# --- Export ----------------------------------------------------------------------------------
def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _fields(model: type[models.Model]) -> list[models.Field]:
    # Lookup hashes say nothing to the customer; the value they hash is exported itself.
    return [f for f in model._meta.concrete_fields if not isinstance(f, KeyedHashField)]


def _reverse_relations(model: type[models.Model]) -> list[models.ForeignKey]:
    """Concrete FK/O2O fields of other models that point at ``model``, hidden ones included."""
    found = [
        rel.field
        for rel in model._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
    ]
    return sorted(found, key=lambda f: (f.model._meta.label, f.name))


def _points_at_customer(model: type[models.Model]) -> bool:
    return any(isinstance(f, models.ForeignKey) and f.related_model is Customer for f in model._meta.concrete_fields)


@dataclasses.dataclass
class Table:
    table: str
    name: str
    via: str
    fields: list[tuple[str, str]]  # (attname, verbose name)
    rows: list[dict]
    children: list["Table"] = dataclasses.field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "table": self.table,
            "name": self.name,
            "via": self.via,
            "rows": self.rows,
            "children": [child.as_json() for child in self.children],
        }

    @property
    def cells(self) -> list[list]:
        return [[row.get(attname) for attname, _name in self.fields] for row in self.rows]


def _table(model, field: models.ForeignKey, rows_qs) -> Table:
    fields = _fields(model)
    if model is Customer:
        # Customers this one referred are other people: their ids only.
        fields = [model._meta.pk]
    attnames = [f.attname for f in fields]
    rows = [{k: _plain(v) for k, v in row.items()} for row in rows_qs.order_by("pk").values(*attnames)]
    return Table(
        table=model._meta.label,
        name=str(model._meta.verbose_name_plural),
        via=field.name,
        fields=[(f.attname, str(f.verbose_name)) for f in fields],
        rows=rows,
    )


def customer_export_data(*, customer: Customer) -> dict:
    """Everything held about ``customer``: their record, the rows of every
    table pointing at them, and one level down the rows pointing at those.
    One query for the record and one per table with rows to read."""
    record = Customer._base_manager.filter(pk=customer.pk).values(*[f.attname for f in _fields(Customer)]).get()
    tables = []
    for field in _reverse_relations(Customer):
        model = field.model
        table = _table(model, field, model._base_manager.filter(**{field.name: customer.pk}))
        if not table.rows:
            continue
        ids = [row["id"] for row in table.rows if "id" in row]
        if model is not Customer and ids:
            for child_field in _reverse_relations(model):
                child = child_field.model
                # A table that points at customers itself is read above, for this
                # customer only (a car's orders under its former owner are not theirs).
                if child is Customer or _points_at_customer(child):
                    continue
                sub = _table(child, child_field, child._base_manager.filter(**{f"{child_field.name}__in": ids}))
                if sub.rows:
                    table.children.append(sub)
        tables.append(table)
    return {
        "format": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "customer": {k: _plain(v) for k, v in record.items()},
        "customer_fields": {f.attname: str(f.verbose_name) for f in _fields(Customer)},
        "tables": tables,
    }


def export_as_json(data: dict) -> dict:
    return {**data, "tables": [t.as_json() for t in data["tables"]]}


def _counts(tables: list[Table]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        counts[table.table] = counts.get(table.table, 0) + len(table.rows)
        for key, n in _counts(table.children).items():
            counts[key] = counts.get(key, 0) + n
    return counts


def customer_export(*, customer: Customer, by, ip: str | None, format: str) -> dict:
    """The customer's data (``customer_export_data``), recorded as an export
    request by ``by`` from ``ip``. Manager or above."""
    if not _is_manager(by):
        raise PermissionDenied(_("Only a manager can export a customer's personal data."))
    if format not in PrivacyRequest.Format.values:
        raise ValueError(f"unknown format {format!r}")
    data = customer_export_data(customer=customer)
    PrivacyRequest.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        kind=PrivacyRequest.Kind.EXPORT,
        format=format,
        by=by,
        at=timezone.now(),
        ip=ip or None,
        detail={"rows": _counts(data["tables"])},
    )
    return data


# --- Erasure ---------------------------------------------------------------------------------
def erasure_refusals(*, customer: Customer) -> list[str]:
    """Why the customer's data cannot be erased now (empty: it can)."""
    if customer.status == Customer.RecordStatus.ERASED:
        return [_("This customer's personal data was erased already.")]
    if customer.status == Customer.RecordStatus.MERGED:
        kept = CustomerMerge.objects.filter(merged=customer).values_list("kept_id", flat=True).first()
        return [
            _("This record was merged into customer #%(id)s: erase that one, its merged records go with it.")
            % {"id": kept}
        ]
    reasons: list[str] = []
    for _receiver, answer in customer_erasure_check.send(sender=Customer, customer=customer):
        reasons.extend(answer or [])
    return reasons


def erasure_confirmation(customer: Customer) -> str:
    """What the manager types to confirm: the customer's mobile, or their number "#id" without one."""
    return customer.phone or f"#{customer.pk}"


def customer_erase(
    *, customer: Customer, by, ip: str | None, confirmation: str, now: datetime.datetime | None = None
) -> PrivacyRequest:
    """Erase ``customer``'s personal data (and that of the records merged into
    it): name replaced by "Erased customer #id", mobile, e-mail, address,
    birthdays, ID number and notes wiped, marketing consent withdrawn, the
    other apps' free text blanked (``customer_erasing``); orders, amounts and
    statistics stay. Manager or above, confirmed by typing the customer's
    mobile; refused while ``erasure_refusals`` has a reason."""
    now = now or timezone.now()
    if not _is_manager(by):
        raise PermissionDenied(_("Only a manager can erase a customer's personal data."))
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        reasons = erasure_refusals(customer=customer)
        if reasons:
            raise ValidationError(reasons, code="erasure_refused")
        if confirmation.strip() != erasure_confirmation(customer):
            raise ValidationError(
                {"confirmation": [_("Type the customer's mobile exactly to confirm the erasure.")]},
                code="erasure_not_confirmed",
            )
        ids = [customer.pk, *CustomerMerge.objects.filter(kept=customer).values_list("merged_id", flat=True)]
        people = Customer.objects.filter(pk__in=ids)
        withdrawn = customer_consent_set(
            customers=people, granted=False, source=ConsentChange.Source.ERASURE, at=now, by=by
        )
        template = _("Erased customer #%(id)s")
        before, _mark, after = template.partition("%(id)s")
        blanked = {
            "customers.Customer": people.update(
                name=Concat(Value(before), Cast("pk", CharField()), Value(after)),
                status=Customer.RecordStatus.ERASED,
                updated_at=now,
                **ERASED_VALUES,
            ),
            # An SMS reply's text may say anything; the consent record itself stays.
            "customers.ConsentChange": ConsentChange.objects.filter(customer_id__in=ids)
            .exclude(detail="")
            .update(detail=""),
            "customers.CustomerMerge": CustomerMerge.objects.filter(Q(kept_id__in=ids) | Q(merged_id__in=ids)).update(
                former={}, filled={}
            ),
        }
        for _receiver, answer in customer_erasing.send(sender=Customer, customer_ids=ids, by=by):
            blanked.update(answer or {})
        return PrivacyRequest.objects.create(
            dealership_id=customer.dealership_id,
            customer=customer,
            kind=PrivacyRequest.Kind.ERASURE,
            by=by,
            at=now,
            ip=ip or None,
            detail={"customers": ids, "blanked": blanked, "consent_withdrawn": withdrawn},
        )
