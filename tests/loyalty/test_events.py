"""Club events: capacity under a lock, one registration per customer, the
managers' and advisors' pages (scoped: another store's event is a 404), the
SMS invitation (the signal carries the customers chosen) and the customer's
signed registration link."""

import datetime
import re
import threading

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loyalty.events_selectors import surname
from loyalty.events_services import (
    event_cancel_registration,
    event_create,
    event_invite,
    event_invite_ids,
    event_invite_link,
    event_invite_path,
    event_invite_token,
    event_register,
)
from loyalty.models import ClubEvent, EventRegistration, MembershipCard
from loyalty.services import card_join, card_transition
from loyalty.signals import club_event_invitations
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

ADVISOR = EventRegistration.Source.ADVISOR
SMS_LINK = EventRegistration.Source.SMS_LINK
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def in_days(days: int, hour: int = 14) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, hour))


@pytest.fixture
def event(dealership, manager):
    return event_create(dealership=dealership, title="冬季用车讲座", starts_at=in_days(7), capacity=2, by=manager)


@pytest.fixture
def other_event(other_dealership, other_manager):
    return event_create(
        dealership=other_dealership, title="闵行自驾游", starts_at=in_days(7), capacity=5, by=other_manager
    )


def register(event, customer, source=ADVISOR, by=None):
    return event_register(event=event, customer=customer, by=by, source=source)


def member(store, level="ordinary", **kw):
    customer = CustomerFactory(dealership=store, **kw)
    card_join(customer=customer, level=level, route="fee", by=None, day=timezone.localdate())
    return customer


# --- Services: creating, capacity, once per customer ----------------------------------------------
def test_a_manager_creates_an_event_with_a_future_start_and_places(dealership, manager):
    event = event_create(dealership=dealership, title=" 新车交付仪式 ", starts_at=in_days(3), capacity=30, by=manager)
    assert (event.title, event.capacity, event.dealership_id) == ("新车交付仪式", 30, dealership.pk)


@pytest.mark.parametrize(
    ("title", "starts", "capacity", "field"),
    [("", 3, 10, "title"), ("讲座", -1, 10, "starts_at"), ("讲座", 3, 0, "capacity")],
)
def test_an_event_needs_a_title_a_future_start_and_a_place(dealership, manager, title, starts, capacity, field):
    with pytest.raises(ValidationError) as caught:
        event_create(dealership=dealership, title=title, starts_at=in_days(starts), capacity=capacity, by=manager)
    assert field in caught.value.message_dict
    assert not ClubEvent.objects.exists()


def test_advisors_and_other_stores_managers_do_not_create_events(dealership, advisor, other_manager):
    for user in (advisor, other_manager):
        with pytest.raises(ValidationError) as caught:
            event_create(dealership=dealership, title="讲座", starts_at=in_days(3), capacity=5, by=user)
        assert caught.value.code == "manager_only"


def test_the_capacity_plus_first_registration_is_refused_and_a_cancel_frees_a_place(event, dealership):
    first, second, third = (CustomerFactory(dealership=dealership) for _ in range(3))
    one = register(event, first)
    register(event, second, source=SMS_LINK)
    with pytest.raises(ValidationError) as caught:
        register(event, third)
    assert caught.value.code == "full"
    assert "2" in caught.value.messages[0]
    assert EventRegistration.objects.filter(event=event).count() == 2

    event_cancel_registration(registration=one, by=None)
    made = register(event, third)
    assert made.status == "registered"
    assert sorted(EventRegistration.objects.filter(event=event).values_list("customer_id", "status")) == sorted(
        [(first.pk, "cancelled"), (second.pk, "registered"), (third.pk, "registered")]
    )


def test_an_attended_registration_keeps_its_place(event, dealership):
    first, second, third = (CustomerFactory(dealership=dealership) for _ in range(3))
    register(event, first)
    EventRegistration.objects.filter(event=event, customer=first).update(status="attended", attended_at=timezone.now())
    register(event, second)
    with pytest.raises(ValidationError) as caught:
        register(event, third)
    assert caught.value.code == "full"


def test_a_customer_registers_once_and_a_cancelled_registration_comes_back_on_the_same_row(event, customer):
    made = register(event, customer)
    with pytest.raises(ValidationError) as caught:
        register(event, customer, source=SMS_LINK)
    assert caught.value.code == "already_registered"
    event_cancel_registration(registration=made, by=None)
    event_cancel_registration(registration=made, by=None)  # twice: nothing more happens
    again = register(event, customer, source=SMS_LINK)
    assert again.pk == made.pk
    assert (again.status, again.source) == ("registered", "sms_link")
    assert EventRegistration.objects.filter(event=event).count() == 1


def test_an_attended_registration_is_neither_cancelled_nor_registered_again(event, customer):
    made = register(event, customer)
    EventRegistration.objects.filter(pk=made.pk).update(status="attended", attended_at=timezone.now())
    with pytest.raises(ValidationError) as caught:
        event_cancel_registration(registration=made, by=None)
    assert caught.value.code == "transition_not_allowed"
    with pytest.raises(ValidationError) as caught:
        register(event, customer)
    assert caught.value.code == "already_attended"


def test_a_customer_of_another_store_is_refused(event, other_dealership):
    with pytest.raises(ValidationError) as caught:
        register(event, CustomerFactory(dealership=other_dealership))
    assert "customer" in caught.value.message_dict
    assert not EventRegistration.objects.exists()


def test_the_sms_link_closes_when_the_event_starts_but_the_desk_still_registers(event, customer, dealership):
    after = event.starts_at + datetime.timedelta(minutes=1)
    with pytest.raises(ValidationError) as caught:
        event_register(event=event, customer=customer, by=None, source=SMS_LINK, now=after)
    assert caught.value.code == "closed"
    walk_in = event_register(event=event, customer=customer, by=None, source=ADVISOR, now=after)
    assert walk_in.status == "registered"


# --- The events list -------------------------------------------------------------------------
def test_the_list_shows_places_taken_of_the_capacity(client, manager, event, other_event, dealership):
    register(event, CustomerFactory(dealership=dealership))
    gone = register(event, CustomerFactory(dealership=dealership))
    event_cancel_registration(registration=gone, by=None)
    client.force_login(manager)
    page = client.get(reverse("loyalty:events")).content.decode()
    row = re.search(rf'<tr class="event-row" id="event-{event.pk}">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="num">(\d+)', row) == ["1", "2"]
    assert "闵行自驾游" not in page  # another store's event
    assert 'id="event-new"' in page


def test_a_manager_creates_an_event_from_the_list(client, manager, dealership):
    client.force_login(manager)
    response = client.post(
        reverse("loyalty:events"),
        {
            "event-title": "春季保养课堂",
            "event-starts_at": in_days(10).strftime("%Y-%m-%dT%H:%M"),
            "event-capacity": "25",
        },
    )
    event = ClubEvent.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("loyalty:event", args=[event.pk])
    assert (event.dealership_id, event.capacity, event.starts_at) == (dealership.pk, 25, in_days(10))


def test_a_refused_event_keeps_what_was_typed(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("loyalty:events"),
        {
            "event-title": "夏季空调检查",
            "event-starts_at": in_days(-2).strftime("%Y-%m-%dT%H:%M"),
            "event-capacity": "0",
        },
        **EN,
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="夏季空调检查"' in page
    assert "greater than or equal to 1" in page
    assert not ClubEvent.objects.exists()
    response = client.post(
        reverse("loyalty:events"),
        {
            "event-title": "夏季空调检查",
            "event-starts_at": in_days(-2).strftime("%Y-%m-%dT%H:%M"),
            "event-capacity": "3",
        },
        **EN,
    )
    assert response.status_code == 400
    assert "An event starts in the future." in response.content.decode()


def test_a_group_admin_picks_the_store_of_a_new_event(client, group_admin, dealership, other_dealership):
    client.force_login(group_admin)
    data = {"event-title": "车友会", "event-starts_at": in_days(5).strftime("%Y-%m-%dT%H:%M"), "event-capacity": "8"}
    assert client.post(reverse("loyalty:events"), data).status_code == 400  # no store chosen
    assert client.post(reverse("loyalty:events"), {**data, "event-dealership": other_dealership.pk}).status_code == 302
    assert ClubEvent.objects.get().dealership_id == other_dealership.pk


def test_advisors_see_the_events_but_do_not_create_them(client, advisor, event):
    client.force_login(advisor)
    page = client.get(reverse("loyalty:events")).content.decode()
    assert "冬季用车讲座" in page and 'id="event-new"' not in page
    data = {"event-title": "讲座", "event-starts_at": in_days(5).strftime("%Y-%m-%dT%H:%M"), "event-capacity": "8"}
    assert client.post(reverse("loyalty:events"), data).status_code == 403
    assert ClubEvent.objects.count() == 1


# --- One event: registering by search, cancelling -----------------------------------------------------
def test_an_advisor_finds_a_customer_by_plate_and_registers_them(client, advisor, event, customer, vehicle):
    client.force_login(advisor)
    page = client.get(reverse("loyalty:event", args=[event.pk]), {"q": "沪AD12345"}).content.decode()
    assert f'id="candidate-{customer.pk}"' in page
    response = client.post(
        reverse("loyalty:event-register", args=[event.pk]), {"customer": customer.pk, "q": "沪AD12345"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?q=%E6%B2%AAAD12345")  # the search kept
    registration = EventRegistration.objects.get()
    assert (registration.customer_id, registration.source, registration.status) == (
        customer.pk,
        "advisor",
        "registered",
    )
    page = client.get(reverse("loyalty:event", args=[event.pk])).content.decode()
    assert f'id="registration-{registration.pk}"' in page
    assert '<dd id="places-taken">1 / 2</dd>' in page


def test_the_search_finds_by_mobile_and_name_only_in_the_events_store(
    client, manager, event, customer, other_dealership
):
    stranger = CustomerFactory(dealership=other_dealership, name="李四", phone="13912345679")
    client.force_login(manager)
    for q in ("13912345678", "李雷"):
        page = client.get(reverse("loyalty:event", args=[event.pk]), {"q": q}).content.decode()
        assert f'id="candidate-{customer.pk}"' in page
    page = client.get(reverse("loyalty:event", args=[event.pk]), {"q": "139123456"}).content.decode()
    assert f'id="candidate-{stranger.pk}"' not in page


def test_a_full_event_says_so_on_the_page(client, advisor, event, dealership):
    for _ in range(2):
        register(event, CustomerFactory(dealership=dealership))
    late = CustomerFactory(dealership=dealership)
    client.force_login(advisor)
    response = client.post(reverse("loyalty:event-register", args=[event.pk]), {"customer": late.pk}, follow=True, **EN)
    assert "The event is full: all 2 places are taken." in response.content.decode()
    assert not EventRegistration.objects.filter(customer=late).exists()


def test_cancelling_on_the_page_frees_the_place(client, advisor, event, customer):
    registration = register(event, customer)
    client.force_login(advisor)
    response = client.post(reverse("loyalty:event-cancel", args=[event.pk, registration.pk]))
    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.status == "cancelled"


def test_every_page_and_action_of_another_stores_event_is_a_404(
    client, manager, other_manager, event, other_event, customer, other_dealership
):
    registration = register(event, customer)
    client.force_login(other_manager)
    pk = event.pk
    assert client.get(reverse("loyalty:event", args=[pk])).status_code == 404
    assert client.post(reverse("loyalty:event-register", args=[pk]), {"customer": customer.pk}).status_code == 404
    assert client.post(reverse("loyalty:event-cancel", args=[pk, registration.pk])).status_code == 404
    assert client.post(reverse("loyalty:event-invite", args=[pk]), {"invite-audience": "all"}).status_code == 404
    registration.refresh_from_db()
    assert registration.status == "registered"
    # In one's own event: another store's customer, or another event's registration, is a 404 too.
    client.force_login(manager)
    stranger = CustomerFactory(dealership=other_dealership)
    assert client.post(reverse("loyalty:event-register", args=[pk]), {"customer": stranger.pk}).status_code == 404
    assert client.post(reverse("loyalty:event-register", args=[pk]), {"customer": "x"}).status_code == 404
    theirs = register(other_event, stranger)
    assert client.post(reverse("loyalty:event-cancel", args=[pk, theirs.pk])).status_code == 404
    assert client.get(reverse("loyalty:event", args=[other_event.pk])).status_code == 404


# --- Invitations by SMS ------------------------------------------------------------------------------
@pytest.fixture
def invitations():
    """What ``club_event_invitations`` announced (care's receiver is connected too: it must cope)."""
    sent = []

    def receiver(sender, **kwargs):
        sent.append({"sender": sender, **kwargs})

    club_event_invitations.connect(receiver, dispatch_uid="test-events-capture")
    yield sent
    club_event_invitations.disconnect(dispatch_uid="test-events-capture")


@pytest.fixture
def members(dealership, other_dealership, event):
    """Two ordinary members, a silver one, a registered member, a lapsed card, a
    customer without a card, and another store's member."""
    ordinary = [member(dealership), member(dealership)]
    silver = member(dealership, level="silver")
    registered = member(dealership)
    register(event, registered)
    lapsed = member(dealership)
    card_transition(
        card=MembershipCard.objects.get(customer=lapsed), to="lapsed", action="lapsed", by=None, reason="test"
    )
    CustomerFactory(dealership=dealership)
    member(other_dealership)
    return {"ordinary": ordinary, "silver": silver}


def test_inviting_all_members_sends_the_signal_with_the_members_not_yet_registered(
    invitations, event, manager, members
):
    invited = event_invite(event=event, audience="all", by=manager)
    expected = sorted([c.pk for c in members["ordinary"]] + [members["silver"].pk])
    assert invited == expected
    assert len(invitations) == 1
    sent = invitations[0]
    assert (sent["sender"], sent["event"], sent["customer_ids"], sent["by"]) == (ClubEvent, event, expected, manager)
    assert sent["now"] is not None


def test_inviting_a_level_sends_only_that_level(invitations, event, manager, members):
    assert event_invite(event=event, audience="silver", by=manager) == [members["silver"].pk]
    assert invitations[0]["customer_ids"] == [members["silver"].pk]
    assert event_invite(event=event, audience="gold", by=manager) == []
    assert len(invitations) == 1  # nobody to invite: nothing announced


def test_the_invite_form_says_how_many_were_invited_and_reminds_of_consent(
    client, invitations, event, manager, members
):
    client.force_login(manager)
    page = client.get(reverse("loyalty:event", args=[event.pk]), **EN).content.decode()
    assert "All active members (3)" in page and "Ordinary card (2)" in page and "Silver card (1)" in page
    response = client.post(
        reverse("loyalty:event-invite", args=[event.pk]), {"invite-audience": "ordinary"}, follow=True, **EN
    )
    assert "2 members invited. Only customers who agreed to marketing messages receive the SMS." in (
        response.content.decode()
    )
    assert invitations[0]["customer_ids"] == sorted(c.pk for c in members["ordinary"])


def test_a_bad_audience_is_a_form_error_and_advisors_cannot_invite(client, invitations, event, manager, advisor):
    client.force_login(manager)
    response = client.post(reverse("loyalty:event-invite", args=[event.pk]), {"invite-audience": "everyone"})
    assert response.status_code == 400 and invitations == []
    client.force_login(advisor)
    assert client.post(reverse("loyalty:event-invite", args=[event.pk]), {"invite-audience": "all"}).status_code == 403
    assert "invite-audience" not in client.get(reverse("loyalty:event", args=[event.pk])).content.decode()
    assert invitations == []


def test_invitations_close_when_the_event_starts(event, manager, members):
    with pytest.raises(ValidationError) as caught:
        event_invite(event=event, audience="all", by=manager, now=event.starts_at)
    assert caught.value.code == "closed"


# --- The customer's link -----------------------------------------------------------------------------
def test_the_link_is_signed_and_carries_the_event_and_the_customer(event, customer, settings):
    token = event_invite_token(event, customer)
    assert event_invite_ids(token) == (event.pk, customer.pk)
    assert event_invite_ids(event_invite_token(event.pk, customer.pk)) == (event.pk, customer.pk)
    assert event_invite_link(event, customer) == f"/loyalty/e/{token}/"
    settings.CRM_COMPLAINT_PUBLIC_BASE_URL = "https://crm.example.com/"
    assert event_invite_link(event, customer) == f"https://crm.example.com/loyalty/e/{token}/"
    # Another salt's token (a complaint status link) is not an invitation.
    assert event_invite_ids(signing.dumps([event.pk, customer.pk], salt="complaints.status")) is None


def test_the_customer_registers_from_the_link_without_logging_in(event, customer, django_assert_max_num_queries):
    browser = Client(enforce_csrf_checks=True)
    path = event_invite_path(event, customer)
    with django_assert_max_num_queries(2):
        page = browser.get(path)
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        "冬季用车讲座" in html and event.starts_at.astimezone(timezone.get_current_timezone()).strftime("%H:%M") in html
    )
    assert "李" in html and "李雷" not in html and customer.phone not in html
    assert browser.post(path).status_code == 403  # no CSRF token
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = browser.post(path, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == path
    registration = EventRegistration.objects.get()
    assert (registration.customer_id, registration.source, registration.status) == (
        customer.pk,
        "sms_link",
        "registered",
    )
    html = browser.get(path, **EN).content.decode()
    assert 'id="registered"' in html and "<form" not in html
    # A second tap changes nothing.
    assert browser.post(path, {"csrfmiddlewaretoken": token}).status_code == 302
    assert EventRegistration.objects.count() == 1


def test_a_full_event_says_so_on_the_customers_page(client, event, customer, dealership):
    for _ in range(2):
        register(event, CustomerFactory(dealership=dealership))
    path = event_invite_path(event, customer)
    html = client.get(path, **EN).content.decode()
    assert 'id="full"' in html and "<form" not in html
    response = client.post(path, **EN)
    assert response.status_code == 409
    assert "Sorry, the event is full" in response.content.decode()
    assert not EventRegistration.objects.filter(customer=customer).exists()


def test_a_started_event_closes_the_link(client, event, customer, manager):
    ClubEvent.objects.filter(pk=event.pk).update(starts_at=timezone.now() - datetime.timedelta(hours=1))
    path = event_invite_path(event, customer)
    assert 'id="closed"' in client.get(path).content.decode()
    assert client.post(path).status_code == 409
    assert not EventRegistration.objects.exists()


@pytest.mark.parametrize("mangle", ["tampered", "truncated", "garbage", "other-store", "gone"])
def test_a_bad_link_is_a_clear_404_page(client, event, customer, other_dealership, mangle):
    token = event_invite_token(event, customer)
    if mangle == "tampered":
        token = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    elif mangle == "truncated":
        token = token[:10]
    elif mangle == "garbage":
        token = "not-a-token"
    elif mangle == "other-store":  # a genuine signature for a customer who is not the event's store's
        token = event_invite_token(event, CustomerFactory(dealership=other_dealership))
    else:
        ClubEvent.objects.filter(pk=event.pk).delete()
    for response in (client.get(f"/loyalty/e/{token}/", **EN), client.post(f"/loyalty/e/{token}/", **EN)):
        assert response.status_code == 404
        assert "This invitation link is not valid or has expired." in response.content.decode()
    assert not EventRegistration.objects.exists()


def test_an_expired_link_is_a_404(client, event, customer, monkeypatch):
    # Signed 181 days ago: the token carries its signing time.
    now = timezone.now().timestamp()

    def signed_days_ago(days: int) -> str:
        with monkeypatch.context() as patch:
            stamp = signing.b62_encode(int(now - days * 24 * 3600))
            patch.setattr(signing.TimestampSigner, "timestamp", lambda self: stamp)
            return event_invite_token(event, customer)

    old, recent = signed_days_ago(181), signed_days_ago(179)
    assert client.get(f"/loyalty/e/{old}/").status_code == 404
    assert client.get(f"/loyalty/e/{recent}/").status_code == 200


def test_the_greeting_uses_the_surname_only():
    assert [surname(n) for n in ("李雷", "欧阳娜娜", "司马光", "Anna Smith", " 王小明 ", "")] == [
        "李",
        "欧阳",
        "司马",
        "Smith",
        "王",
        "",
    ]


# --- Queries at two sizes -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [3, 30])
def test_the_events_list_costs_the_same_queries_at_any_size(
    client, manager, dealership, django_assert_max_num_queries, size
):
    people = [CustomerFactory(dealership=dealership) for _ in range(3)]
    for i in range(size):
        event = event_create(dealership=dealership, title=f"活动{i}", starts_at=in_days(i + 1), capacity=5, by=manager)
        for person in people:
            register(event, person)
    client.force_login(manager)
    # session, user with their store; the paginator's count, the page with
    # places taken; the layout's calendar check.
    with django_assert_max_num_queries(5):
        response = client.get(reverse("loyalty:events"))
    assert response.content.decode().count('class="event-row"') == size


@pytest.mark.parametrize("size", [3, 30])
def test_the_event_page_costs_the_same_queries_at_any_size(
    client, manager, dealership, django_assert_max_num_queries, size
):
    event = event_create(dealership=dealership, title="大型车友会", starts_at=in_days(3), capacity=100, by=manager)
    for i in range(size):
        person = member(dealership, advisor=manager)
        VehicleFactory(customer=person, plate_number=f"沪B{i:05d}")
        register(event, person)
    client.force_login(manager)
    # session, user with their store; the event with places taken, its
    # registrations, the invitation's counts; the search's customers and their
    # cars; the layout's calendar check.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("loyalty:event", args=[event.pk]), {"q": "沪B"})
    page = response.content.decode()
    assert page.count('class="registration status-registered"') == size
    assert page.count('class="candidate"') == min(size, 10)


# --- Two registrations for the last place at once (PostgreSQL) ------------------------------------------
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite has one writer at a time and ignores SELECT … FOR UPDATE",
)
def test_two_registrations_for_the_last_place_at_once_give_exactly_one_success(dealership, manager):
    # Given an event of 2 places with 1 taken.
    event = event_create(dealership=dealership, title="限量试驾", starts_at=in_days(3), capacity=2, by=manager)
    register(event, CustomerFactory(dealership=dealership))
    people = [CustomerFactory(dealership=dealership) for _ in range(2)]
    start = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def phone(n: int) -> None:
        try:
            start.wait()
            outcomes[n] = register(event, people[n], source=SMS_LINK)
        except BaseException as error:  # a refusal, or anything else: the asserts below tell
            outcomes[n] = error
        finally:
            connection.close()

    # When two customers tap "register" at the same moment
    threads = [threading.Thread(target=phone, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then one is registered and the other hears the event is full
    made = [o for o in outcomes if isinstance(o, EventRegistration)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert (len(made), len(refused)) == (1, 1), outcomes
    assert refused[0].code == "full"
    assert EventRegistration.objects.filter(event=event, status="registered").count() == 2
