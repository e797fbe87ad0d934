"""Duplicate customers and their merge.

The customers app sits below every app whose rows point at a customer, and
imports none of them. The merge is therefore generic: every foreign key or
one-to-one field to ``Customer`` in every installed app (``Customer._meta``
knows them, hidden ones included) is moved from the merged record to the
kept one with one ``UPDATE … SET customer_id = kept WHERE customer_id =
merged`` per relation, so a model added next year is covered without code.

Where a move would break a unique constraint (one active card per customer
and store, a touch once per rule and occasion, a snapshot once a month, a
one-to-one row), the generic move takes only the rows that clash with
nothing and leaves the others on the merged record (counted in the merge
record as "left"). An app that knows better answers the ``customer_merging``
signal, sent before the generic move, inside the merge's transaction: it
settles its own rows (cancels a duplicate touch, carries a card's points
over) and returns ``{relation key: rows moved}`` for the relations it moved
itself, which the generic move then leaves alone. Receivers live in the
higher apps (``care.merge_receivers``, ``loyalty.merge_receivers``).

Duplicates are found set-based (``GROUP BY … HAVING COUNT(*) > 1``) by three
rules: the same mobile, the same ID-number lookup hash, and the same plate
under two customers. The plate lives on ``vehicles.Vehicle``, a higher app:
it is reached through ``Customer._meta`` (the reverse relation's model), as
``customers.selectors`` already does for the 360 page — no import, so the
layers contract holds and the one query stays in this module.
"""

import dataclasses
import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import ConsentChange, Customer, CustomerMerge, TierChange
from customers.services import customer_consent_set

# Sent inside the merge's transaction, both customer rows locked, before the
# generic move: ``sender=Customer, kept=, merged=, by=``. A receiver returns a
# dict {relation key ("app_label.Model.field"): rows it moved} for the
# relations it moved itself (the generic move skips those), or None.
customer_merging = Signal()

# Statuses a record can no longer be merged from or into.
CLOSED_STATUSES = (Customer.RecordStatus.MERGED, Customer.RecordStatus.ERASED)

# Profile fields the kept record takes from the merged one when its own is empty.
FILLABLE_FIELDS = (
    "id_number",
    "email",
    "birthday",
    "lunar_birthday_month",
    "lunar_birthday_day",
    "lunar_birthday_leap",
    "occupation",
    "employer",
    "education",
    "income_band",
    "hobbies",
    "province",
    "city",
    "district",
    "address",
)

TIER_ORDER = ["A", "B", "C", "D"]  # best first
CHURN_ORDER = [Customer.ChurnState.ACTIVE, Customer.ChurnState.AT_RISK, Customer.ChurnState.LOST]


@dataclasses.dataclass(frozen=True)
class Relation:
    """One foreign key (or one-to-one) to Customer."""

    model: type[models.Model]
    field: models.ForeignKey

    @property
    def key(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    @property
    def label(self) -> str:
        name = str(self.model._meta.verbose_name_plural)
        if self.model is Customer:
            return name + " · " + str(self.field.verbose_name)
        return name if self.field.name == "customer" else f"{name} · {self.field.verbose_name}"


def customer_relations() -> list[Relation]:
    """Every concrete FK/O2O to Customer in the installed apps, except models
    that say ``merge_moves_rows = False`` (audit rows: the merge and privacy records)."""
    found = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model = rel.related_model
        if getattr(model, "merge_moves_rows", True) is False or model._meta.proxy:
            continue
        found.append(Relation(model=model, field=rel.field))
    return sorted(found, key=lambda r: r.key)


def _unique_sets(relation: Relation) -> list[tuple[list[str], Q | None]]:
    """The unique constraints the relation's field is part of: (the other
    fields, the constraint's condition)."""
    name, meta = relation.field.name, relation.model._meta
    sets: list[tuple[list[str], Q | None]] = []
    if relation.field.unique:
        sets.append(([], None))
    for together in meta.unique_together:
        if name in together:
            sets.append(([f for f in together if f != name], None))
    for constraint in meta.constraints:
        fields = getattr(constraint, "fields", None)
        if isinstance(constraint, models.UniqueConstraint) and fields and name in fields:
            sets.append(([f for f in fields if f != name], constraint.condition))
    return sets


def _movable(relation: Relation, kept_id: int, merged_id: int) -> QuerySet:
    """The relation's rows of the merged record that can move without
    breaking a unique constraint: none of them clashes with a row the kept
    record already has (NULLs never clash, as in the database)."""
    model, name = relation.model, relation.field.name
    rows = model._base_manager.filter(**{name: merged_id})
    if model is Customer:
        rows = rows.exclude(pk=kept_id)  # the kept record never refers to itself
    for others, condition in _unique_sets(relation):
        twins = model._base_manager.filter(**{name: kept_id}, **{f: OuterRef(f) for f in others})
        if condition is not None:
            twins = twins.filter(condition)
            rows = rows.exclude(Q(condition) & Q(Exists(twins)))
        else:
            rows = rows.exclude(Exists(twins))
    return rows


def relation_counts(*, customer_ids: list[int]) -> dict[int, dict[str, int]]:
    """Rows pointing at each of ``customer_ids``, per relation key: one query
    (a counting subquery per relation)."""
    relations = customer_relations()
    annotations = {}
    for n, relation in enumerate(relations):
        counted = (
            relation.model._base_manager.filter(**{relation.field.name: OuterRef("pk")})
            .order_by()
            .values(relation.field.name)
            .annotate(n=Count("*"))
            .values("n")
        )
        annotations[f"r{n}"] = Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
    rows = Customer._base_manager.filter(pk__in=customer_ids).annotate(**annotations).values("pk", *annotations)
    return {row["pk"]: {r.key: row[f"r{n}"] for n, r in enumerate(relations)} for row in rows}


@dataclasses.dataclass(frozen=True)
class PreviewRow:
    key: str
    label: str
    merged: int  # rows of the merged record, that move
    kept: int  # rows the kept record has already


def merge_preview(*, kept: Customer, merged: Customer) -> list[PreviewRow]:
    """What a merge would move, per table: one query. Tables where neither has a row are left out."""
    counts = relation_counts(customer_ids=[kept.pk, merged.pk])
    kept_counts, merged_counts = counts.get(kept.pk, {}), counts.get(merged.pk, {})
    return [
        PreviewRow(key=r.key, label=r.label, merged=merged_counts.get(r.key, 0), kept=kept_counts.get(r.key, 0))
        for r in customer_relations()
        if merged_counts.get(r.key, 0) or kept_counts.get(r.key, 0)
    ]


def merge_refusal(*, kept: Customer, merged: Customer, by) -> str:
    """Why these two cannot be merged by ``by``, in the active language; "" when they can."""
    if by is None or by.role == by.Role.ADVISOR:
        return _("Only a manager can merge customers.")
    if kept.pk == merged.pk:
        return _("Choose two different customers.")
    if kept.dealership_id != merged.dealership_id:
        return _("Only two customers of the same store can be merged.")
    for customer in (kept, merged):
        if customer.status == Customer.RecordStatus.ERASED:
            return _("Customer #%(id)s was erased; it cannot be merged.") % {"id": customer.pk}
        if customer.status == Customer.RecordStatus.MERGED:
            return _("Customer #%(id)s was already merged into another record.") % {"id": customer.pk}
    return ""


def _best(values: list, order: list):
    known = [v for v in values if v in order]
    return min(known, key=order.index) if known else values[0]


def customer_merge(*, kept: Customer, merged: Customer, by, now: datetime.datetime | None = None) -> CustomerMerge:
    """Merge ``merged`` into ``kept``: every row that points at the merged
    record moves to the kept one, the kept record's derived fields are
    settled (last visit, tier, churn state; consent: an opt-out of either
    wins), its empty profile fields are filled from the merged record, and
    the merged record ends with status "merged". Manager or above; two
    customers of one store. Returns the merge record."""
    now = now or timezone.now()
    if by is None or by.role == by.Role.ADVISOR:
        raise PermissionDenied(_("Only a manager can merge customers."))
    with transaction.atomic():
        # Both rows locked in pk order, so two merges of the same pair cannot cross.
        locked = {
            c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[kept.pk, merged.pk]).order_by("pk")
        }
        kept, merged = locked.get(kept.pk, kept), locked.get(merged.pk, merged)
        refusal = merge_refusal(kept=kept, merged=merged, by=by)
        if refusal:
            raise ValidationError(refusal, code="merge_refused")
        former = {
            "name": merged.name,
            "phone": merged.phone,
            "id_number_masked": merged.id_number_masked,
            "id_number_hash": merged.id_number_hash,
            "email": merged.email,
            "status": merged.status,
        }
        moved: dict[str, int] = {}
        handled: set[str] = set()
        for _receiver, answer in customer_merging.send(sender=Customer, kept=kept, merged=merged, by=by):
            for key, n in (answer or {}).items():
                handled.add(key)
                moved[key] = moved.get(key, 0) + n
        for relation in customer_relations():
            if relation.key not in handled:
                moved[relation.key] = _movable(relation, kept.pk, merged.pk).update(**{relation.field.name: kept.pk})
        moved = {key: n for key, n in moved.items() if n}
        if kept.referred_by_id == merged.pk:
            # Referred by their own other record: no referrer at all is the truth.
            kept.referred_by_id = merged.referred_by_id if merged.referred_by_id != kept.pk else None
        filled = _fill(kept, merged)
        tier_before = kept.value_tier
        _settle(kept, merged)
        kept.save(
            update_fields=[
                *FILLABLE_FIELDS,
                "id_number_hash",
                "gender",
                "advisor",
                "referred_by",
                "last_visit_date",
                "churn_state",
                "churn_confirm_by_call",
                "value_tier",
                "updated_at",
            ]
        )
        if kept.value_tier != tier_before:
            TierChange.objects.create(
                customer=kept,
                day=timezone.localdate(now),
                from_tier=tier_before,
                to_tier=kept.value_tier,
                cause=TierChange.Cause.MERGE,
                reason=_("Merged with customer #%(id)s") % {"id": merged.pk},
                by=by,
            )
        Customer.objects.filter(pk=merged.pk).update(status=Customer.RecordStatus.MERGED, updated_at=now)
        # Consent: the stricter wins. The merged record is inactive and gets nothing either way.
        if kept.marketing_consent and not merged.marketing_consent:
            customer_consent_set(
                customers=Customer.objects.filter(pk=kept.pk),
                granted=False,
                source=ConsentChange.Source.MERGE,
                at=now,
                detail=_("Customer #%(id)s had withdrawn it") % {"id": merged.pk},
                by=by,
            )
        customer_consent_set(
            customers=Customer.objects.filter(pk=merged.pk),
            granted=False,
            source=ConsentChange.Source.MERGE,
            at=now,
            detail=_("Merged into customer #%(id)s") % {"id": kept.pk},
            by=by,
        )
        # What could not move (a twin on the kept record), in one query.
        left = {key: n for key, n in relation_counts(customer_ids=[merged.pk]).get(merged.pk, {}).items() if n}
        return CustomerMerge.objects.create(
            dealership_id=kept.dealership_id,
            kept=kept,
            merged=merged,
            by=by,
            at=now,
            moved=moved,
            left=left,
            former=former,
            filled=filled,
        )


def _fill(kept: Customer, merged: Customer) -> dict[str, str]:
    """Empty profile fields of the kept record taken from the merged one (both lunar fields or none)."""
    filled = {}
    for name in FILLABLE_FIELDS:
        if name.startswith("lunar_birthday"):
            continue
        mine, theirs = getattr(kept, name), getattr(merged, name)
        if mine in ("", None) and theirs not in ("", None):
            setattr(kept, name, theirs)
            filled[name] = "***" if name == "id_number" else str(theirs)
    if kept.lunar_birthday_month is None and merged.lunar_birthday_month is not None:
        kept.lunar_birthday_month = merged.lunar_birthday_month
        kept.lunar_birthday_day = merged.lunar_birthday_day
        kept.lunar_birthday_leap = merged.lunar_birthday_leap
        filled["lunar_birthday"] = f"{merged.lunar_birthday_month}-{merged.lunar_birthday_day}"
    if kept.gender == Customer.Gender.UNKNOWN and merged.gender != Customer.Gender.UNKNOWN:
        kept.gender = merged.gender
        filled["gender"] = merged.gender
    if kept.advisor_id is None and merged.advisor_id is not None:
        kept.advisor_id = merged.advisor_id
        filled["advisor"] = str(merged.advisor_id)
    return filled


def _settle(kept: Customer, merged: Customer) -> None:
    """The kept record's derived fields over both records' history: the later
    last visit, the more active churn state, the better tier (unless a manager
    pinned the kept one's). The nightly recompute refines them from the moved orders."""
    visits = [d for d in (kept.last_visit_date, merged.last_visit_date) if d is not None]
    kept.last_visit_date = max(visits) if visits else None
    kept.churn_state = _best([kept.churn_state, merged.churn_state], CHURN_ORDER)
    if kept.churn_state == Customer.ChurnState.ACTIVE:
        kept.churn_confirm_by_call = False
    if not kept.tier_pinned:
        kept.value_tier = _best([kept.value_tier, merged.value_tier], TIER_ORDER)


# --- Duplicates ------------------------------------------------------------------------------
class Rule:
    MOBILE = "mobile"
    ID_NUMBER = "id_number"
    PLATE = "plate"


RULE_LABELS = {
    Rule.MOBILE: gettext_lazy("Same mobile"),
    Rule.ID_NUMBER: gettext_lazy("Same ID number"),
    Rule.PLATE: gettext_lazy("Same plate under two customers"),
}


def _candidates(dealership_id: int) -> QuerySet[Customer]:
    return Customer.objects.filter(dealership_id=dealership_id).exclude(status__in=CLOSED_STATUSES)


def _vehicle_model():
    # vehicles.Vehicle, reached through the reverse relation (customers may not import vehicles).
    return Customer._meta.get_field("vehicles").related_model


def duplicate_groups(*, dealership_id: int) -> QuerySet:
    """Groups of likely duplicates in one store, as rows (rule, key, size),
    ordered by rule and key: one UNION of three GROUP BY … HAVING queries,
    which a paginator counts and slices in the database."""
    candidates = _candidates(dealership_id)
    by_mobile = (
        candidates.exclude(phone="")
        .order_by()
        .values("phone")
        .annotate(size=Count("pk"))
        .filter(size__gt=1)
        .annotate(rule=Value(Rule.MOBILE))
        .values_list("rule", "phone", "size")
    )
    by_id = (
        candidates.exclude(id_number_hash="")
        .order_by()
        .values("id_number_hash")
        .annotate(size=Count("pk"))
        .filter(size__gt=1)
        .annotate(rule=Value(Rule.ID_NUMBER))
        .values_list("rule", "id_number_hash", "size")
    )
    by_plate = (
        _vehicle_model()
        ._default_manager.filter(customer__in=candidates)
        .exclude(plate_number="")
        .order_by()
        .values("plate_number")
        .annotate(size=Count("customer", distinct=True))
        .filter(size__gt=1)
        .annotate(rule=Value(Rule.PLATE))
        .values_list("rule", "plate_number", "size")
    )
    return by_mobile.union(by_id, by_plate, all=True).order_by("rule", "phone")


@dataclasses.dataclass
class DuplicateGroup:
    rule: str
    key: str
    size: int
    customers: list[Customer]


def duplicate_groups_with_customers(*, dealership_id: int, groups: list[tuple[str, str, int]]) -> list[DuplicateGroup]:
    """The customers of a page of ``groups``, with their cars: two queries, whatever the page holds."""
    phones = [key for rule, key, _size in groups if rule == Rule.MOBILE]
    hashes = [key for rule, key, _size in groups if rule == Rule.ID_NUMBER]
    plates = [key for rule, key, _size in groups if rule == Rule.PLATE]
    vehicles = _vehicle_model()._default_manager.order_by("plate_number", "pk")
    with_plate = vehicles.filter(plate_number__in=plates).values("customer_id")
    found = list(
        _candidates(dealership_id)
        .filter(Q(phone__in=phones) | Q(id_number_hash__in=hashes) | Q(pk__in=with_plate))
        .select_related("advisor")
        .prefetch_related(models.Prefetch("vehicles", queryset=vehicles, to_attr="vehicle_list"))
        .order_by("created_at", "pk")
    )
    result = []
    for rule, key, size in groups:
        if rule == Rule.MOBILE:
            members = [c for c in found if c.phone == key]
        elif rule == Rule.ID_NUMBER:
            members = [c for c in found if c.id_number_hash == key]
        else:
            members = [c for c in found if any(v.plate_number == key for v in c.vehicle_list)]
        result.append(DuplicateGroup(rule=rule, key=key, size=size, customers=members))
    return result


def merges_of(*, customer: Customer) -> QuerySet[CustomerMerge]:
    """The merges a customer took part in, kept or merged, newest first."""
    return (
        CustomerMerge.objects.filter(Q(kept=customer) | Q(merged=customer))
        .select_related("kept", "merged", "by")
        .order_by("-at", "-pk")
    )


__all__ = [
    "customer_merge",
    "customer_merging",
    "customer_relations",
    "duplicate_groups",
    "duplicate_groups_with_customers",
    "merge_preview",
    "merge_refusal",
    "merges_of",
    "relation_counts",
]
