"""Insurance placed here (issue 12, item 2): a policy recorded by the service,
the renewal call's outcome "renewed with us", admin and the API; the car's
insurance moves on, which closes the renewal touch, and the night earns the
premium's points (1 per 300 yuan)."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from care.engine.services import care_tasks_generate
from care.models import CareRule, CareTask, Contact, OutcomeCode
from care.workspace.services import CallOutcome, care_call_log
from loyalty.models import PointsEntry
from loyalty.services import card_join, loyalty_nightly
from service.models import InsurancePolicy
from service.services import insurance_policy_record
from tests.care.factories import CareRuleFactory
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
EXPIRY = D(2026, 7, 15)


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


@pytest.fixture
def clock(monkeypatch):
    def set_to(moment: datetime.datetime) -> datetime.datetime:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to


@pytest.fixture
def car(customer):
    return VehicleFactory(customer=customer, plate_number="沪AD12345", insurance_expiry_date=EXPIRY, insurer="人保")


@pytest.fixture
def renewal_rule(db):
    """Only an insurance rule: one call 30 days before the expiry, until the expiry."""
    CareRule.objects.all().delete()
    return CareRuleFactory(kind="insurance", lead_days=30, expiry_days=0, call_script="{plate}车险{due_date}到期")


@pytest.fixture
def renewal_touch(renewal_rule, car):
    # 2026-07-15 − 30 days = 2026-06-15 (June has 30 days).
    care_tasks_generate(day=D(2026, 6, 15))
    return CareTask.objects.get(kind="insurance", status="open")


def record(car, by, **changes) -> InsurancePolicy:
    data = {
        "vehicle": car,
        "insurer": "平安",
        "kind": "commercial",
        "premium": Decimal("3000.00"),
        "starts_on": D(2026, 7, 16),
        "ends_on": D(2027, 7, 15),
        "by": by,
        "source": "desk",
    }
    return insurance_policy_record(**{**data, **changes})


# --- The service -----------------------------------------------------------------------------


def test_a_policy_moves_the_cars_expiry_on_and_closes_the_renewal_touch(renewal_touch, car, advisor):
    assert (renewal_touch.event_date, renewal_touch.due_date) == (EXPIRY, D(2026, 6, 15))
    policy = record(car, advisor)
    assert (policy.dealership, policy.customer, policy.sold_by, policy.source) == (
        car.customer.dealership,
        car.customer,
        advisor,
        "desk",
    )
    car.refresh_from_db()
    assert (car.insurance_expiry_date, car.insurer) == (D(2027, 7, 15), "平安")
    # The next morning care's own rule sees the insurance now ends after the
    # date the touch was about: renewed, the touch closes as fulfilled.
    report = care_tasks_generate(day=D(2026, 6, 16))
    renewal_touch.refresh_from_db()
    assert (renewal_touch.status, renewal_touch.outcome, report.fulfilled) == ("done", "fulfilled", 1)


def test_an_earlier_policy_does_not_move_the_expiry_back(car, advisor):
    record(car, advisor, kind="compulsory", starts_on=D(2025, 7, 16), ends_on=D(2026, 7, 15))
    car.refresh_from_db()
    assert (car.insurance_expiry_date, car.insurer) == (EXPIRY, "人保")
    assert InsurancePolicy.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"premium": Decimal("-1")}, "premium"),
        ({"premium": "abc"}, "premium"),
        ({"ends_on": D(2026, 7, 16)}, "ends_on"),
        ({"ends_on": D(2026, 7, 1)}, "ends_on"),
        ({"insurer": "  "}, "insurer"),
        ({"kind": "life"}, "kind"),
    ],
)
def test_bad_input_is_refused_per_field_and_nothing_changes(car, advisor, changes, field):
    with pytest.raises(ValidationError) as exc:
        record(car, advisor, **changes)
    assert list(exc.value.message_dict) == [field]
    car.refresh_from_db()
    assert car.insurance_expiry_date == EXPIRY and not InsurancePolicy.objects.exists()


def test_a_car_of_another_store_is_refused(car, other_dealership):
    stranger = UserFactory(username="stranger", dealership=other_dealership)
    with pytest.raises(ValidationError) as exc:
        record(car, stranger)
    assert list(exc.value.message_dict) == ["vehicle"]
    assert not InsurancePolicy.objects.exists()


# --- "Renewed with us" on the renewal call ---------------------------------------------------


def renewed_here(**details) -> CallOutcome:
    values = {
        "insurer": "平安",
        "policy_kind": "commercial",
        "premium": "3000",
        "starts_on": "2026-07-16",
        "ends_on": "2027-07-15",
    }
    return CallOutcome(code=OutcomeCode.objects.get(code="renewed_here"), details={**values, **details})


def test_the_outcome_is_installed_asking_the_policy(db):
    code = OutcomeCode.objects.get(code="renewed_here")
    assert (code.label, code.action, code.task_outcome, code.places_insurance) == (
        "续保成功（本店）",
        "close",
        "insured_here",
        True,
    )
    assert code.asks == ["insurer", "policy_kind", "premium", "starts_on", "ends_on"]


def test_renewed_with_us_records_the_policy_and_the_night_earns_10_points(clock, renewal_touch, car, advisor):
    card = card_join(customer=car.customer, level="ordinary", route="fee", by=None, day=D(2026, 3, 1))
    clock(at(2026, 6, 15, 10, 0))
    contact = care_call_log(task=renewal_touch, outcome=renewed_here(), by=advisor)
    policy = InsurancePolicy.objects.get()
    assert (policy.vehicle, policy.insurer, policy.kind, policy.premium, policy.starts_on, policy.ends_on) == (
        car,
        "平安",
        "commercial",
        Decimal("3000.00"),
        D(2026, 7, 16),
        D(2027, 7, 15),
    )
    assert (policy.source, policy.sold_by) == ("call", advisor)
    assert contact.details["insurance_policy"] == policy.pk
    renewal_touch.refresh_from_db()
    assert (renewal_touch.status, renewal_touch.outcome) == ("done", "insured_here")
    car.refresh_from_db()
    assert car.insurance_expiry_date == D(2027, 7, 15)
    # 3,000 yuan / 300 yuan a point = 10 points, on the card valid when the policy starts.
    loyalty_nightly(day=D(2026, 7, 16), now=at(2026, 7, 16, 2, 30))
    assert list(PointsEntry.objects.filter(card=card).values_list("kind", "points", "insurance_policy")) == [
        ("insurance", 10, policy.pk)
    ]


def test_a_refused_policy_leaves_the_call_unlogged(renewal_touch, car, advisor):
    with pytest.raises(ValidationError) as exc:
        care_call_log(task=renewal_touch, outcome=renewed_here(ends_on="2026-07-01"), by=advisor)
    assert list(exc.value.message_dict) == ["ends_on"]
    renewal_touch.refresh_from_db()
    assert renewal_touch.status == "open"
    assert not Contact.objects.exists() and not InsurancePolicy.objects.exists()


def test_the_outcome_on_a_call_without_an_insurance_reason_is_refused(renewal_rule, customer, advisor):
    day = D(2026, 6, 15)
    task = CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=VehicleFactory(customer=customer),
        rule=CareRuleFactory(kind="maintenance"),
        kind="maintenance",
        channel="call",
        occasion="maintenance:x",
        event_date=day,
        due_date=day,
        expires_on=day,
        created_on=day,
        assigned_to=advisor,
    )
    with translation.override("en"), pytest.raises(ValidationError, match="insurance renewal call"):
        care_call_log(task=task, outcome=renewed_here(), by=advisor)
    assert not Contact.objects.exists() and not InsurancePolicy.objects.exists()


def form(code: OutcomeCode, **fields) -> dict:
    """What the panel's form posts (every field, most empty), with ``fields`` typed in."""
    data = {
        "code": code.pk,
        "appointment_at": "",
        "follow_up_on": "",
        "reason": "",
        "where": "",
        "why": "",
        "insurer": "",
        "policy_kind": "",
        "premium": "",
        "starts_on": "",
        "ends_on": "",
        "satisfaction": "",
        "notes": "",
        "next": "",
    }
    return {**data, **fields}


GOOD = {
    "insurer": "平安",
    "policy_kind": "commercial",
    "premium": "3000",
    "starts_on": "2026-07-16",
    "ends_on": "2027-07-15",
}


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({"ends_on": "2026-07-01"}, "ends_on"),  # refused by the service: before the start
        ({"premium": "-5"}, "premium"),  # refused by the form
        ({"premium": "三千"}, "premium"),
        ({"policy_kind": ""}, "policy_kind"),  # the outcome asks it
    ],
)
def test_bad_policy_input_in_the_panel_is_a_form_error_and_nothing_is_saved(
    client, renewal_touch, car, advisor, typed, field
):
    client.force_login(advisor)
    code = OutcomeCode.objects.get(code="renewed_here")
    response = client.post(reverse("care:log", args=[renewal_touch.pk]), form(code, **{**GOOD, **typed}))
    assert response.status_code == 400
    errors = response.context["outcome_form"].errors
    assert list(errors) == [field]
    assert 'value="平安"' in response.content.decode()  # what was typed stays
    renewal_touch.refresh_from_db()
    car.refresh_from_db()
    assert renewal_touch.status == "open" and car.insurance_expiry_date == EXPIRY
    assert not Contact.objects.exists() and not InsurancePolicy.objects.exists()


def test_the_panel_form_logs_renewed_with_us(client, renewal_touch, car, advisor):
    client.force_login(advisor)
    code = OutcomeCode.objects.get(code="renewed_here")
    page = client.get(reverse("care:panel", args=[renewal_touch.pk]), HTTP_HX_REQUEST="true").content.decode()
    for name in ("policy_kind", "premium", "starts_on", "ends_on"):
        assert f'data-field="{name}" data-needed-by="renewed_here"' in page
    response = client.post(reverse("care:log", args=[renewal_touch.pk]), form(code, **GOOD))
    assert response.status_code == 302
    policy = InsurancePolicy.objects.get()
    assert (policy.premium, policy.ends_on, policy.source) == (Decimal("3000.00"), D(2027, 7, 15), "call")
    assert Contact.objects.get().details == {**GOOD, "premium": "3000", "insurance_policy": policy.pk}


# --- Admin -----------------------------------------------------------------------------------


def admin_add(client, car, **changes):
    data = {
        "vehicle": car.pk,
        "insurer": "平安",
        "kind": "compulsory",
        "premium": "950.00",
        "starts_on": "2026-07-16",
        "ends_on": "2027-07-15",
    }
    return client.post(reverse("admin:service_insurancepolicy_add"), {**data, **changes})


def test_a_manager_adds_a_policy_in_admin_through_the_service(client, manager, car):
    client.force_login(manager)
    assert admin_add(client, car).status_code == 302
    policy = InsurancePolicy.objects.get()
    assert (policy.source, policy.sold_by, policy.customer, policy.dealership) == (
        "desk",
        manager,
        car.customer,
        car.customer.dealership,
    )
    car.refresh_from_db()
    assert car.insurance_expiry_date == D(2027, 7, 15)
    page = client.get(reverse("admin:service_insurancepolicy_changelist")).content.decode()
    assert "沪AD12345" in page


def test_a_bad_policy_in_admin_is_an_error_on_its_field(client, manager, car):
    client.force_login(manager)
    response = admin_add(client, car, ends_on="2026-07-10")
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["ends_on"]
    assert not InsurancePolicy.objects.exists()
    car.refresh_from_db()
    assert car.insurance_expiry_date == EXPIRY


def test_admin_does_not_offer_another_stores_policies(client, manager, other_dealership):
    stranger_car = VehicleFactory(customer=CustomerFactory(dealership=other_dealership))
    policy = record(stranger_car, None)
    client.force_login(manager)
    assert client.get(reverse("admin:service_insurancepolicy_change", args=[policy.pk])).status_code == 404
    assert admin_add(client, stranger_car).status_code == 200  # not a choice: a form error
    assert InsurancePolicy.objects.count() == 1


# --- The API ---------------------------------------------------------------------------------

URL = "/api/v1/insurance-policies/"


def api_data(car, **changes) -> dict:
    data = {
        "vehicle": car.pk,
        "insurer": "太保",
        "kind": "commercial",
        "premium": "4200.50",
        "starts_on": "2026-07-16",
        "ends_on": "2027-07-15",
    }
    return {**data, **changes}


def test_the_api_records_a_policy_through_the_service(client, advisor, car):
    client.force_login(advisor)
    response = client.post(URL, api_data(car), content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["source"], body["sold_by"], body["customer"], body["premium"]) == (
        "api",
        advisor.pk,
        car.customer_id,
        "4200.50",
    )
    car.refresh_from_db()
    assert (car.insurance_expiry_date, car.insurer) == (D(2027, 7, 15), "太保")
    assert [row["id"] for row in client.get(URL).json()["results"]] == [body["id"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"premium": "-10"}, "premium"), ({"ends_on": "2026-07-16"}, "ends_on"), ({"kind": "life"}, "kind")],
)
def test_bad_api_input_is_a_400_with_the_reason(client, advisor, car, changes, field):
    client.force_login(advisor)
    response = client.post(URL, api_data(car, **changes), content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not InsurancePolicy.objects.exists()


def test_another_stores_policy_is_a_404_and_its_car_no_choice(client, advisor, other_dealership):
    stranger_car = VehicleFactory(customer=CustomerFactory(dealership=other_dealership))
    policy = record(stranger_car, ManagerFactory(username="other", dealership=other_dealership))
    client.force_login(advisor)
    assert client.get(f"{URL}{policy.pk}/").status_code == 404
    assert client.get(URL).json()["results"] == []
    response = client.post(URL, api_data(stranger_car), content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["vehicle"]
    assert InsurancePolicy.objects.count() == 1
