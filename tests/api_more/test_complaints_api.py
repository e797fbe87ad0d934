"""The complaints API: open a case, walk its steps through the transition, read its events."""

import pytest
from django.utils import timezone

from complaints.models import Complaint, ComplaintCategory, ComplaintEvent
from complaints.services import complaint_open
from tests.api_more.conftest import get, ids, post
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

S = Complaint.Status

# Every step with the data it records, in order (received is where a case starts).
WALK = [
    (S.RECORDED, {}),
    (S.INVESTIGATED, {"findings": "工单显示未更换机油滤芯"}),
    (S.CAUSE_FOUND, {"cause": "技师漏做项目，质检未发现"}),
    (S.REMEDY_DECIDED, {"remedy": "免费补做并赠送一次洗车", "goodwill_cost": "88.50"}),
    (S.CUSTOMER_NOTIFIED, {"customer_agreed": True, "customer_answer": "同意周六来店"}),
    (S.CARRIED_OUT, {"action_taken": "已补换滤芯"}),
    (S.FOLLOWED_UP, {"follow_up": "三日后电话回访，客户满意"}),
    (S.CLOSED, {}),
]
NEW = {"channel": "hotline", "category": "repair_quality", "description": "保养后机油灯亮", "demand": "免费处理"}


@pytest.fixture
def category(db):
    return ComplaintCategory.objects.get(code="repair_quality")


def open_case(customer, by, category, **extra) -> Complaint:
    values = {"channel": "hotline", "severity": "normal", "description": "保养后机油灯亮"}
    return complaint_open(customer=customer, category=category, by=by, **{**values, **extra})


def step(client, case, to, **data):
    return post(client, f"/api/v1/complaints/{case.pk}/transition/", {"to": to, **data})


def test_a_case_is_opened_through_the_service(api, customer, advisor, vehicle):
    response = post(api, "/api/v1/complaints/", {**NEW, "customer": customer.pk, "vehicle": vehicle.pk})
    assert response.status_code == 201, response.content
    case = Complaint.objects.get()
    body = response.json()
    year = timezone.localdate().year
    assert body["id"] == case.pk
    assert body["number"] == case.number == f"TS-{year}-000001"
    assert (body["status"], body["severity"], body["category"]) == ("received", "normal", "repair_quality")
    assert (case.customer, case.vehicle, case.received_by) == (customer, vehicle, advisor)
    assert case.acknowledge_due is not None and case.resolution_due is not None
    event = ComplaintEvent.objects.get()
    assert (event.from_status, event.to_status, event.by) == ("", "received", advisor)


def test_a_tier_a_customers_case_starts_one_severity_higher(api, customer):
    customer.value_tier = "A"
    customer.save(update_fields=["value_tier"])
    response = post(api, "/api/v1/complaints/", {**NEW, "customer": customer.pk})
    assert response.status_code == 201
    assert response.json()["severity"] == "escalated"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"description": ""}, "description", "may not be blank"),
        ({"channel": "carmaker_hotline"}, "carmaker_reference", "carmaker's case reference"),
        ({"category": "nonsense"}, "category", "does not exist"),
        ({"severity": "huge"}, "severity", "not a valid choice"),
    ],
)
def test_a_bad_case_is_a_400_with_the_reason(api, customer, change, field, reason):
    response = post(api, "/api/v1/complaints/", {**NEW, "customer": customer.pk, **change})
    assert response.status_code == 400
    assert reason in " ".join(response.json()[field])
    assert not Complaint.objects.exists()


def test_another_customers_car_is_refused_by_the_service(api, customer, dealership):
    car = VehicleFactory(customer=CustomerFactory(dealership=dealership))
    response = post(api, "/api/v1/complaints/", {**NEW, "customer": customer.pk, "vehicle": car.pk})
    assert response.status_code == 400
    assert response.json()["vehicle"] == ["This car is not the customer's."]


def test_the_staff_member_complained_about_cannot_handle_the_case(api, customer, advisor):
    response = post(
        api,
        "/api/v1/complaints/",
        {**NEW, "customer": customer.pk, "handler": advisor.pk, "staff_involved": advisor.pk},
    )
    assert response.status_code == 400
    assert "choose a colleague" in response.json()["handler"][0]


def test_another_stores_customer_or_handler_is_refused(api, customer, other_customer, other_advisor):
    assert "customer" in post(api, "/api/v1/complaints/", {**NEW, "customer": other_customer.pk}).json()
    response = post(api, "/api/v1/complaints/", {**NEW, "customer": customer.pk, "handler": other_advisor.pk})
    assert response.status_code == 400
    assert "handler" in response.json()
    assert not Complaint.objects.exists()


def test_the_steps_walk_through_the_transition_to_closed(api, customer, advisor, category):
    case = open_case(customer, advisor, category)
    for to, data in WALK:
        response = step(api, case, to, note=f"到{to}", **data)
        assert response.status_code == 200, (to, response.content)
        assert response.json()["status"] == to
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_at is not None
    assert (case.findings, case.cause, case.goodwill_cost) == (
        "工单显示未更换机油滤芯",
        "技师漏做项目，质检未发现",
        88.5,
    )
    assert case.customer_agreed is True and case.acknowledged_at is not None
    events = get(api, f"/api/v1/complaints/{case.pk}/events/").json()
    assert [e["to_status"] for e in events] == ["received"] + [to for to, _data in WALK]
    assert all(e["by"] == advisor.pk for e in events)
    assert events[2]["data"] == {"findings": "工单显示未更换机油滤芯"}
    assert events[4]["data"] == {"remedy": "免费补做并赠送一次洗车", "goodwill_cost": "88.50"}
    assert events[1]["note"] == "到recorded"


def test_a_skipped_step_is_a_400_with_the_reason(api, customer, advisor, category):
    case = open_case(customer, advisor, category)
    response = step(api, case, "cause_found", cause="漏做")
    assert response.status_code == 400
    assert "the steps go in order" in response.json()["non_field_errors"][0]
    assert Complaint.objects.get().status == "received"


def test_a_step_without_its_data_is_a_400_naming_the_field(api, customer, advisor, category):
    case = open_case(customer, advisor, category)
    assert step(api, case, "recorded").status_code == 200
    response = step(api, case, "investigated", findings="  ")
    assert response.status_code == 400
    assert response.json() == {"findings": ["This step needs this."]}
    assert ComplaintEvent.objects.filter(complaint=case).count() == 2


def test_a_field_the_step_does_not_record_is_a_400(api, customer, advisor, category):
    case = open_case(customer, advisor, category)
    response = step(api, case, "recorded", remedy="免费")
    assert response.status_code == 400
    assert response.json() == {"remedy": ["This step does not record this."]}
    assert Complaint.objects.get().status == "received"


def test_a_major_case_closes_only_with_its_lesson(api, customer, advisor, category):
    case = open_case(customer, advisor, category, severity="major")
    for to, data in WALK[:-1]:
        assert step(api, case, to, **data).status_code == 200
    response = step(api, case, "closed")
    assert response.status_code == 400
    assert "lesson" in response.json()
    assert step(api, case, "closed", lesson="质检加查滤芯").status_code == 200
    assert Complaint.objects.get().lesson.what_changes == "质检加查滤芯"


def test_list_filters_and_the_advisor_sees_only_their_customers_cases(api, customer, advisor, category, dealership):
    colleague = UserFactory(username="colleague", dealership=dealership)
    ours = open_case(customer, advisor, category)
    urgent = open_case(customer, advisor, category, severity="urgent")
    step(api, ours, "recorded")
    colleagues = open_case(CustomerFactory(dealership=dealership, advisor=colleague), colleague, category)
    url = "/api/v1/complaints/"
    assert ids(get(api, url)) == [urgent.pk, ours.pk]
    assert ids(get(api, url, {"status": "recorded"})) == [ours.pk]
    assert ids(get(api, url, {"severity": "urgent"})) == [urgent.pk]
    assert ids(get(api, url, {"ordering": "received_at"})) == [ours.pk, urgent.pk]
    assert get(api, f"{url}{colleagues.pk}/").status_code == 404


def test_another_stores_case_is_a_404_on_every_route(api, other_customer, other_advisor, category):
    theirs = open_case(other_customer, other_advisor, category)
    assert ids(get(api, "/api/v1/complaints/")) == []
    assert get(api, f"/api/v1/complaints/{theirs.pk}/").status_code == 404
    assert get(api, f"/api/v1/complaints/{theirs.pk}/events/").status_code == 404
    assert step(api, theirs, "recorded").status_code == 404
    assert Complaint.objects.get().status == "received"


def test_the_case_list_costs_the_same_queries_at_any_size(
    api, customer, advisor, category, django_assert_max_num_queries
):
    for n in (2, 10):
        while Complaint.objects.count() < n:
            open_case(customer, advisor, category)
        with django_assert_max_num_queries(3):
            assert len(ids(get(api, "/api/v1/complaints/"))) == n


def test_a_step_posted_as_a_form_takes_only_the_fields_sent(api, customer, advisor, category):
    case = open_case(customer, advisor, category)
    response = api.post(f"/api/v1/complaints/{case.pk}/transition/", {"to": "recorded", "note": "已登记"})
    assert response.status_code == 200, response.content
    assert Complaint.objects.get().status == "recorded"
