"""The club's admin: the policy (group and store rows, benefits inline), cards
read-only and scoped, the ledger read-only with "adjust points" through the
service, referrals read-only, club events editable with registrations read-only."""

import datetime

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from loyalty.models import (
    BenefitAllowance,
    ClubEvent,
    EventRegistration,
    LoyaltyPolicy,
    MembershipCard,
    PointsEntry,
)
from loyalty.services import card_balance, card_join, points_adjust, referral_record
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory

MODELS = [m for m in admin.site._registry if m._meta.app_label == "loyalty"]
D = datetime.date


def admin_url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def adjust_url(card):
    return reverse("admin:loyalty_membershipcard_adjust", args=[card.pk])


def join(customer, level="ordinary"):
    return card_join(customer=customer, level=level, route="fee", by=None, day=timezone.localdate())


@pytest.fixture
def card(customer):
    return join(customer)


@pytest.fixture
def their_card(other_dealership):
    return join(CustomerFactory(dealership=other_dealership, name="闵行客户"))


@pytest.fixture
def everything(card, customer, manager, dealership):
    points_adjust(card=card, points=20, reason="活动补录", by=manager, day=timezone.localdate())
    referral_record(referrer=customer, referred=CustomerFactory(dealership=dealership), by=manager)
    event = ClubEvent.objects.create(
        dealership=dealership, title="冬季保养讲座", starts_at=timezone.now(), capacity=20, description="免费检测"
    )
    EventRegistration.objects.create(event=event, customer=customer)
    return event


def test_the_club_is_in_the_admin():
    assert {m._meta.model_name for m in MODELS} >= {
        "loyaltypolicy",
        "membershipcard",
        "pointsentry",
        "referral",
        "clubevent",
        "benefituse",
    }


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_club_admin_list_renders(client, group_admin, manager, everything, card, model):
    client.force_login(group_admin)
    assert client.get(admin_url(model, "changelist")).status_code == 200
    if admin.site._registry[model].search_fields:
        assert client.get(admin_url(model, "changelist"), {"q": card.number}).status_code == 200
    client.force_login(manager)
    assert client.get(admin_url(model, "changelist")).status_code == 200


def test_the_group_policy_is_edited_with_its_benefits(client, group_admin):
    policy = LoyaltyPolicy.objects.get(dealership=None)
    client.force_login(group_admin)
    url = admin_url(LoyaltyPolicy, "change", policy.pk)
    response = client.get(url)
    assert response.status_code == 200
    # The benefits of every level are inline (the defaults: 3 + 5 + 6 rows).
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.total_form_count() == BenefitAllowance.objects.filter(policy=policy).count() == 14


def test_a_store_manager_reads_the_policies_but_edits_none(client, manager, dealership):
    group = LoyaltyPolicy.objects.get(dealership=None)
    client.force_login(manager)
    page = client.get(admin_url(LoyaltyPolicy, "changelist")).content.decode()
    assert admin_url(LoyaltyPolicy, "change", group.pk) in page
    response = client.post(admin_url(LoyaltyPolicy, "change", group.pk), {"ordinary_fee": "1"})
    group.refresh_from_db()
    assert group.ordinary_fee == 180
    assert response.status_code in (302, 403)
    assert client.get(admin_url(LoyaltyPolicy, "add")).status_code == 403


def test_a_store_admin_may_add_only_their_stores_policy(client, rf, dealership, other_dealership):
    store_admin = UserFactory(username="storeadmin", role="admin", dealership=dealership, is_staff=True)
    client.force_login(store_admin)
    form = client.get(admin_url(LoyaltyPolicy, "add")).context["adminform"].form
    assert list(form.fields["dealership"].queryset) == [dealership]
    # The group's row (no store) is the group's to write.
    request = rf.get("/")
    request.user = store_admin
    policy_admin = admin.site._registry[LoyaltyPolicy]
    data = {k: v for k, v in model_to_dict(LoyaltyPolicy()).items() if v is not None}
    group_row = policy_admin.get_form(request)(data={**data, "dealership": ""})
    assert "dealership" in group_row.errors
    own_row = policy_admin.get_form(request)(data={**data, "dealership": dealership.pk})
    assert own_row.is_valid(), own_row.errors
    group = LoyaltyPolicy.objects.get(dealership=None)
    assert policy_admin.has_view_permission(request, group)
    assert not policy_admin.has_change_permission(request, group)
    assert not policy_admin.has_delete_permission(request, group)


def test_cards_are_read_only_with_their_events_and_ledger(client, group_admin, card, manager):
    points_adjust(card=card, points=20, reason="活动补录", by=manager, day=timezone.localdate())
    client.force_login(group_admin)
    url = admin_url(MembershipCard, "change", card.pk)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "活动补录" in page  # the ledger inline
    assert 'name="_save"' not in page
    assert adjust_url(card) in page
    client.post(url, {"status": "lapsed", "level": "gold"})
    card.refresh_from_db()
    assert (card.status, card.level) == ("active", "ordinary")
    assert client.get(admin_url(MembershipCard, "add")).status_code == 403
    assert client.post(admin_url(MembershipCard, "delete", card.pk), {"post": "yes"}).status_code == 403
    assert MembershipCard.objects.filter(pk=card.pk).exists()


def test_a_store_manager_sees_only_their_stores_cards(client, manager, card, their_card):
    client.force_login(manager)
    page = client.get(admin_url(MembershipCard, "changelist")).content.decode()
    assert card.number in page and their_card.number not in page
    assert client.get(admin_url(MembershipCard, "change", their_card.pk)).status_code == 404
    assert client.get(adjust_url(their_card)).status_code == 404
    response = client.post(adjust_url(their_card), {"points": 50, "reason": "越权"})
    assert response.status_code == 404
    assert card_balance(their_card) == 0


def test_the_list_filters_by_level_status_and_searches_by_customer(client, manager, customer, card, dealership):
    silver = join(CustomerFactory(dealership=dealership, name="王银卡"), level="silver")
    client.force_login(manager)
    page = client.get(admin_url(MembershipCard, "changelist"), {"level__exact": "silver"}).content.decode()
    assert silver.number in page and card.number not in page
    page = client.get(admin_url(MembershipCard, "changelist"), {"q": "王银卡"}).content.decode()
    assert silver.number in page and card.number not in page
    page = client.get(admin_url(MembershipCard, "changelist"), {"status__exact": "lapsed"}).content.decode()
    assert silver.number not in page and card.number not in page


def test_a_manager_adjusts_points_with_a_reason(client, manager, card):
    client.force_login(manager)
    assert client.get(adjust_url(card)).status_code == 200
    response = client.post(adjust_url(card), {"points": 25, "reason": "  老客户关怀补偿 "})
    assert response.status_code == 302
    assert response["Location"] == admin_url(MembershipCard, "change", card.pk)
    entry = PointsEntry.objects.get(card=card)
    assert (entry.points, entry.kind, entry.reason, entry.by) == (25, "adjustment", "老客户关怀补偿", manager)
    # Taking off more than the card holds is refused on the form, with what was typed kept.
    response = client.post(adjust_url(card), {"points": -30, "reason": "冲正"})
    assert response.status_code == 400
    assert response.context["form"].errors["points"]
    assert 'value="-30"' in response.content.decode()
    assert card_balance(card) == 25


def test_the_reason_is_required(client, manager, card):
    client.force_login(manager)
    for reason in ("", "   "):
        response = client.post(adjust_url(card), {"points": 10, "reason": reason})
        assert response.status_code == 400
        assert response.context["form"].errors["reason"]
    assert not PointsEntry.objects.filter(card=card).exists()


def test_an_advisor_is_refused(client, card, dealership):
    # Even one given staff status by mistake.
    advisor = UserFactory(username="staffadvisor", dealership=dealership, is_staff=True)
    client.force_login(advisor)
    assert client.get(adjust_url(card)).status_code == 403
    assert client.post(adjust_url(card), {"points": 10, "reason": "想加"}).status_code == 403
    assert not PointsEntry.objects.filter(card=card).exists()


def test_a_lapsed_cards_points_cannot_be_adjusted(client, manager, card):
    MembershipCard.objects.filter(pk=card.pk).update(status="lapsed")
    client.force_login(manager)
    response = client.post(adjust_url(card), {"points": 10, "reason": "补录"})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not PointsEntry.objects.filter(card=card).exists()


def test_the_ledger_is_read_only(client, group_admin, manager, card):
    entry = points_adjust(card=card, points=20, reason="活动补录", by=manager, day=timezone.localdate())
    client.force_login(group_admin)
    url = admin_url(PointsEntry, "change", entry.pk)
    assert client.get(url).status_code == 200
    client.post(url, {"points": 999, "reason": "改"})
    entry.refresh_from_db()
    assert (entry.points, entry.reason) == (20, "活动补录")
    assert client.get(admin_url(PointsEntry, "add")).status_code == 403
    assert client.post(admin_url(PointsEntry, "delete", entry.pk), {"post": "yes"}).status_code == 403


def test_a_manager_edits_their_stores_event_and_reads_its_registrations(client, manager, everything, customer):
    event = everything
    client.force_login(manager)
    url = admin_url(ClubEvent, "change", event.pk)
    response = client.get(url)
    assert response.status_code == 200
    assert customer.name in response.content.decode()  # the registrations inline
    starts = timezone.localtime(event.starts_at)
    response = client.post(
        url,
        {
            "title": "冬季保养讲座（改期）",
            "dealership": event.dealership_id,
            "starts_at_0": starts.strftime("%Y-%m-%d"),
            "starts_at_1": "15:00:00",
            "capacity": 30,
            "description": "免费检测",
            "registrations-TOTAL_FORMS": 1,
            "registrations-INITIAL_FORMS": 1,
            "registrations-MIN_NUM_FORMS": 0,
            "registrations-MAX_NUM_FORMS": 1000,
            "registrations-0-id": EventRegistration.objects.get(event=event).pk,
            "registrations-0-event": event.pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    event.refresh_from_db()
    assert (event.title, event.capacity) == ("冬季保养讲座（改期）", 30)
    assert EventRegistration.objects.get(event=event).status == "registered"


def test_another_stores_event_is_a_404(client, other_dealership, manager):
    event = ClubEvent.objects.create(
        dealership=other_dealership, title="闵行自驾游", starts_at=timezone.now(), capacity=5
    )
    client.force_login(manager)
    assert client.get(admin_url(ClubEvent, "change", event.pk)).status_code == 404
    other = ManagerFactory(username="m2", dealership=other_dealership)
    client.force_login(other)
    assert client.get(admin_url(ClubEvent, "change", event.pk)).status_code == 200
