"""Duplicate customers and their merge: found by mobile, ID number and plate
within one store; merged with a preview, every row that pointed at the merged
record moved to the kept one, clashes settled by the apps that own the rows,
the merge recorded. Managers only; another store's customer is a 404."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import CustomerStats
from care.models import CareTask, Contact
from customers.merge import customer_merge, relation_counts
from customers.models import ConsentChange, Customer, CustomerMerge, TierSnapshot
from loyalty.models import MembershipCard, Referral
from loyalty.services import card_balance, card_join, points_adjust, referral_record
from service.models import RepairOrder
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle

D = datetime.date
ID_NUMBER = "11010519491231002X"  # a valid check digit


def order(customer, car, number, labour="80.00", parts="20.00"):
    labour, parts = Decimal(labour), Decimal(parts)
    return RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        number=number,
        kind="maintenance",
        opened_at=timezone.now(),
        mileage=1000,
        labor_amount=labour,
        parts_amount=parts,
        total_amount=labour + parts,
    )


def touch(customer, rule, occasion, vehicle=None):
    day = D(2026, 12, 20)
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=vehicle,
        rule=rule,
        kind=rule.kind,
        channel="call",
        occasion=occasion,
        event_date=day,
        due_date=day,
        expires_on=day + datetime.timedelta(days=14),
        created_on=day,
    )


def groups(response) -> list[tuple[str, list[int]]]:
    return [(g.rule, [c.pk for c in g.customers]) for g in response.context["page"].groups]


# --- Duplicates ------------------------------------------------------------------------------
def test_duplicates_are_found_by_mobile_id_number_and_plate_within_the_store(
    client, manager, dealership, other_dealership, customer
):
    same_mobile = CustomerFactory(dealership=dealership, phone=customer.phone)
    CustomerFactory(dealership=other_dealership, phone=customer.phone)  # another store's: not a duplicate
    first_id = CustomerFactory(dealership=dealership, id_number=ID_NUMBER)
    second_id = CustomerFactory(dealership=dealership, id_number=ID_NUMBER)
    CustomerFactory(dealership=other_dealership, id_number=ID_NUMBER)
    first_car = VehicleFactory(customer=CustomerFactory(dealership=dealership), plate_number="沪B11111")
    second_car = VehicleFactory(customer=CustomerFactory(dealership=dealership), plate_number="沪B11111")
    VehicleFactory(customer=CustomerFactory(dealership=other_dealership), plate_number="沪B11111")
    # One customer with two cars of one plate (a re-registered plate) is no duplicate.
    lone = CustomerFactory(dealership=dealership)
    VehicleFactory(customer=lone, plate_number="沪C22222")
    VehicleFactory(customer=lone, plate_number="沪C22222")
    client.force_login(manager)
    response = client.get(reverse("customers:duplicates"))
    assert response.status_code == 200
    assert groups(response) == [
        ("id_number", [first_id.pk, second_id.pk]),
        ("mobile", [customer.pk, same_mobile.pk]),
        ("plate", [first_car.customer_id, second_car.customer_id]),
    ]
    page = response.content.decode()
    assert ID_NUMBER not in page and "1101**********002X" in page  # the ID number masked
    assert f"?kept={customer.pk}&amp;merged={same_mobile.pk}" in page


def test_merged_and_erased_records_are_no_longer_duplicates(client, manager, dealership, customer):
    CustomerFactory(dealership=dealership, phone=customer.phone, status=Customer.RecordStatus.MERGED)
    CustomerFactory(dealership=dealership, phone=customer.phone, status=Customer.RecordStatus.ERASED)
    client.force_login(manager)
    assert groups(client.get(reverse("customers:duplicates"))) == []


@pytest.mark.parametrize("size", [1, 8])
def test_the_duplicates_page_costs_the_same_queries_at_any_size(
    client, manager, dealership, django_assert_max_num_queries, size
):
    for n in range(size):
        phone = f"1370000{n:04d}"
        CustomerFactory(dealership=dealership, phone=phone)
        CustomerFactory(dealership=dealership, phone=phone)
        VehicleFactory(customer=CustomerFactory(dealership=dealership), plate_number=f"沪D{n:05d}")
        VehicleFactory(customer=CustomerFactory(dealership=dealership), plate_number=f"沪D{n:05d}")
        CustomerFactory(dealership=dealership, id_number=ID_NUMBER[:-4] + f"{n:03d}0")
        CustomerFactory(dealership=dealership, id_number=ID_NUMBER[:-4] + f"{n:03d}0")
    client.force_login(manager)
    # session, user with store; the groups: count and page (one UNION each);
    # their customers with advisors; their cars; the layout's holiday calendar check.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("customers:duplicates"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 3 * size
    assert all(len(g.customers) == 2 for g in response.context["page"].groups)


def test_advisors_cannot_see_duplicates_or_merge(client, advisor, dealership, customer):
    twin = CustomerFactory(dealership=dealership, phone=customer.phone)
    client.force_login(advisor)
    assert client.get(reverse("customers:duplicates")).status_code == 403
    query = {"kept": customer.pk, "merged": twin.pk}
    assert client.get(reverse("customers:merge"), query).status_code == 403
    assert client.post(reverse("customers:merge"), query).status_code == 403
    twin.refresh_from_db()
    assert twin.status == Customer.Status.ACTIVE


def test_a_group_manager_picks_the_store_first(client, group_admin, dealership, customer):
    CustomerFactory(dealership=dealership, phone=customer.phone)
    client.force_login(group_admin)
    choose = client.get(reverse("customers:duplicates"))
    assert choose.status_code == 200 and f"?store={dealership.pk}" in choose.content.decode()
    response = client.get(reverse("customers:duplicates"), {"store": dealership.pk})
    assert [rule for rule, _ids in groups(response)] == ["mobile"]


# --- Merge -----------------------------------------------------------------------------------
@pytest.fixture
def pair(dealership, customer, manager, advisor):
    """Two records of one person. Kept: a car with an order, a birthday touch,
    a contact, a silver card with 30 points, marketing consent. Merged: two
    cars with an order each, the same birthday touch and a maintenance touch,
    two contacts, an ordinary card with 12 points, no consent."""
    birthday = CareRuleFactory(kind="birthday", name="生日")
    maintenance = CareRuleFactory(kind="maintenance", name="保养")
    kept = customer
    Customer.objects.filter(pk=kept.pk).update(
        marketing_consent=True, last_visit_date=D(2025, 6, 1), value_tier="C", churn_state="at_risk"
    )
    kept.refresh_from_db()
    merged = CustomerFactory(
        dealership=dealership,
        phone=kept.phone,
        name="李 雷",
        id_number=ID_NUMBER,
        email="lilei@example.com",
        last_visit_date=D(2026, 11, 2),
        value_tier="B",
        churn_state="active",
    )
    car = VehicleFactory(customer=kept)
    order(kept, car, "RO-1")
    theirs = [VehicleFactory(customer=merged), VehicleFactory(customer=merged)]
    order(merged, theirs[0], "RO-2", labour="300.00", parts="150.50")
    order(merged, theirs[1], "RO-3", labour="0.00", parts="45.00")
    touch(kept, birthday, "birthday:2026")
    touch(merged, birthday, "birthday:2026")
    touch(merged, maintenance, "maintenance:2026-12", vehicle=theirs[0])
    Contact.objects.create(dealership=dealership, customer=kept, advisor=advisor, notes="老客户")
    for note in ("第一次来电", "第二次来电"):
        Contact.objects.create(dealership=dealership, customer=merged, advisor=advisor, notes=note)
    day = D(2026, 1, 10)
    silver = card_join(customer=kept, level="silver", route="fee", by=manager, day=day)
    points_adjust(card=silver, points=30, reason="活动补录", by=manager, day=day)
    ordinary = card_join(customer=merged, level="ordinary", route="campaign", by=manager, day=day)
    points_adjust(card=ordinary, points=12, reason="活动补录", by=manager, day=day)
    return kept, merged, silver, ordinary


def test_the_preview_counts_what_would_move_and_changes_nothing(client, manager, pair):
    kept, merged, _silver, _ordinary = pair
    client.force_login(manager)
    response = client.get(reverse("customers:merge"), {"kept": kept.pk, "merged": merged.pk})
    assert response.status_code == 200
    rows = {row.key: (row.merged, row.kept) for row in response.context["rows"]}
    assert rows["vehicles.Vehicle.customer"] == (2, 1)
    assert rows["service.RepairOrder.customer"] == (2, 1)
    assert rows["care.CareTask.customer"] == (2, 1)
    assert rows["care.Contact.customer"] == (2, 1)
    assert rows["loyalty.MembershipCard.customer"] == (1, 1)
    page = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in page and 'method="post"' in page
    assert Vehicle.objects.filter(customer=merged).count() == 2


def test_merging_moves_cars_orders_touches_contacts_cards_and_points(client, manager, pair):
    kept, merged, silver, ordinary = pair
    client.force_login(manager)
    response = client.post(reverse("customers:merge"), {"kept": kept.pk, "merged": merged.pk})
    assert response.status_code == 302 and response["Location"] == reverse("customers:detail", args=[kept.pk])
    assert Vehicle.objects.filter(customer=kept).count() == 3
    orders = RepairOrder.objects.filter(customer=kept)
    assert sorted(orders.values_list("number", flat=True)) == ["RO-1", "RO-2", "RO-3"]
    # 100.00 + 450.50 + 45.00: the amounts are untouched.
    assert sum(o.total_amount for o in orders) == Decimal("595.50")
    assert CareTask.objects.filter(customer=kept).count() == 3
    assert Contact.objects.filter(customer=kept).count() == 3
    # Both held an active card: the higher level (silver) stays, the ordinary one
    # is replaced and its 12 points carried over: 30 + 12.
    silver.refresh_from_db()
    ordinary.refresh_from_db()
    assert (silver.status, ordinary.status) == ("active", "replaced")
    assert MembershipCard.objects.filter(customer=kept).count() == 2
    assert card_balance(silver) == 42 and card_balance(ordinary) == 0
    # Nothing points at the merged record any more.
    assert not any(relation_counts(customer_ids=[merged.pk])[merged.pk].values())
    merged.refresh_from_db()
    assert merged.status == Customer.RecordStatus.MERGED


def test_a_touch_for_the_same_occasion_is_superseded_not_doubled(manager, pair):
    kept, merged, _silver, _ordinary = pair
    customer_merge(kept=kept, merged=merged, by=manager)
    birthdays = CareTask.objects.filter(customer=kept, kind="birthday").order_by("pk")
    assert [(t.occasion, t.status, t.outcome) for t in birthdays] == [
        ("birthday:2026", "open", ""),
        (f"birthday:2026~m{merged.pk}", "cancelled", "superseded"),
    ]
    assert CareTask.objects.get(customer=kept, kind="maintenance").status == "open"


def test_the_merge_is_recorded_and_the_kept_record_settled(manager, pair):
    kept, merged, _silver, _ordinary = pair
    record = customer_merge(kept=kept, merged=merged, by=manager)
    assert (record.kept, record.merged, record.by, record.dealership_id) == (kept, merged, manager, kept.dealership_id)
    assert record.moved["vehicles.Vehicle.customer"] == 2
    assert record.moved["service.RepairOrder.customer"] == 2
    assert record.moved["care.CareTask.customer"] == 2
    assert record.moved["care.Contact.customer"] == 2
    assert record.moved["loyalty.MembershipCard.customer"] == 1
    assert record.left == {}
    assert record.former["name"] == "李 雷" and record.former["phone"] == kept.phone
    assert record.former["id_number_masked"] == "1101**********002X"
    assert ID_NUMBER not in str(record.former)
    kept.refresh_from_db()
    # The later visit, the more active state, the better tier; the ID number and
    # e-mail the kept record lacked; consent: the merged record's "no" wins.
    assert kept.last_visit_date == D(2026, 11, 2)
    assert (kept.churn_state, kept.value_tier) == ("active", "B")
    assert kept.id_number == ID_NUMBER and kept.email == "lilei@example.com"
    assert kept.marketing_consent is False
    change = ConsentChange.objects.filter(customer=kept).latest("pk")
    assert (change.granted, change.source, change.recorded_by) == (False, "merge", manager)
    assert kept.tier_changes.get().cause == "merge"


def test_a_snapshot_of_the_same_month_stays_with_the_merged_record(manager, dealership, customer):
    merged = CustomerFactory(dealership=dealership, phone=customer.phone)
    for person in (customer, merged):
        TierSnapshot.objects.create(
            month=D(2026, 11, 1), customer=person, dealership=dealership, tier="B", churn_state="active"
        )
    TierSnapshot.objects.create(
        month=D(2026, 10, 1), customer=merged, dealership=dealership, tier="C", churn_state="active"
    )
    record = customer_merge(kept=customer, merged=merged, by=manager)
    # The unique (month, customer) would break: October moves, November stays.
    assert record.moved["customers.TierSnapshot.customer"] == 1
    assert record.left == {"customers.TierSnapshot.customer": 1}
    months = TierSnapshot.objects.filter(customer=customer).order_by("month").values_list("month", flat=True)
    assert list(months) == [D(2026, 10, 1), D(2026, 11, 1)]


def test_a_referral_between_the_two_records_stays_put(manager, dealership, customer):
    merged = CustomerFactory(dealership=dealership, phone=customer.phone)
    friend = CustomerFactory(dealership=dealership)
    between = referral_record(referrer=customer, referred=merged, by=manager)
    theirs = referral_record(referrer=merged, referred=friend, by=manager)
    record = customer_merge(kept=customer, merged=merged, by=manager)
    between.refresh_from_db()
    theirs.refresh_from_db()
    # Moving it would make a self-referral: it stays with the merged record.
    assert (between.referrer_id, between.referred_id) == (customer.pk, merged.pk)
    assert theirs.referrer_id == customer.pk
    assert record.left == {"loyalty.Referral.referred": 1}
    friend.refresh_from_db()
    assert friend.referred_by_id == customer.pk
    assert Referral.objects.filter(referrer=customer).count() == 2


def test_another_stores_customer_is_a_404(client, manager, customer, other_dealership):
    foreign = CustomerFactory(dealership=other_dealership, phone=customer.phone)
    client.force_login(manager)
    for kept, merged in ((customer, foreign), (foreign, customer)):
        query = {"kept": kept.pk, "merged": merged.pk}
        assert client.get(reverse("customers:merge"), query).status_code == 404
        assert client.post(reverse("customers:merge"), query).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == Customer.Status.ACTIVE


def test_only_two_customers_of_one_store_merge(client, group_admin, customer, other_dealership):
    foreign = CustomerFactory(dealership=other_dealership, phone=customer.phone)
    VehicleFactory(customer=foreign)
    client.force_login(group_admin)
    response = client.post(
        reverse("customers:merge"), {"kept": customer.pk, "merged": foreign.pk}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "same store" in response.content.decode()
    assert Vehicle.objects.filter(customer=foreign).count() == 1
    assert not CustomerMerge.objects.exists()


def test_bad_input_is_a_400_not_a_500(client, manager, customer):
    client.force_login(manager)
    assert client.get(reverse("customers:merge"), {"kept": "x", "merged": ""}).status_code == 400
    response = client.post(reverse("customers:merge"), {"kept": customer.pk, "merged": customer.pk})
    assert response.status_code == 400


def test_a_merged_record_cannot_be_merged_again(client, manager, dealership, customer):
    merged = CustomerFactory(dealership=dealership, phone=customer.phone)
    third = CustomerFactory(dealership=dealership, phone=customer.phone)
    customer_merge(kept=customer, merged=merged, by=manager)
    client.force_login(manager)
    response = client.post(reverse("customers:merge"), {"kept": third.pk, "merged": merged.pk})
    assert response.status_code == 400
    assert CustomerMerge.objects.count() == 1


def test_the_merge_is_traceable_from_both_customer_pages_and_the_admin(client, manager, dealership, customer):
    merged = CustomerFactory(dealership=dealership, phone=customer.phone)
    record = customer_merge(kept=customer, merged=merged, by=manager)
    client.force_login(manager)
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    kept_page = client.get(reverse("customers:detail", args=[customer.pk]), **english).content.decode()
    assert f"customer #{merged.pk} merged into this record" in kept_page
    merged_page = client.get(reverse("customers:detail", args=[merged.pk]), **english).content.decode()
    assert f"merged into customer #{customer.pk}" in merged_page
    assert site.is_registered(CustomerMerge)
    admin = client.get(reverse("admin:customers_customermerge_change", args=[record.pk]))
    assert admin.status_code == 200
    assert client.get(reverse("admin:customers_customermerge_changelist"), {"q": merged.phone}).status_code == 200


def test_the_advisors_customer_page_shows_no_merges_panel(client, advisor, customer):
    client.force_login(advisor)
    client.get(reverse("customers:detail", args=[customer.pk]))
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "customer-merges" not in page


def test_an_advisor_cannot_merge_through_the_service_either(pair, advisor):
    kept, merged, _silver, _ordinary = pair
    with pytest.raises(PermissionDenied):
        customer_merge(kept=kept, merged=merged, by=advisor)
    assert Vehicle.objects.filter(customer=merged).count() == 2


def test_the_admin_cannot_set_or_undo_a_merge_by_hand(client, group_admin, manager, dealership, customer):
    merged = CustomerFactory(dealership=dealership, phone=customer.phone)
    customer_merge(kept=customer, merged=merged, by=manager)
    client.force_login(group_admin)
    kept_form = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
    assert 'value="active"' in kept_form and 'value="merged"' not in kept_form
    merged_form = client.get(reverse("admin:customers_customer_change", args=[merged.pk]))
    assert merged_form.status_code == 200 and 'name="status"' not in merged_form.content.decode()


def test_a_one_to_one_row_moves_unless_the_kept_record_has_its_own(manager, dealership, customer):
    # analytics.CustomerStats: one row per customer (its primary key), hidden (related_name="+"):
    # the merge finds it through Customer._meta all the same.
    only_merged = CustomerFactory(dealership=dealership, phone=customer.phone)
    CustomerStats.objects.create(customer=only_merged, day=D(2026, 12, 1), visits=3)
    assert customer_merge(kept=customer, merged=only_merged, by=manager).moved["analytics.CustomerStats.customer"] == 1
    both = CustomerFactory(dealership=dealership, phone=customer.phone)
    CustomerStats.objects.create(customer=both, day=D(2026, 12, 1), visits=1)
    record = customer_merge(kept=customer, merged=both, by=manager)
    assert record.left == {"analytics.CustomerStats.customer": 1}
    assert CustomerStats.objects.get(customer=customer).visits == 3


def test_the_merged_records_higher_card_stays_active(manager, dealership, customer):
    merged = CustomerFactory(dealership=dealership, phone=customer.phone)
    day = D(2026, 1, 10)
    ordinary = card_join(customer=customer, level="ordinary", route="campaign", by=manager, day=day)
    points_adjust(card=ordinary, points=7, reason="活动补录", by=manager, day=day)
    silver = card_join(customer=merged, level="silver", route="fee", by=manager, day=day)
    points_adjust(card=silver, points=20, reason="活动补录", by=manager, day=day)
    customer_merge(kept=customer, merged=merged, by=manager)
    active = MembershipCard.objects.get(customer=customer, status="active")
    assert active == silver and card_balance(active) == 27
    ordinary.refresh_from_db()
    assert ordinary.status == "replaced" and card_balance(ordinary) == 0


def test_the_merge_is_set_based_its_queries_do_not_grow_with_the_rows(manager, advisor, dealership):
    counts = []
    for size in (1, 10):
        kept = CustomerFactory(dealership=dealership)
        merged = CustomerFactory(dealership=dealership, phone=kept.phone)
        for n in range(size):
            car = VehicleFactory(customer=merged)
            order(merged, car, f"RO-{size}-{n}")
            Contact.objects.create(dealership=dealership, customer=merged, advisor=advisor, notes=f"n{n}")
        with CaptureQueriesContext(connection) as queries:
            record = customer_merge(kept=kept, merged=merged, by=manager)
        assert record.moved["vehicles.Vehicle.customer"] == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
