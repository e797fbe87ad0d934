"""What changed since the last run: the store-days each rollup table must
recompute. One ``SELECT DISTINCT store, day`` per source, each by a timestamp
the source keeps (``since`` is the last finished run's ``started_at``)."""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Exists, Sum

from analytics.models import DailyCareStats, SurveyResponse
from analytics.rollups.figures import care_window_totals, conversion_window, local_day, renewals_of
from analytics.rollups.sql import StoreDays, store_days_add, store_days_union
from care.models import CareTask, CareTaskEvent, Contact, TaskReassignment
from complaints.models import Complaint
from customers.models import ChurnEvent, Customer
from loyalty.models import MembershipCard
from service.models import InsurancePolicy, RepairOrder

CENT = Decimal("0.01")


@dataclasses.dataclass
class Changes:
    orders: StoreDays
    store: StoreDays
    care: StoreDays
    advisors: StoreDays

    def all(self) -> StoreDays:
        return store_days_union(self.orders, self.store, self.care, self.advisors)


def _pairs(queryset, store, day) -> StoreDays:
    return store_days_add({}, queryset.order_by().values_list(store, day).distinct())


def orders_changed(since: datetime.datetime) -> StoreDays:
    """Orders written since (a new, late, closed, voided or corrected order):
    the day each came in. ``updated_at`` is indexed."""
    return _pairs(RepairOrder.objects.filter(updated_at__gte=since), "dealership_id", local_day("opened_at"))


def store_changed(since: datetime.datetime) -> StoreDays:
    """New customers, churn events, complaints, survey answers, policies (the
    day each ends, and the day of the policy a new one renews), club cards."""
    renewed = InsurancePolicy.objects.filter(Exists(renewals_of().filter(created_at__gte=since)))
    return store_days_union(
        _pairs(Customer.objects.filter(created_at__gte=since), "dealership_id", local_day("created_at")),
        _pairs(ChurnEvent.objects.filter(created_at__gte=since), "customer__dealership_id", "day"),
        _pairs(Complaint.objects.filter(created_at__gte=since), "dealership_id", local_day("received_at")),
        _pairs(SurveyResponse.objects.filter(answered_at__gte=since), "dealership_id", local_day("answered_at")),
        _pairs(InsurancePolicy.objects.filter(created_at__gte=since), "dealership_id", "ends_on"),
        _pairs(renewed, "dealership_id", "ends_on"),
        _pairs(MembershipCard.objects.filter(created_at__gte=since), "dealership_id", "valid_from"),
    )


def care_changed(since: datetime.datetime, day: datetime.date) -> StoreDays:
    """Touches contacted, changed (status, outcome), reassigned, or whose visit
    changed, since: the day each was generated; and any day of the conversion
    window whose stored funnel no longer matches its touches (new touches, and
    the visits the morning run linked, which leave no timestamp)."""
    # Each read from the few new rows to their touches (by the touches' ids),
    # not by joining the touch table to them.
    touched = [
        Contact.tasks.through.objects.filter(contact__created_at__gte=since).values("caretask_id"),
        CareTaskEvent.objects.filter(at__gte=since).values("task_id"),
        TaskReassignment.objects.filter(at__gte=since).values("task_id"),
    ]
    visits = RepairOrder.objects.filter(updated_at__gte=since).values("pk")
    return store_days_union(
        *(_pairs(CareTask.objects.filter(pk__in=ids), "dealership_id", "created_on") for ids in touched),
        _pairs(CareTask.objects.filter(converted_repair_order__in=visits), "dealership_id", "created_on"),
        care_window_mismatch(day),
    )


def care_window_mismatch(day: datetime.date) -> StoreDays:
    first, last = conversion_window(day)
    actual = {
        (row["k_store"], row["k_day"]): (row["generated"], row["arrived"], row["revenue"].quantize(CENT))
        for row in care_window_totals(first, last)
    }
    stored = {
        (row["dealership_id"], row["day"]): (row["g"], row["a"], (row["r"] or Decimal(0)).quantize(CENT))
        for row in DailyCareStats.objects.filter(day__gte=first, day__lte=last)
        .order_by()
        .values("dealership_id", "day")
        .annotate(g=Sum("generated"), a=Sum("arrived"), r=Sum("revenue"))
    }
    differ = [key for key in actual.keys() | stored.keys() if actual.get(key) != stored.get(key)]
    return store_days_add({}, differ)


def advisors_changed(since: datetime.datetime) -> StoreDays:
    """Calls logged and CSAT answers of an advisor's customers, since."""
    calls = Contact.objects.filter(created_at__gte=since, channel=Contact.Channel.CALL, advisor__isnull=False)
    answers = SurveyResponse.objects.filter(answered_at__gte=since, advisor__isnull=False, csat__isnull=False)
    return store_days_union(
        _pairs(calls, "dealership_id", local_day("created_at")),
        _pairs(answers, "dealership_id", local_day("answered_at")),
    )


def changes_since(since: datetime.datetime, *, day: datetime.date) -> Changes:
    return Changes(
        orders=orders_changed(since),
        store=store_changed(since),
        care=care_changed(since, day),
        advisors=advisors_changed(since),
    )
