"""Per-integration API tokens (crm.ApiToken, crm.api_auth): scope, read-only,
expiry, revocation, last use, throttling, the admin's issue page."""

import datetime
import hashlib

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from crm.api_auth import ApiAnonRateThrottle
from crm.models import ApiToken, User
from crm.services import api_token_issue, api_token_revoke
from customers.models import Customer
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory

CUSTOMERS = "/api/v1/customers/"
NEW_CUSTOMER = {"name": "韩梅梅", "phone": "13900001111", "gender": "female"}


ADDRESSES = ("127.0.0.1", "10.0.0.9")


def _clear_address_throttles():
    # Throttle counts live in the cache (locmem in tests, Redis when REDIS_URL
    # is set). A token's count is keyed by its random prefix, so a new token
    # starts from none; the addresses' counts are cleared key by key (never
    # cache.clear(): Redis may be shared).
    fmt = ApiAnonRateThrottle.cache_format
    cache.delete_many([fmt % {"scope": ApiAnonRateThrottle.scope, "ident": ip} for ip in ADDRESSES])


@pytest.fixture(autouse=True)
def _fresh_throttles():
    _clear_address_throttles()
    yield
    _clear_address_throttles()


@pytest.fixture
def store_admin(dealership):
    return UserFactory(username="store_admin", role=User.Role.ADMIN, dealership=dealership, is_staff=True)


@pytest.fixture
def read_token(dealership, group_admin):
    return api_token_issue(name="DMS sync", dealership=dealership, can_write=False, by=group_admin)


@pytest.fixture
def write_token(dealership, group_admin):
    return api_token_issue(name="DMS orders", dealership=dealership, can_write=True, by=group_admin)


def call(client, method, url, key=None, data=None, **extra):
    if key is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    kwargs = {"content_type": "application/json"} if data is not None else {}
    return getattr(client, method)(url, data, HTTP_ACCEPT_LANGUAGE="en", **kwargs, **extra)


# --- issue and the service account -----------------------------------------------


def test_issue_stores_only_the_hash_and_creates_a_store_manager_account(dealership, store_admin):
    token, key = api_token_issue(name="DMS sync", dealership=dealership, can_write=False, by=store_admin)
    token.refresh_from_db()
    assert len(key) == 40 and key.isalnum()
    assert token.prefix == key[:8]
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {getattr(token, f.attname) for f in ApiToken._meta.concrete_fields}
    account = token.user
    assert account.username == f"api-{key[:8]}"
    assert account.role == User.Role.MANAGER and account.dealership == dealership
    assert not account.has_usable_password() and not account.is_staff and not account.is_superuser
    assert token.created_by == store_admin and not token.can_write and token.expires_at is None


def test_a_group_wide_token_acts_as_a_group_level_admin(group_admin):
    token, _key = api_token_issue(name="Carmaker portal", dealership=None, can_write=False, by=group_admin)
    assert token.user.role == User.Role.ADMIN and token.user.dealership is None and token.user.is_group_level


def test_only_administrators_of_the_store_issue_its_tokens(dealership, other_dealership, manager, store_admin):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        api_token_issue(name="x", dealership=dealership, can_write=False, by=manager)
    with pytest.raises(PermissionDenied):
        api_token_issue(name="x", dealership=other_dealership, can_write=False, by=store_admin)
    with pytest.raises(PermissionDenied):
        api_token_issue(name="x", dealership=None, can_write=False, by=store_admin)
    past = timezone.now() - datetime.timedelta(hours=1)
    with pytest.raises(ValidationError) as error:
        api_token_issue(name=" ", dealership=dealership, can_write=False, by=store_admin, expires_at=past)
    assert set(error.value.message_dict) == {"name", "expires_at"}
    assert not ApiToken.objects.exists()


# --- scope -------------------------------------------------------------------------


def test_a_token_reads_its_stores_customers_and_another_stores_are_404(
    client, read_token, dealership, other_dealership
):
    _token, key = read_token
    own = CustomerFactory(dealership=dealership)
    foreign = CustomerFactory(dealership=other_dealership)
    response = call(client, "get", CUSTOMERS, key)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [own.pk]
    assert call(client, "get", f"{CUSTOMERS}{own.pk}/", key).json()["name"] == own.name
    assert call(client, "get", f"{CUSTOMERS}{foreign.pk}/", key).status_code == 404


def test_a_group_wide_token_sees_every_store(client, group_admin, dealership, other_dealership):
    _token, key = api_token_issue(name="Carmaker portal", dealership=None, can_write=False, by=group_admin)
    rows = {CustomerFactory(dealership=dealership).pk, CustomerFactory(dealership=other_dealership).pk}
    assert {row["id"] for row in call(client, "get", CUSTOMERS, key).json()["results"]} == rows


# --- read-only and read-write -------------------------------------------------------


def test_a_read_only_token_cannot_write(client, read_token, dealership):
    _token, key = read_token
    customer = CustomerFactory(dealership=dealership, name="李雷")
    response = call(client, "post", CUSTOMERS, key, NEW_CUSTOMER)
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert call(client, "patch", f"{CUSTOMERS}{customer.pk}/", key, {"name": "王五"}).status_code == 403
    assert call(client, "delete", f"{CUSTOMERS}{customer.pk}/", key).status_code == 403
    assert Customer.objects.get().name == "李雷"


def test_a_read_write_token_writes_in_its_own_store(client, write_token, dealership):
    _token, key = write_token
    response = call(client, "post", CUSTOMERS, key, NEW_CUSTOMER)
    assert response.status_code == 201, response.content
    created = Customer.objects.get()
    assert created.dealership == dealership and created.name == "韩梅梅"


def test_the_write_permission_does_not_touch_session_users(client, manager):
    client.force_login(manager)
    assert call(client, "post", CUSTOMERS, data=NEW_CUSTOMER).status_code == 201


def _api_list_urls(resolver=None, namespace=""):
    """Every /api/v1/ route that takes no argument (the lists and list actions)."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _api_list_urls(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name and hasattr(pattern.callback, "cls"):
            try:
                url = reverse(namespace + pattern.name)
            except NoReverseMatch:
                continue
            if url.startswith("/api/v1/"):
                yield url


def test_a_read_only_token_cannot_write_on_any_api_route(client, read_token):
    """Whatever permission_classes a view lists, the read-only rule holds."""
    _token, key = read_token
    urls = sorted(set(_api_list_urls()))
    assert CUSTOMERS in urls
    answers = {url: call(client, "post", url, key, {}).status_code for url in urls}
    assert {url: code for url, code in answers.items() if code != 403} == {}


# --- refused tokens -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, reason",
    [
        ("Bearer 0123456789abcdefghij0123456789abcdefghij", "Unknown API token."),
        ("Bearer", "Invalid Authorization header"),
        ("Bearer two words", "Invalid Authorization header"),
    ],
)
def test_an_unknown_or_malformed_key_is_a_401(client, read_token, header, reason):
    response = client.get(CUSTOMERS, HTTP_AUTHORIZATION=header, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["detail"].startswith(reason)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_a_401(client, read_token):
    token, key = read_token
    assert call(client, "get", CUSTOMERS, key).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = call(client, "get", CUSTOMERS, key)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This API token expired on")


def test_a_revoked_token_is_a_401_and_its_account_is_disabled(client, read_token, store_admin):
    token, key = read_token
    assert call(client, "get", CUSTOMERS, key).status_code == 200
    api_token_revoke(token=token, by=store_admin)
    response = call(client, "get", CUSTOMERS, key)
    assert response.status_code == 401
    assert response.json()["detail"] == "This API token has been revoked."
    token.refresh_from_db()
    assert token.revoked_by == store_admin and token.revoked_at is not None
    assert not User.objects.get(pk=token.user_id).is_active


def test_anonymous_api_requests_are_refused(client, read_token):
    assert client.get(CUSTOMERS).status_code == 403


# --- last use ----------------------------------------------------------------------


def test_last_used_at_moves_at_most_once_a_minute(client, read_token):
    token, key = read_token
    assert token.last_used_at is None
    before = timezone.now()
    call(client, "get", CUSTOMERS, key)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and first >= before
    call(client, "get", CUSTOMERS, key)
    token.refresh_from_db()
    assert token.last_used_at == first
    two_minutes_ago = timezone.now() - datetime.timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=two_minutes_ago)
    call(client, "get", CUSTOMERS, key)
    token.refresh_from_db()
    assert token.last_used_at > first


def test_last_use_is_written_by_one_update_without_saving_the_row(client, read_token):
    _token, key = read_token
    with CaptureQueriesContext(connection) as first:
        call(client, "get", CUSTOMERS, key)
    with CaptureQueriesContext(connection) as second:
        call(client, "get", CUSTOMERS, key)
    writes = [q["sql"] for q in first.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(writes) == 1
    assert '"last_used_at"' in writes[0] and '"name"' not in writes[0] and '"key_hash"' not in writes[0]
    assert not [q for q in second.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(first.captured_queries) == len(second.captured_queries) + 1


# --- query count -----------------------------------------------------------------------


def test_an_authenticated_request_costs_a_fixed_number_of_queries(client, read_token, dealership):
    _token, key = read_token
    call(client, "get", CUSTOMERS, key)  # last_used_at written: the next minute's requests only read
    counts = []
    for size in (2, 20):
        CustomerFactory.create_batch(size, dealership=dealership)
        with CaptureQueriesContext(connection) as queries:
            assert call(client, "get", CUSTOMERS, key).status_code == 200
        counts.append(len(queries.captured_queries))
        token_reads = [q for q in queries.captured_queries if "crm_apitoken" in q["sql"]]
        # One query finds the token with its account and the account's store.
        assert len(token_reads) == 1 and "crm_user" in token_reads[0]["sql"]
    assert counts[0] == counts[1]
    assert counts[0] <= 3  # measured: 2 (the token with its account, the page of customers)


# --- throttling -----------------------------------------------------------------------


@override_settings(CRM_API_TOKEN_RATE="3/min")
def test_a_token_is_throttled_after_its_rate_and_others_are_not(client, read_token, write_token):
    _token, key = read_token
    assert [call(client, "get", CUSTOMERS, key).status_code for _i in range(3)] == [200, 200, 200]
    throttled = call(client, "get", CUSTOMERS, key)
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    _other, other_key = write_token
    assert call(client, "get", CUSTOMERS, other_key).status_code == 200


@override_settings(CRM_API_TOKEN_RATE="1/min")
def test_session_users_are_not_throttled_per_token(client, manager):
    client.force_login(manager)
    assert [call(client, "get", CUSTOMERS).status_code for _i in range(3)] == [200, 200, 200]


@override_settings(CRM_API_ANON_RATE="2/min")
def test_guessing_keys_is_throttled_per_address(client, read_token):
    bad = "Bearer " + "x" * 40
    codes = [client.get(CUSTOMERS, HTTP_AUTHORIZATION=bad).status_code for _i in range(3)]
    assert codes == [401, 401, 429]
    # Another address is not held back by this one's guesses.
    assert client.get(CUSTOMERS, HTTP_AUTHORIZATION=bad, REMOTE_ADDR="10.0.0.9").status_code == 401


# --- admin ----------------------------------------------------------------------------


def test_the_admin_issue_page_shows_the_key_once(client, store_admin, dealership):
    client.force_login(store_admin)
    add_url = reverse("admin:crm_apitoken_add")
    assert client.get(add_url).status_code == 200
    response = client.post(
        add_url,
        {"name": "DMS sync", "dealership": dealership.pk, "can_write": "on", "expires_at": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    key = response.context["key"]
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.can_write and token.dealership == dealership and token.created_by == store_admin
    page = response.content.decode()
    assert key in page and "will not be shown again" in page
    assert "no-store" in response["Cache-Control"]
    # Never again, and the hash never.
    for url in (reverse("admin:crm_apitoken_changelist"), reverse("admin:crm_apitoken_change", args=[token.pk])):
        later = client.get(url).content.decode()
        assert token.prefix in later
        assert key not in later and token.key_hash not in later
    assert call(client, "get", CUSTOMERS, key).status_code == 200


def test_a_store_admin_issues_tokens_of_the_own_store_only(client, store_admin, other_dealership):
    client.force_login(store_admin)
    response = client.post(reverse("admin:crm_apitoken_add"), {"name": "DMS sync", "dealership": other_dealership.pk})
    assert response.status_code == 400
    assert "dealership" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_the_admin_refuses_an_expiry_in_the_past(client, group_admin):
    client.force_login(group_admin)
    response = client.post(
        reverse("admin:crm_apitoken_add"),
        {"name": "DMS sync", "expires_at": "2020-01-01T10:00"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.context["form"].errors["expires_at"] == ["The expiry is in the past: give a later time, or none."]


def test_managers_see_the_tokens_but_cannot_issue_or_revoke(client, manager, read_token):
    client.force_login(manager)
    assert client.get(reverse("admin:crm_apitoken_changelist")).status_code == 200
    assert client.get(reverse("admin:crm_apitoken_add")).status_code == 403


def test_the_admin_revokes_tokens_with_the_action(client, store_admin, read_token):
    token, key = read_token
    client.force_login(store_admin)
    response = client.post(
        reverse("admin:crm_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == store_admin
    assert call(client, "get", CUSTOMERS, key).status_code == 401


def test_the_token_account_cannot_be_edited_in_the_user_admin(client, group_admin, read_token):
    token, _key = read_token
    client.force_login(group_admin)
    url = reverse("admin:crm_user_change", args=[token.user_id])
    response = client.post(url, {"username": token.user.username, "role": "admin"})
    assert response.status_code == 403
    assert User.objects.get(pk=token.user_id).role == User.Role.MANAGER
