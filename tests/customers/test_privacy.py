"""A customer's PIPL rights: the export of everything held about them (JSON
and a readable page) and erasure (personal fields anonymised, free text
blanked, marketing stopped, orders and totals kept). Managers only, audited;
erasure is confirmed by typing the mobile and refused while a complaint is open."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from analytics.models import SurveyResponse
from care.models import CareTask, Contact, Outbox
from complaints.models import Complaint, ComplaintCategory, ComplaintEvent
from complaints.services import complaint_open, complaint_transition
from customers.merge import customer_merge
from customers.models import ConsentChange, Customer, CustomerMerge, PrivacyRequest
from customers.privacy import customer_erase, customer_export, customer_export_data, export_as_json
from customers.services import customer_consent_set
from loyalty.models import MembershipCard
from loyalty.services import card_balance, card_join, points_adjust
from service.models import Appointment, RepairLine, RepairOrder
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

D = datetime.date
ID_NUMBER = "11010519491231002X"
S = Complaint.Status
# The steps to a closed case, with what each records (as tests/complaints/test_services.py walks them).
WALK = [
    (S.RECORDED, {}),
    (S.INVESTIGATED, {"findings": "工单显示未更换机油滤芯"}),
    (S.CAUSE_FOUND, {"cause": "技师漏做项目"}),
    (S.REMEDY_DECIDED, {"remedy": "免费补做", "goodwill_cost": "88.5"}),
    (S.CUSTOMER_NOTIFIED, {"customer_agreed": True, "customer_answer": "同意周六来店，别再打我单位电话"}),
    (S.CARRIED_OUT, {"action_taken": "已补换滤芯"}),
    (S.FOLLOWED_UP, {"follow_up": "客户说住在浦东新区某某路"}),
    (S.CLOSED, {}),
]


def order(customer, car, number, labour, parts):
    ro = RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        number=number,
        kind="maintenance",
        opened_at=timezone.now(),
        mileage=5000,
        labor_amount=Decimal(labour),
        parts_amount=Decimal(parts),
        total_amount=Decimal(labour) + Decimal(parts),
        work_done="更换机油机滤",
    )
    RepairLine.objects.create(repair_order=ro, description="机油", amount=Decimal(parts))
    return ro


def open_case(customer, by, description="保养后机油灯亮"):
    return complaint_open(
        customer=customer,
        category=ComplaintCategory.objects.get(code="repair_quality"),
        channel="hotline",
        severity="normal",
        description=description,
        demand="免费处理",
        by=by,
    )


@pytest.fixture
def held(dealership, customer, manager, advisor):
    """Something of the customer in every app: a car with two orders and their
    lines, a touch, a contact, a message, an appointment, a closed complaint, a
    card with points, a survey answer; consent given by an SMS reply."""
    Customer.objects.filter(pk=customer.pk).update(
        email="lilei@example.com",
        address="上海市浦东新区世纪大道100号",
        district="浦东新区",
        birthday=D(1985, 3, 2),
        lunar_birthday_month=1,
        lunar_birthday_day=11,
        notes="喜欢周末来店",
        employer="某某公司",
    )
    customer.refresh_from_db()
    customer.id_number = ID_NUMBER
    customer.save()
    customer_consent_set(
        customers=Customer.objects.filter(pk=customer.pk),
        granted=True,
        source=ConsentChange.Source.SMS_REPLY,
        at=timezone.now(),
        detail="回复Y 我是李雷",
    )
    car = VehicleFactory(customer=customer, plate_number="沪AD12345")
    order(customer, car, "RO-1", "200.00", "150.00")
    order(customer, car, "RO-2", "80.00", "20.00")
    rule = CareRuleFactory(kind="birthday", name="生日")
    day = D(2026, 12, 20)
    CareTask.objects.create(
        dealership=dealership,
        customer=customer,
        rule=rule,
        kind="birthday",
        channel="call",
        occasion="birthday:2026",
        event_date=day,
        due_date=day,
        expires_on=day,
        created_on=day,
        notes="客户说女儿下月结婚",
    )
    Contact.objects.create(dealership=dealership, customer=customer, advisor=advisor, notes="客户换了新工作")
    Outbox.objects.create(
        dealership=dealership,
        customer=customer,
        kind="birthday",
        purpose="service",
        channel="sms",
        recipient=customer.phone,
        template_key="birthday:1",
        params=[["name", "李雷"]],
        body="李雷先生，祝您生日快乐",
        send_after=timezone.now(),
    )
    Appointment.objects.create(
        dealership=dealership, customer=customer, vehicle=car, scheduled_at=timezone.now(), notes="带孩子来"
    )
    case = open_case(customer, advisor)
    for to, data in WALK:
        case = complaint_transition(complaint=case, to=to, by=advisor, **data)
    card = card_join(customer=customer, level="silver", route="fee", by=manager, day=D(2026, 1, 10))
    points_adjust(card=card, points=30, reason="活动补录", by=manager, day=D(2026, 1, 10))
    SurveyResponse.objects.create(
        dealership=dealership,
        customer=customer,
        kind="post_service",
        channel="sms",
        csat=5,
        nps=9,
        comment="服务顾问小王很好，我电话13912345678",
        answered_at=timezone.now(),
    )
    return customer


def tables(data) -> dict[str, list[dict]]:
    if data["tables"] and not isinstance(data["tables"][0], dict):
        data = export_as_json(data)
    found = {}
    for table in data["tables"]:
        found[table["table"]] = table["rows"]
        for child in table["children"]:
            found[child["table"]] = child["rows"]
    return found


# --- Export ----------------------------------------------------------------------------------
def test_the_json_export_holds_rows_from_every_app(client, manager, held):
    client.force_login(manager)
    response = client.get(reverse("customers:privacy-export-json", args=[held.pk]), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["format"] == "pipl-export/1"
    # The ID number in full: it is the customer's own data. The lookup hash is not.
    assert data["customer"]["id_number"] == ID_NUMBER
    assert "id_number_hash" not in data["customer"]
    assert data["customer"]["address"] == "上海市浦东新区世纪大道100号"
    rows = tables(data)
    assert [r["plate_number"] for r in rows["vehicles.Vehicle"]] == ["沪AD12345"]
    assert sorted(r["number"] for r in rows["service.RepairOrder"]) == ["RO-1", "RO-2"]
    assert sorted(r["total_amount"] for r in rows["service.RepairOrder"]) == ["100.00", "350.00"]
    assert len(rows["service.RepairLine"]) == 2  # one level down: the orders' lines
    assert rows["care.CareTask"][0]["notes"] == "客户说女儿下月结婚"
    assert rows["care.Contact"][0]["notes"] == "客户换了新工作"
    assert "李雷先生，祝您生日快乐" in {r["body"] for r in rows["care.Outbox"]}
    assert rows["complaints.Complaint"][0]["description"] == "保养后机油灯亮"
    assert len(rows["complaints.ComplaintEvent"]) == 9  # received + the eight steps
    assert [r["points"] for r in rows["loyalty.PointsEntry"]] == [30]
    assert rows["loyalty.MembershipCard"][0]["level"] == "silver"
    assert rows["analytics.SurveyResponse"][0]["nps"] == 9
    assert rows["service.Appointment"][0]["notes"] == "带孩子来"
    assert rows["customers.ConsentChange"][0]["detail"] == "回复Y 我是李雷"
    request = PrivacyRequest.objects.get()
    assert (request.kind, request.format, request.by, request.customer, request.ip) == (
        "export",
        "json",
        manager,
        held,
        "10.1.2.3",
    )
    assert request.detail["rows"]["service.RepairOrder"] == 2


def test_the_readable_export_page_shows_the_same_and_is_audited(client, manager, held):
    client.force_login(manager)
    response = client.get(reverse("customers:privacy-export", args=[held.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert ID_NUMBER in page and "RO-1" in page and "祝您生日快乐" in page
    assert 'data-table="loyalty.PointsEntry"' in page
    assert PrivacyRequest.objects.get().format == "html"


def test_a_former_owners_orders_on_the_same_car_are_not_exported(manager, dealership, customer):
    car = VehicleFactory(customer=customer)
    former = CustomerFactory(dealership=dealership)
    order(former, car, "RO-OLD", "10.00", "0.00")
    order(customer, car, "RO-MINE", "10.00", "0.00")
    rows = tables(customer_export_data(customer=customer))
    assert [r["number"] for r in rows["service.RepairOrder"]] == ["RO-MINE"]


def test_the_export_costs_a_fixed_number_of_queries_per_table(manager, customer, django_assert_max_num_queries):
    car = VehicleFactory(customer=customer)
    counts = []
    for size in (1, 6):
        while RepairOrder.objects.filter(customer=customer).count() < size:
            order(customer, car, f"RO-{RepairOrder.objects.count()}", "10.00", "5.00")
        # The customer; one query per table pointing at customers (about 25); one per
        # table below one with rows (the car's readings, the orders' lines…); the audit row.
        with django_assert_max_num_queries(45) as queries:
            data = customer_export(customer=customer, by=manager, ip="10.0.0.1", format="json")
        assert len(tables(data)["service.RepairLine"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_advisors_get_a_403_and_another_store_a_404(client, advisor, manager, held, other_dealership):
    client.force_login(advisor)
    for name in ("customers:privacy", "customers:privacy-export-json", "customers:privacy-export"):
        assert client.get(reverse(name, args=[held.pk])).status_code == 403
    assert (
        client.post(reverse("customers:privacy-erase", args=[held.pk]), {"confirmation": held.phone}).status_code == 403
    )
    with pytest.raises(PermissionDenied):
        customer_export(customer=held, by=advisor, ip=None, format="json")
    foreign = CustomerFactory(dealership=other_dealership)
    client.force_login(manager)
    for name in ("customers:privacy", "customers:privacy-export-json", "customers:privacy-export"):
        assert client.get(reverse(name, args=[foreign.pk])).status_code == 404
    assert client.post(reverse("customers:privacy-erase", args=[foreign.pk]), {"confirmation": ""}).status_code == 404
    assert not PrivacyRequest.objects.exists()


# --- Erasure ---------------------------------------------------------------------------------
def test_erasure_blanks_the_personal_data_and_keeps_orders_and_totals(client, manager, held):
    phone = held.phone
    card = MembershipCard.objects.get(customer=held)
    client.force_login(manager)
    page = client.get(reverse("customers:privacy", args=[held.pk])).content.decode()
    assert 'name="confirmation"' in page and "csrfmiddlewaretoken" in page
    # Asked in English: the erased record's name is written in the language of the request.
    response = client.post(
        reverse("customers:privacy-erase", args=[held.pk]),
        {"confirmation": phone},
        REMOTE_ADDR="10.9.8.7",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.name == f"Erased customer #{held.pk}"
    assert (held.phone, held.email, held.address, held.district, held.employer, held.notes) == ("", "", "", "", "", "")
    assert (held.birthday, held.lunar_birthday_month, held.lunar_birthday_day) == (None, None, None)
    assert (held.id_number, held.id_number_hash) == ("", "")
    assert held.status == Customer.RecordStatus.ERASED
    # Marketing stopped, through the consent service; the SMS reply's text gone.
    assert held.marketing_consent is False
    changes = ConsentChange.objects.filter(customer=held).order_by("pk")
    assert [(c.granted, c.source, c.detail) for c in changes] == [(True, "sms_reply", ""), (False, "erasure", "")]
    # Free text elsewhere blanked.
    assert set(Outbox.objects.filter(customer=held).values_list("body", "recipient")) == {("", "")}
    assert set(Contact.objects.filter(customer=held).values_list("notes", flat=True)) == {""}
    assert set(CareTask.objects.filter(customer=held).values_list("notes", flat=True)) == {""}
    assert list(Appointment.objects.filter(customer=held).values_list("notes", flat=True)) == [""]
    assert list(SurveyResponse.objects.filter(customer=held).values_list("comment", "nps")) == [("", 9)]
    case = Complaint.objects.get(customer=held)
    assert (case.description, case.demand, case.customer_answer, case.follow_up) == ("", "", "", "")
    # The store's own record of the case stays.
    assert (case.status, case.cause, case.remedy, case.action_taken) == (
        "closed",
        "技师漏做项目",
        "免费补做",
        "已补换滤芯",
    )
    assert not any("customer_answer" in e.data or "follow_up" in e.data for e in ComplaintEvent.objects.all())
    # Orders, amounts, lines, the card and its points stay.
    orders = RepairOrder.objects.filter(customer=held)
    assert sorted(orders.values_list("number", flat=True)) == ["RO-1", "RO-2"]
    assert sum(o.total_amount for o in orders) == Decimal("450.00")
    assert orders.get(number="RO-1").work_done == "更换机油机滤"
    assert RepairLine.objects.filter(repair_order__customer=held).count() == 2
    assert card_balance(card) == 30
    request = PrivacyRequest.objects.get(kind="erasure")
    assert (request.by, request.ip, request.customer) == (manager, "10.9.8.7", held)
    assert request.detail["blanked"]["care.Outbox"] == Outbox.objects.filter(customer=held).count()


def test_erasure_is_refused_while_a_complaint_is_open(client, manager, advisor, customer):
    case = open_case(customer, advisor)
    client.force_login(manager)
    page = client.get(reverse("customers:privacy", args=[customer.pk])).content.decode()
    assert case.number in page and 'name="confirmation"' not in page
    response = client.post(reverse("customers:privacy-erase", args=[customer.pk]), {"confirmation": customer.phone})
    assert response.status_code == 400
    assert case.number in response.content.decode()
    customer.refresh_from_db()
    assert customer.status == Customer.Status.ACTIVE and customer.phone == "13912345678"
    with pytest.raises(ValidationError):
        customer_erase(customer=customer, by=manager, ip=None, confirmation=customer.phone)
    assert not PrivacyRequest.objects.exists()


def test_erasure_needs_the_mobile_typed(client, manager, customer):
    client.force_login(manager)
    response = client.post(reverse("customers:privacy-erase", args=[customer.pk]), {"confirmation": "yes"})
    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.status == Customer.Status.ACTIVE and customer.name == "李雷"


def test_an_erased_customer_cannot_be_erased_twice_or_merged(manager, dealership, customer):
    customer_erase(customer=customer, by=manager, ip=None, confirmation=customer.phone)
    customer.refresh_from_db()
    with pytest.raises(ValidationError):
        customer_erase(customer=customer, by=manager, ip=None, confirmation=f"#{customer.pk}")
    other = CustomerFactory(dealership=dealership)
    for kept, merged in ((customer, other), (other, customer)):
        with pytest.raises(ValidationError):
            customer_merge(kept=kept, merged=merged, by=manager)
    assert PrivacyRequest.objects.filter(kind="erasure").count() == 1


def test_the_records_merged_into_the_customer_are_erased_with_it(manager, dealership, customer):
    twin = CustomerFactory(dealership=dealership, phone=customer.phone, email="twin@example.com")
    record = customer_merge(kept=customer, merged=twin, by=manager)
    assert record.former["phone"] == customer.phone
    customer_erase(customer=customer, by=manager, ip=None, confirmation=customer.phone)
    twin.refresh_from_db()
    assert (twin.phone, twin.email, twin.status) == ("", "", Customer.RecordStatus.ERASED)
    record = CustomerMerge.objects.get()
    assert (record.former, record.filled) == ({}, {})


def test_advisors_cannot_erase_through_the_service_either(advisor, customer):
    with pytest.raises(PermissionDenied):
        customer_erase(customer=customer, by=advisor, ip=None, confirmation=customer.phone)
