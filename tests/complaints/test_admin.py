"""The complaints admin: SLA policies editable per severity, categories, lessons;
cases read-only (their writes go through the services) with their events."""

import pytest
from django.contrib import admin
from django.urls import reverse

from complaints.models import Complaint, ComplaintCategory, ComplaintEvent, ComplaintLesson, ComplaintPolicy
from complaints.services import complaint_open, complaint_transition
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory

MODELS = [m for m in admin.site._registry if m._meta.app_label == "complaints"]


def admin_url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def open_case(customer, by, **extra):
    values = {"channel": "hotline", "severity": "normal", "description": "接待态度冷淡"}
    category = ComplaintCategory.objects.get(code="attitude")
    return complaint_open(customer=customer, category=category, by=by, **{**values, **extra})


def test_policies_categories_cases_and_lessons_are_in_the_admin():
    assert {m._meta.model_name for m in MODELS} >= {
        "complaintpolicy",
        "complaintcategory",
        "complaint",
        "complaintlesson",
    }


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_complaints_admin_list_renders(client, group_admin, manager, customer, model):
    case = open_case(customer, manager)
    client.force_login(group_admin)
    assert client.get(admin_url(model, "changelist")).status_code == 200
    if admin.site._registry[model].search_fields:
        assert client.get(admin_url(model, "changelist"), {"q": case.number}).status_code == 200
    client.force_login(manager)
    assert client.get(admin_url(model, "changelist")).status_code == 200


def test_an_admin_edits_a_severitys_sla(client, group_admin):
    policy = ComplaintPolicy.objects.get(severity="escalated")
    client.force_login(group_admin)
    url = admin_url(ComplaintPolicy, "change", policy.pk)
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "severity": "normal",  # read-only: ignored
            "acknowledge_hours": 6,
            "first_contact_days": 1,
            "resolution_days": 2,
            "warn_percent": 30,
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.severity, policy.acknowledge_hours, policy.resolution_days, policy.warn_percent) == (
        "escalated",
        6,
        2,
        30,
    )


def test_a_bad_sla_value_is_a_form_error(client, group_admin):
    policy = ComplaintPolicy.objects.get(severity="normal")
    client.force_login(group_admin)
    response = client.post(
        admin_url(ComplaintPolicy, "change", policy.pk),
        {"acknowledge_hours": 0, "first_contact_days": 1, "resolution_days": 5, "warn_percent": 100},
    )
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"acknowledge_hours", "warn_percent"}
    policy.refresh_from_db()
    assert (policy.acknowledge_hours, policy.warn_percent) == (24, 25)


def test_policies_are_neither_added_twice_nor_deleted(client, group_admin):
    client.force_login(group_admin)
    policy = ComplaintPolicy.objects.get(severity="urgent")
    assert client.get(admin_url(ComplaintPolicy, "add")).status_code == 403
    assert client.post(admin_url(ComplaintPolicy, "delete", policy.pk), {"post": "yes"}).status_code == 403
    assert ComplaintPolicy.objects.count() == 4
    # A row deleted behind the admin's back can be added back.
    policy.delete()
    assert client.get(admin_url(ComplaintPolicy, "add")).status_code == 200


def test_managers_read_the_policies_but_do_not_edit_them(client, manager):
    policy = ComplaintPolicy.objects.get(severity="normal")
    client.force_login(manager)
    assert client.get(admin_url(ComplaintPolicy, "changelist")).status_code == 200
    client.post(
        admin_url(ComplaintPolicy, "change", policy.pk),
        {"acknowledge_hours": 1, "first_contact_days": 1, "resolution_days": 1, "warn_percent": 25},
    )
    policy.refresh_from_db()
    assert policy.acknowledge_hours == 24


def test_a_categorys_code_is_fixed_once_made(client, group_admin):
    category = ComplaintCategory.objects.get(code="parts")
    client.force_login(group_admin)
    response = client.post(
        admin_url(ComplaintCategory, "change", category.pk),
        {"code": "spares", "label": "配件问题", "position": 3, "active": "on"},
    )
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.code, category.label) == ("parts", "配件问题")


def test_a_case_is_read_only_in_the_admin_with_its_events(client, group_admin, manager, customer):
    case = complaint_transition(complaint=open_case(customer, manager), to="recorded", by=manager, note="已登记")
    client.force_login(group_admin)
    url = admin_url(Complaint, "change", case.pk)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "已登记" in page  # the events inline
    assert 'name="_save"' not in page
    client.post(url, {"status": "closed", "description": "改掉"})
    case.refresh_from_db()
    assert (case.status, case.description) == ("recorded", "接待态度冷淡")
    assert client.get(admin_url(Complaint, "add")).status_code == 403
    assert client.post(admin_url(Complaint, "delete", case.pk), {"post": "yes"}).status_code == 403
    assert Complaint.objects.filter(pk=case.pk).exists()
    assert ComplaintEvent.objects.filter(complaint=case).count() == 2


def test_another_stores_case_and_lesson_are_a_404_in_the_admin(client, manager, other_dealership):
    them = UserFactory(username="them", dealership=other_dealership)
    case = open_case(CustomerFactory(dealership=other_dealership), them, severity="major")
    for to, data in [
        ("recorded", {}),
        ("investigated", {"findings": "监控显示接待员未起身"}),
        ("cause_found", {"cause": "高峰期人手不足"}),
        ("remedy_decided", {"remedy": "店长致歉"}),
        ("customer_notified", {"customer_agreed": True}),
        ("carried_out", {"action_taken": "店长电话致歉"}),
        ("followed_up", {"follow_up": "客户接受"}),
    ]:
        case = complaint_transition(complaint=case, to=to, by=them, **data)
    case = complaint_transition(complaint=case, to="closed", by=them, lesson="高峰期增派接待")
    lesson = ComplaintLesson.objects.get(complaint=case)
    client.force_login(manager)
    assert client.get(admin_url(Complaint, "change", case.pk)).status_code == 404
    assert client.get(admin_url(ComplaintLesson, "change", lesson.pk)).status_code == 404
    page = client.get(admin_url(Complaint, "changelist")).content.decode()
    assert case.number not in page
