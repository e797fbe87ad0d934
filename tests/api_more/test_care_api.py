"""The care API: touches (list, filters, the outcome action) and contacts."""

import datetime

import pytest
from django.utils import timezone

from care.models import CareTask, CareTaskEvent, Contact, OutcomeCode, WinbackSurvey
from service.models import Appointment
from tests.api_more.conftest import get, ids, post, touch
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return timezone.localdate()


# --- Touches ---------------------------------------------------------------------------------
def test_touches_list_filters_by_status_kind_due_date_advisor_and_customer(api, customer, advisor, today):
    colleague = UserFactory(username="colleague", dealership=advisor.dealership)
    other = CustomerFactory(dealership=advisor.dealership)
    due_today = touch(customer, advisor, due=today)
    insurance = touch(customer, advisor, due=today + 5 * DAY, kind="insurance")
    theirs = touch(other, colleague, due=today + 2 * DAY)
    closed = touch(other, colleague, due=today - 3 * DAY)
    CareTask.objects.filter(pk=closed.pk).update(status="done", outcome="reached")  # setup of a closed touch
    url = "/api/v1/care-touches/"
    assert ids(get(api, url)) == [closed.pk, due_today.pk, theirs.pk, insurance.pk]
    assert ids(get(api, url, {"status": "open"})) == [due_today.pk, theirs.pk, insurance.pk]
    assert ids(get(api, url, {"kind": "insurance"})) == [insurance.pk]
    window = {"due_date_after": str(today), "due_date_before": str(today + 2 * DAY)}
    assert ids(get(api, url, window)) == [due_today.pk, theirs.pk]
    assert ids(get(api, url, {"assigned_to": colleague.pk})) == [closed.pk, theirs.pk]
    assert ids(get(api, url, {"customer": customer.pk})) == [due_today.pk, insurance.pk]
    assert ids(get(api, url, {"ordering": "-due_date"})) == [insurance.pk, theirs.pk, due_today.pk, closed.pk]


def test_touch_detail_shows_the_touch_and_no_personal_data(api, customer, advisor):
    task = touch(customer, advisor)
    body = get(api, f"/api/v1/care-touches/{task.pk}/").json()
    assert body["id"] == task.pk
    assert body["status"] == "open"
    assert body["customer"] == customer.pk
    assert body["assigned_to"] == advisor.pk
    assert "phone" not in str(body) and customer.phone not in str(body)


def test_another_stores_touch_is_a_404_on_every_route(api, other_customer, other_advisor):
    theirs = touch(other_customer, other_advisor)
    assert ids(get(api, "/api/v1/care-touches/")) == []
    assert get(api, f"/api/v1/care-touches/{theirs.pk}/").status_code == 404
    response = post(api, f"/api/v1/care-touches/{theirs.pk}/outcome/", {"code": "reached"})
    assert response.status_code == 404
    assert CareTask.objects.get(pk=theirs.pk).status == "open"


def test_the_outcome_closes_the_touch_through_the_call_service(api, customer, advisor):
    task = touch(customer, advisor)
    response = post(api, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "reached", "notes": "车况良好"})
    assert response.status_code == 201, response.content
    contact = Contact.objects.get()
    body = response.json()
    assert body["id"] == contact.pk
    assert body["outcome"] == "reached"
    assert body["tasks"] == [task.pk]
    assert (contact.customer, contact.advisor, contact.channel, contact.notes) == (
        customer,
        advisor,
        "call",
        "车况良好",
    )
    task.refresh_from_db()
    assert (task.status, task.outcome, task.notes) == ("done", "reached", "车况良好")
    assert task.closed_at is not None
    # The status change is recorded by care_tasks_transition, as on the page.
    event = CareTaskEvent.objects.get(task=task)
    assert (event.from_status, event.to_status, event.outcome, event.by) == ("open", "done", "reached", advisor)
    assert event.reason == OutcomeCode.objects.get(code="reached").label
    assert get(api, f"/api/v1/care-touches/{task.pk}/").json()["status"] == "done"


def test_a_booking_makes_the_appointment_and_closes_the_touch(api, customer, advisor, today):
    task = touch(customer, advisor)
    at = timezone.make_aware(datetime.datetime.combine(today + 3 * DAY, datetime.time(9, 30)))
    response = post(
        api, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "booked", "appointment_at": at.isoformat()}
    )
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get()
    assert (appointment.customer, appointment.scheduled_at, appointment.advisor) == (customer, at, advisor)
    assert response.json()["appointment"] == appointment.pk
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("done", "booked")


def test_not_reached_reschedules_the_touch_to_the_next_working_day(api, customer, advisor, today):
    task = touch(customer, advisor)
    response = post(api, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "not_reached"})
    assert response.status_code == 201, response.content
    task.refresh_from_db()
    assert (task.status, task.attempts) == ("open", 1)
    assert task.due_date > today
    assert not CareTaskEvent.objects.filter(task=task).exists()


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"code": "booked"}, "appointment_at", "date and time of the appointment"),
        ({"code": "declined"}, "reason", "required for this outcome"),
        ({"code": "later", "follow_up_on": "2000-01-01"}, "follow_up_on", "after today"),
        ({"code": "no-such-code"}, "code", "does not exist"),
        ({"code": "reached", "satisfaction": 9}, "satisfaction", "less than or equal to 5"),
        ({"notes": "没有结果"}, "code", "required"),
    ],
)
def test_a_bad_outcome_is_a_400_with_the_reason_and_leaves_the_touch_open(api, customer, advisor, data, field, reason):
    task = touch(customer, advisor)
    response = post(api, f"/api/v1/care-touches/{task.pk}/outcome/", data)
    assert response.status_code == 400, response.content
    assert reason in " ".join(response.json()[field])
    assert CareTask.objects.get(pk=task.pk).status == "open"
    assert not Contact.objects.exists()


def test_the_reason_is_in_chinese_for_a_chinese_client(api, customer, advisor):
    task = touch(customer, advisor)
    response = post(api, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "booked"}, lang="zh-hans")
    assert response.status_code == 400
    assert "预约" in response.json()["appointment_at"][0]


def test_a_call_logged_twice_is_a_400(api, customer, advisor):
    task = touch(customer, advisor)
    assert post(api, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "reached"}).status_code == 201
    response = post(api, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "reached"})
    assert response.status_code == 400
    assert "already been logged" in response.json()["non_field_errors"][0]
    assert Contact.objects.count() == 1


def test_an_advisor_cannot_log_a_colleagues_call_but_the_manager_can(client, customer, advisor, manager):
    colleague = UserFactory(username="colleague", dealership=advisor.dealership)
    task = touch(customer, colleague)
    client.force_login(advisor)
    assert post(client, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "reached"}).status_code == 404
    client.force_login(manager)
    assert post(client, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "reached"}).status_code == 201
    assert CareTask.objects.get(pk=task.pk).status == "done"


def test_a_winback_call_records_its_survey_with_the_outcome(api, customer, advisor):
    task = touch(customer, advisor, kind="winback")
    survey = {"reasons": ["price", "distance"], "repaired_elsewhere": True, "where": "路边快修店"}
    response = post(
        api, f"/api/v1/care-touches/{task.pk}/outcome/", {"code": "winback_surveyed", "winback_survey": survey}
    )
    assert response.status_code == 201, response.content
    answers = WinbackSurvey.objects.get()
    assert answers.contact == Contact.objects.get()
    assert (answers.reasons, answers.repaired_elsewhere, answers.where) == (["price", "distance"], True, "路边快修店")
    assert CareTask.objects.get(pk=task.pk).status == "done"


def test_a_refused_survey_leaves_no_contact_and_the_touch_open(api, customer, advisor):
    task = touch(customer, advisor, kind="winback")
    data = {"code": "winback_surveyed", "winback_survey": {"reasons": ["other"]}}
    response = post(api, f"/api/v1/care-touches/{task.pk}/outcome/", data)
    assert response.status_code == 400
    assert response.json() == {"winback_survey": {"other": ["Say what the other reason is."]}}
    assert not Contact.objects.exists() and not WinbackSurvey.objects.exists()
    assert CareTask.objects.get(pk=task.pk).status == "open"


def test_a_survey_on_a_call_without_a_winback_reason_is_a_400(api, customer, advisor):
    task = touch(customer, advisor)
    data = {"code": "reached", "winback_survey": {"reasons": ["price"]}}
    response = post(api, f"/api/v1/care-touches/{task.pk}/outcome/", data)
    assert response.status_code == 400
    assert "winback_survey" in response.json()
    assert CareTask.objects.get(pk=task.pk).status == "open"


def test_the_touch_list_costs_the_same_queries_at_any_size(api, customer, advisor, django_assert_max_num_queries):
    for n in (2, 12):
        while CareTask.objects.count() < n:
            touch(customer, advisor)
        with django_assert_max_num_queries(3):
            assert len(ids(get(api, "/api/v1/care-touches/"))) == n


# --- Contacts --------------------------------------------------------------------------------
def test_a_contact_is_logged_outside_the_queue(api, customer, advisor):
    response = post(
        api, "/api/v1/contacts/", {"customer": customer.pk, "channel": "wechat", "notes": "客户咨询保养价格"}
    )
    assert response.status_code == 201, response.content
    contact = Contact.objects.get()
    assert (contact.customer, contact.advisor, contact.channel, contact.notes) == (
        customer,
        advisor,
        "wechat",
        "客户咨询保养价格",
    )
    assert response.json()["id"] == contact.pk
    assert response.json()["tasks"] == []


def test_a_contact_with_an_outcome_code_needs_no_notes(api, customer):
    response = post(api, "/api/v1/contacts/", {"customer": customer.pk, "channel": "visit", "code": "declined"})
    assert response.status_code == 201, response.content
    assert Contact.objects.get().outcome.code == "declined"


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"channel": "sms", "notes": ""}, "notes", "Write what was said"),
        ({"channel": "fax", "notes": "x"}, "channel", "not a valid choice"),
    ],
)
def test_a_bad_contact_is_a_400_with_the_reason(api, customer, data, field, reason):
    response = post(api, "/api/v1/contacts/", {"customer": customer.pk, **data})
    assert response.status_code == 400
    assert reason in " ".join(response.json()[field])
    assert not Contact.objects.exists()


def test_a_contact_for_another_stores_customer_is_refused(api, other_customer):
    response = post(api, "/api/v1/contacts/", {"customer": other_customer.pk, "channel": "sms", "notes": "x"})
    assert response.status_code == 400
    assert "customer" in response.json()
    assert not Contact.objects.exists()


def test_contacts_list_filters_and_another_stores_contact_is_a_404(api, customer, advisor, other_customer):
    ours = Contact.objects.create(dealership=customer.dealership, customer=customer, advisor=advisor, notes="a")
    visit = Contact.objects.create(
        dealership=customer.dealership, customer=customer, advisor=advisor, channel="visit", notes="b"
    )
    theirs = Contact.objects.create(dealership=other_customer.dealership, customer=other_customer, notes="c")
    assert ids(get(api, "/api/v1/contacts/")) == [visit.pk, ours.pk]
    assert ids(get(api, "/api/v1/contacts/", {"channel": "visit"})) == [visit.pk]
    assert get(api, f"/api/v1/contacts/{ours.pk}/").json()["notes"] == "a"
    assert get(api, f"/api/v1/contacts/{theirs.pk}/").status_code == 404


def test_the_contact_list_costs_the_same_queries_at_any_size(api, customer, advisor, django_assert_max_num_queries):
    for n in (2, 12):
        while Contact.objects.count() < n:
            task = touch(customer, advisor)
            contact = Contact.objects.create(dealership=customer.dealership, customer=customer, advisor=advisor)
            contact.tasks.set([task])
        with django_assert_max_num_queries(4):
            body = get(api, "/api/v1/contacts/").json()
        assert len(body["results"]) == n
        assert all(len(row["tasks"]) == 1 for row in body["results"])
