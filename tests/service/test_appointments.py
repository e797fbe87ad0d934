import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from service.models import Appointment, RepairOrder
from service.services import appointments_link_repair_orders, repair_order_open
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def book(customer, when: datetime.datetime, *, vehicle=None, advisor=None, **kwargs) -> Appointment:
    return Appointment.objects.create(
        dealership=customer.dealership, customer=customer, vehicle=vehicle, advisor=advisor, scheduled_at=when, **kwargs
    )


def dms_order(vehicle, number: str, opened_at: datetime.datetime) -> RepairOrder:
    """A repair order as the DMS import leaves it: no service call, no linking."""
    return RepairOrder.objects.create(
        dealership=vehicle.customer.dealership,
        customer=vehicle.customer,
        vehicle=vehicle,
        number=number,
        kind="maintenance",
        opened_at=opened_at,
        mileage=1000,
    )


def page(client, **params):
    return client.get(reverse("service:appointments"), params)


def arrived_url(appointment) -> str:
    return reverse("service:appointment-arrived", args=[appointment.pk])


# --- The page ------------------------------------------------------------------------


def test_advisor_sees_the_stores_day_grouped_by_advisor_own_first(client, advisor, customer, vehicle, other_dealership):
    today = timezone.localdate()
    colleague = UserFactory(username="colleague", dealership=advisor.dealership, last_name="赵", first_name="敏")
    walk_in = CustomerFactory(dealership=advisor.dealership, name="韩梅梅")
    mine = book(customer, at(today, 10, 30), vehicle=vehicle, advisor=advisor, notes="换机油机滤", kind="maintenance")
    theirs = book(walk_in, at(today, 9), advisor=colleague, kind="repair")
    nobodys = book(CustomerFactory(dealership=advisor.dealership, name="无人接待"), at(today, 8))
    book(customer, at(today + datetime.timedelta(days=1), 9), advisor=advisor)  # tomorrow
    book(CustomerFactory(dealership=other_dealership, name="别店客户"), at(today, 9))  # another store
    client.force_login(advisor)

    response = page(client)

    assert response.status_code == 200
    assert response.context["day"] == today
    # Own group first though the colleague's slot is earlier; the unassigned last.
    assert [(g.advisor, [a.pk for a in g.appointments], g.own) for g in response.context["groups"]] == [
        (advisor, [mine.pk], True),
        (colleague, [theirs.pk], False),
        (None, [nobodys.pk], False),
    ]
    html = response.content.decode()
    assert reverse("customers:detail", args=[customer.pk]) in html
    assert "10:30" in html and "沪AD12345" in html and "换机油机滤" in html
    assert "韩梅梅" in html and "赵敏" in html
    assert "别店客户" not in html
    assert arrived_url(mine) in html  # booked: the button is there


def test_manager_sees_the_store_and_a_group_admin_filters_by_dealership(
    client, manager, group_admin, customer, other_dealership
):
    today = timezone.localdate()
    here = book(customer, at(today, 9))
    there = book(CustomerFactory(dealership=other_dealership, name="别店客户"), at(today, 11))
    client.force_login(manager)
    assert [a.pk for g in page(client).context["groups"] for a in g.appointments] == [here.pk]
    # A store user's dealership parameter is no way out of the store.
    assert [a.pk for g in page(client, dealership=other_dealership.pk).context["groups"] for a in g.appointments] == [
        here.pk
    ]

    client.force_login(group_admin)
    response = page(client)
    assert {a.pk for g in response.context["groups"] for a in g.appointments} == {here.pk, there.pk}
    assert "别店客户" in response.content.decode() and other_dealership.name in response.content.decode()
    filtered = page(client, dealership=other_dealership.pk)
    assert [a.pk for g in filtered.context["groups"] for a in g.appointments] == [there.pk]


def test_day_switch_tomorrow_and_any_date(client, advisor, customer):
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    book(customer, at(today, 9), notes="今天的预约")
    book(customer, at(tomorrow, 14), notes="明天的预约")
    book(customer, at(D(2026, 3, 2), 9, 15), notes="三月的预约")
    client.force_login(advisor)

    html = page(client).content.decode()
    assert f"?day={tomorrow:%Y-%m-%d}" in html  # the switch
    assert "今天的预约" in html and "明天的预约" not in html

    response = page(client, day=f"{tomorrow:%Y-%m-%d}")
    assert response.context["day"] == tomorrow
    assert "明天的预约" in response.content.decode() and "今天的预约" not in response.content.decode()

    response = page(client, day="2026-03-02")
    assert response.context["day"] == D(2026, 3, 2)
    assert "三月的预约" in response.content.decode() and "09:15" in response.content.decode()


@pytest.mark.parametrize("bad", ["2026-02-30", "tomorrow", "1900-01-01", "9999-12-31"])
def test_a_bad_day_is_a_translated_message_and_today_is_shown(client, advisor, customer, bad):
    book(customer, at(timezone.localdate(), 9), notes="今天的预约")
    client.force_login(advisor)
    response = page(client, day=bad)
    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()
    html = response.content.decode()
    assert 'role="alert"' in html and "今天的预约" in html
    # Django's own messages, already in Chinese: not a date / out of range.
    assert "输入一个有效的日期" in html or "确保该值" in html


def test_login_is_required(client, db):
    response = page(client)
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("size", [2, 20])
def test_page_costs_the_same_queries_at_any_size(
    client, advisor, group_admin, other_dealership, django_assert_max_num_queries, size
):
    today = timezone.localdate()
    colleagues = [advisor, *(UserFactory(dealership=advisor.dealership) for _ in range(2))]
    for i in range(size):
        customer = CustomerFactory(dealership=advisor.dealership, advisor=advisor)
        appointment = book(
            customer,
            at(today, 8 + i % 10, i % 60),
            vehicle=VehicleFactory(customer=customer),
            advisor=colleagues[i % 3],
        )
        if i % 4 == 0:
            appointment.repair_order = dms_order(appointment.vehicle, f"RO{i}", at(today, 12))
            appointment.status = Appointment.Status.ARRIVED
            appointment.save()
        book(CustomerFactory(dealership=other_dealership), at(today, 9))
    client.force_login(advisor)
    # session, user, the user's dealership (layout), the appointments with
    # customer, car, advisor, store and repair order joined.
    with django_assert_max_num_queries(4):
        response = page(client)
    assert response.context["count"] == size
    client.force_login(group_admin)
    # session, user, the appointments, the stores of the filter, and the
    # holiday calendar's known years (crm.context_processors, managers and admins only).
    with django_assert_max_num_queries(5):
        response = page(client)
    assert response.context["count"] == 2 * size


# --- Marking arrived ---------------------------------------------------------------------


def test_mark_arrived_without_javascript_redirects_back_to_the_day(client, advisor, customer):
    slot = at(D(2026, 5, 11), 9, 30)
    appointment = book(customer, slot, status=Appointment.Status.CONFIRMED)
    client.force_login(advisor)
    before = timezone.now()

    response = client.post(arrived_url(appointment))

    assert response.status_code == 302
    assert response["Location"] == reverse("service:appointments") + "?day=2026-05-11"
    appointment.refresh_from_db()
    assert appointment.status == "arrived"
    assert before <= appointment.arrived_at <= timezone.now()
    follow = client.get(response["Location"])
    [message] = follow.context["messages"]
    assert "李雷" in message.message
    assert arrived_url(appointment) not in follow.content.decode()  # no button any more


def test_mark_arrived_goes_back_to_the_page_it_came_from(client, group_admin, customer, dealership):
    appointment = book(customer, at(D(2026, 5, 11), 9))
    client.force_login(group_admin)
    back = f"{reverse('service:appointments')}?day=2026-05-11&dealership={dealership.pk}"
    assert client.post(arrived_url(appointment), {"next": back})["Location"] == back
    # Never to another site.
    appointment.status = Appointment.Status.BOOKED
    appointment.save()
    response = client.post(arrived_url(appointment), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("service:appointments") + "?day=2026-05-11"


def test_mark_arrived_with_htmx_returns_the_row(client, advisor, customer, vehicle):
    appointment = book(customer, at(timezone.localdate(), 9), vehicle=vehicle, status=Appointment.Status.NO_SHOW)
    client.force_login(advisor)

    response = client.post(arrived_url(appointment), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.templates[0].name == "service/partials/appointment_row.html"
    html = response.content.decode()
    assert html.startswith(f'<tr id="appointment-{appointment.pk}"')
    assert "沪AD12345" in html and arrived_url(appointment) not in html
    appointment.refresh_from_db()
    assert appointment.status == "arrived"  # a late customer (no-show) arrives too


def test_arriving_twice_keeps_the_first_arrival(client, advisor, customer):
    first = at(D(2026, 5, 11), 9, 5)
    appointment = book(customer, at(D(2026, 5, 11), 9), status=Appointment.Status.ARRIVED, arrived_at=first)
    client.force_login(advisor)
    assert client.post(arrived_url(appointment)).status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.arrived_at) == ("arrived", first)


def test_a_cancelled_appointment_cannot_arrive(client, advisor, customer):
    appointment = book(customer, at(timezone.localdate(), 9), status=Appointment.Status.CANCELLED)
    client.force_login(advisor)
    html = client.post(arrived_url(appointment), HTTP_HX_REQUEST="true").content.decode()
    assert 'role="alert"' in html
    response = client.post(arrived_url(appointment), follow=True)
    assert len(list(response.context["messages"])) == 1
    appointment.refresh_from_db()
    assert (appointment.status, appointment.arrived_at) == ("cancelled", None)


def test_another_stores_appointment_is_404_in_page_and_post(client, advisor, other_manager, customer):
    appointment = book(customer, at(timezone.localdate(), 9))
    client.force_login(other_manager)
    assert appointment.pk not in [a.pk for g in page(client).context["groups"] for a in g.appointments]
    assert client.post(arrived_url(appointment)).status_code == 404
    assert client.post(arrived_url(appointment), HTTP_HX_REQUEST="true").status_code == 404
    assert client.post(reverse("service:appointment-arrived", args=[999999])).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_mark_arrived_is_a_post(client, advisor, customer):
    appointment = book(customer, at(timezone.localdate(), 9))
    client.force_login(advisor)
    assert client.get(arrived_url(appointment)).status_code == 405


# --- Linking appointments to repair orders ------------------------------------------------

DAY = D(2025, 9, 3)


def test_opening_a_repair_order_links_the_days_appointment_for_the_car(customer, vehicle, advisor):
    appointment = book(customer, at(DAY, 9), vehicle=vehicle, status=Appointment.Status.CONFIRMED)
    order = repair_order_open(
        vehicle=vehicle, number="RO-1", kind="maintenance", opened_at=at(DAY, 9, 20), mileage=5000, advisor=advisor
    )
    appointment.refresh_from_db()
    assert (appointment.repair_order_id, appointment.status, appointment.arrived_at) == (
        order.pk,
        "arrived",
        at(DAY, 9, 20),
    )


def test_an_arrival_already_recorded_is_kept(customer, vehicle):
    appointment = book(customer, at(DAY, 9), vehicle=vehicle, status="arrived", arrived_at=at(DAY, 8, 50))
    order = repair_order_open(vehicle=vehicle, number="RO-1", kind="repair", opened_at=at(DAY, 9, 20), mileage=5000)
    appointment.refresh_from_db()
    assert (appointment.repair_order_id, appointment.arrived_at) == (order.pk, at(DAY, 8, 50))


def test_the_cars_appointment_comes_before_one_for_no_car(customer, vehicle):
    second_car = VehicleFactory(customer=customer)
    for_no_car = book(customer, at(DAY, 8))
    for_the_car = book(customer, at(DAY, 10), vehicle=vehicle)
    first = repair_order_open(vehicle=vehicle, number="RO-1", kind="repair", opened_at=at(DAY, 10), mileage=5000)
    assert Appointment.objects.get(pk=for_the_car.pk).repair_order_id == first.pk
    assert Appointment.objects.get(pk=for_no_car.pk).repair_order_id is None
    # The customer's other car, later that day: the appointment for no car is its.
    other = repair_order_open(vehicle=second_car, number="RO-2", kind="repair", opened_at=at(DAY, 15), mileage=10)
    assert Appointment.objects.get(pk=for_no_car.pk).repair_order_id == other.pk


def test_what_is_never_linked(customer, vehicle, advisor):
    # The day before in Shanghai (though the same UTC day as a 07:00 order: 2025-09-02 23:30 +08 = 15:30 UTC,
    # 2025-09-03 07:00 +08 = 2025-09-02 23:00 UTC); cancelled; another car; another customer's.
    yesterday = book(customer, datetime.datetime(2025, 9, 2, 23, 30, tzinfo=SH), vehicle=vehicle)
    cancelled = book(customer, at(DAY, 7), vehicle=vehicle, status=Appointment.Status.CANCELLED)
    other_car = book(customer, at(DAY, 7), vehicle=VehicleFactory(customer=customer))
    neighbour = CustomerFactory(dealership=customer.dealership)
    not_theirs = book(neighbour, at(DAY, 7), vehicle=VehicleFactory(customer=neighbour))
    # An appointment linked already stays with its order.
    earlier = dms_order(vehicle, "RO-0", at(DAY, 6))
    linked = book(customer, at(DAY, 6), vehicle=vehicle, status="arrived", repair_order=earlier, arrived_at=at(DAY, 6))

    repair_order_open(vehicle=vehicle, number="RO-1", kind="repair", opened_at=at(DAY, 7), mileage=5000)

    assert {a.pk: (a.repair_order_id, a.status) for a in Appointment.objects.all()} == {
        yesterday.pk: (None, "booked"),
        cancelled.pk: (None, "cancelled"),
        other_car.pk: (None, "booked"),
        not_theirs.pk: (None, "booked"),
        linked.pk: (earlier.pk, "arrived"),
    }


def test_just_after_midnight_is_the_same_local_day(customer, vehicle):
    # 2025-09-03 00:30 in Shanghai is still 2025-09-02 in UTC.
    appointment = book(customer, datetime.datetime(2025, 9, 3, 0, 30, tzinfo=SH), vehicle=vehicle)
    order = repair_order_open(vehicle=vehicle, number="RO-1", kind="repair", opened_at=at(DAY, 18), mileage=5000)
    assert Appointment.objects.get(pk=appointment.pk).repair_order_id == order.pk


def test_bulk_linking_of_imported_orders(customer, vehicle, django_assert_num_queries):
    # Given the day's orders imported from the DMS, and the appointments they fulfil
    second_car = VehicleFactory(customer=customer)
    morning = book(customer, at(DAY, 9), vehicle=vehicle, status=Appointment.Status.NO_SHOW)
    afternoon = book(customer, at(DAY, 14), vehicle=vehicle)  # the same car twice that day
    no_car = book(customer, at(DAY, 11))
    neighbour = CustomerFactory(dealership=customer.dealership)
    neighbours_car = VehicleFactory(customer=neighbour)
    neighbours = book(neighbour, at(DAY, 10), vehicle=neighbours_car, status=Appointment.Status.CONFIRMED)
    tomorrows = book(neighbour, at(DAY + datetime.timedelta(days=1), 10), vehicle=neighbours_car)
    unlinked_lone = book(CustomerFactory(dealership=customer.dealership), at(DAY, 10))  # never came
    ro_morning = dms_order(vehicle, "RO-1", at(DAY, 9, 40))
    ro_afternoon = dms_order(vehicle, "RO-2", at(DAY, 14, 5))
    ro_second_car = dms_order(second_car, "RO-3", at(DAY, 11, 10))
    ro_neighbour = dms_order(neighbours_car, "RO-4", at(DAY, 10, 20))

    # When: two UPDATEs for the day
    with django_assert_num_queries(2):
        linked = appointments_link_repair_orders(day=DAY)

    # Then: the k-th slot of a car takes its k-th order; the appointment for no car the other car's order
    assert linked == 4
    assert {a.pk: (a.repair_order_id, a.status, a.arrived_at) for a in Appointment.objects.all()} == {
        morning.pk: (ro_morning.pk, "arrived", at(DAY, 9, 40)),
        afternoon.pk: (ro_afternoon.pk, "arrived", at(DAY, 14, 5)),
        no_car.pk: (ro_second_car.pk, "arrived", at(DAY, 11, 10)),
        neighbours.pk: (ro_neighbour.pk, "arrived", at(DAY, 10, 20)),
        tomorrows.pk: (None, "booked", None),
        unlinked_lone.pk: (None, "booked", None),
    }
    assert appointments_link_repair_orders(day=DAY) == 0  # a rerun finds nothing


def test_bulk_linking_covers_the_days_before_when_asked(customer, vehicle):
    yesterday = DAY - datetime.timedelta(days=1)
    appointment = book(customer, at(yesterday, 9), vehicle=vehicle)
    order = dms_order(vehicle, "RO-1", at(yesterday, 9, 30))
    assert appointments_link_repair_orders(day=DAY) == 0
    assert appointments_link_repair_orders(day=DAY, days=2) == 1
    assert Appointment.objects.get(pk=appointment.pk).repair_order_id == order.pk


def test_more_appointments_than_orders_links_the_earliest(customer, vehicle):
    first = book(customer, at(DAY, 9), vehicle=vehicle)
    second = book(customer, at(DAY, 9), vehicle=vehicle)  # a double booking, same minute
    order = dms_order(vehicle, "RO-1", at(DAY, 9, 10))
    assert appointments_link_repair_orders(day=DAY) == 1
    assert Appointment.objects.get(pk=first.pk).repair_order_id == order.pk
    assert Appointment.objects.get(pk=second.pk).repair_order_id is None
