"""The public complaint form of a store, its rate limits, honeypot and CSRF;
the signed status page; the store's printable QR code."""

import re
import uuid

import pytest
import segno
from django.core.cache import cache
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from complaints import ratelimit
from complaints.links import status_path, status_token
from complaints.models import Complaint, ComplaintCategory
from complaints.services import complaint_open, complaint_transition
from customers.models import Customer
from tests.crm.factories import DealershipFactory, ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

S = Complaint.Status
FORM = "/c/f/pudong/"
GOOD = {
    "name": "李雷",
    "mobile": "139 1234 5678",
    "plate": "沪ad 12345",
    "description": "保养后第二天机油灯亮了，打电话没人回复",
    "demand": "免费检查并给个说法",
}


def zh(message: str) -> str:
    """A message as the zh-hans page shows it (the source text until it is translated)."""
    with translation.override("zh-hans"):
        return gettext(message)


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test counts in an empty cache: a key prefix of its own. Not
    cache.clear(): on Redis (CI) that would wipe the other tests' keys and the
    broker's queues in the same database."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"t-{uuid.uuid4().hex}"}}
    settings.CRM_COMPLAINT_PER_IP = 5
    settings.CRM_COMPLAINT_PER_IP_SECONDS = 3600
    settings.CRM_COMPLAINT_PER_MOBILE = 3
    settings.CRM_COMPLAINT_PER_MOBILE_SECONDS = 86400
    settings.CRM_COMPLAINT_PROXY_HOPS = 0
    settings.CRM_COMPLAINT_PUBLIC_BASE_URL = ""
    if "locmem" in settings.CACHES["default"]["BACKEND"]:
        cache.clear()


def post(client, data=None, *, ip="10.1.1.1", url=FORM, **fields):
    return client.post(url, {**GOOD, **(data or {}), **fields}, REMOTE_ADDR=ip)


def first_number() -> str:
    # The store's first case of this year.
    return f"TS-{timezone.localdate().year}-000001"


# --- The form ------------------------------------------------------------------
def test_the_form_renders_with_a_csrf_token_and_no_staff_layout(client, dealership, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get(FORM)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in html
    assert "浦东4S店" in html
    for field in ("name", "mobile", "plate", "description", "demand", "website"):
        assert f'name="{field}"' in html
    # The honeypot is in a block hidden by CSS, out of the tab order.
    assert re.search(r'<div class="hp" aria-hidden="true">.*name="website".*tabindex="-1"', html, re.S)
    assert "topbar" not in html and "mainnav" not in html
    assert 'lang="zh-hans"' in html


def test_an_unknown_or_closed_store_is_a_404(client, dealership):
    DealershipFactory(code="closed", is_active=False)
    for url in ("/c/f/nowhere/", "/c/f/closed/"):
        response = client.get(url)
        assert response.status_code == 404
        assert zh("There is no store with this address. Please check the link or the QR code.") in (
            response.content.decode()
        )
        assert post(client, url=url).status_code == 404
    assert not Complaint.objects.exists()
    assert not Customer.objects.exists()


def test_a_good_post_opens_a_case_for_the_stores_customer_with_that_mobile(client, customer, vehicle):
    other_car = VehicleFactory(customer=customer, plate_number="沪B54321")
    response = post(client)
    assert response.status_code == 200
    case = Complaint.objects.get()
    assert case.customer == customer
    assert case.vehicle == vehicle != other_car
    assert case.channel == Complaint.Channel.ONLINE_FORM
    assert case.category == ComplaintCategory.objects.get(code="other")
    assert case.severity == Complaint.Severity.NORMAL
    assert case.status == S.RECEIVED
    assert case.received_by is None
    assert case.description == "保养后第二天机油灯亮了，打电话没人回复"
    assert case.demand == "免费检查并给个说法"
    assert case.number == first_number()
    html = response.content.decode()
    assert case.number in html
    assert f'href="{status_path(case)}"' in html
    assert f"http://testserver{status_path(case)}" in html
    assert Customer.objects.count() == 1


def test_the_same_mobile_at_another_store_is_another_customer(client, dealership, other_dealership):
    elsewhere = CustomerFactory(dealership=other_dealership, name="李雷", phone="13912345678")
    VehicleFactory(customer=elsewhere, plate_number="沪AD12345")
    assert post(client).status_code == 200
    case = Complaint.objects.get()
    assert case.dealership == dealership
    new = case.customer
    assert new != elsewhere
    assert (new.dealership, new.name, new.phone) == (dealership, "李雷", "13912345678")
    # The plate is the other store's car: not linked, kept in the text for the handler.
    assert case.vehicle is None
    assert case.description.endswith("沪AD12345")
    assert not elsewhere.complaints.exists()


def test_an_unknown_mobile_makes_a_marked_prospect(client, dealership):
    assert post(client, name=" 韩梅梅 ", mobile="+86 137-0000-1111", plate="").status_code == 200
    customer = Customer.objects.get()
    assert (customer.dealership, customer.name, customer.phone) == (dealership, "韩梅梅", "13700001111")
    assert customer.source == Customer.Source.FIRST_VISIT
    assert customer.advisor is None
    assert customer.marketing_consent is False
    with translation.override("zh-hans"):
        marker = gettext("Prospect from the online complaint form on %(date)s: not yet verified by the store.") % {
            "date": timezone.localdate().isoformat()
        }
    assert customer.notes == marker
    case = Complaint.objects.get()
    assert case.customer == customer
    # The name is the record's own and no plate was given: nothing is added.
    assert case.description == GOOD["description"]


def test_a_name_other_than_the_records_is_kept_for_the_handler(client, customer):
    post(client, name="李雷的太太", plate="")
    case = Complaint.objects.get()
    assert case.customer == customer
    assert case.description.startswith(GOOD["description"] + "\n\n")
    assert case.description.endswith("李雷的太太")
    customer.refresh_from_db()
    assert customer.name == "李雷"


def test_the_honeypot_thanks_and_keeps_nothing(client, dealership):
    response = post(client, website="http://spam.example")
    assert response.status_code == 200
    assert zh("Thank you: we have received your complaint.") in response.content.decode()
    assert not Complaint.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"mobile": "12345678901"}, "mobile", "Enter a mainland mobile number: 11 digits starting with 13–19."),
        ({"mobile": "021-61234567"}, "mobile", "Enter a mainland mobile number: 11 digits starting with 13–19."),
        ({"description": "   "}, "description", "Tell us what happened."),
        ({"demand": ""}, "demand", "Tell us what you would like us to do."),
        ({"name": ""}, "name", "Tell us your name."),
    ],
)
def test_bad_input_is_explained_and_keeps_what_was_typed(client, customer, fields, field, message):
    response = post(client, **fields)
    html = response.content.decode()
    assert response.status_code == 200
    assert zh(message) in html
    assert f'<ul class="errorlist" id="id_{field}_error">' in html
    assert f'aria-describedby="id_{field}_error"' in html
    assert zh("Please check the fields marked below; everything you typed is still here.") in html
    for name, value in {**GOOD, **fields}.items():
        if value.strip():
            assert value in html, name
    assert not Complaint.objects.exists()


def test_a_too_long_description_is_refused_with_the_text_kept(client, customer):
    text = "机油灯" * 667  # 2,001 characters: one over the limit
    response = post(client, description=text)
    html = response.content.decode()
    assert response.status_code == 200
    assert text in html
    assert (
        zh("Please keep this to %(limit_value)d characters (it has %(show_value)d).")
        % {
            "limit_value": 2000,
            "show_value": 2001,
        }
        in html
    )
    # The page sets no maxlength that would make a browser cut a long paste.
    assert not re.search(r"<textarea[^>]*maxlength", html)
    assert not Complaint.objects.exists()


# --- Rate limits -----------------------------------------------------------------
def test_five_complaints_an_hour_from_one_address_then_a_429(client, dealership):
    mobiles = [f"1380000000{i}" for i in range(6)]
    for mobile in mobiles[:5]:
        assert post(client, mobile=mobile, ip="10.9.9.9").status_code == 200
    response = post(client, mobile=mobiles[5], ip="10.9.9.9", description="第六次投诉的内容")
    html = response.content.decode()
    assert response.status_code == 429
    assert "第六次投诉的内容" in html and mobiles[5] in html
    assert "021-61234567" in html  # the store's phone, to call instead
    assert Complaint.objects.count() == 5
    # Another address is not held back.
    assert post(client, mobile=mobiles[5], ip="10.9.9.10").status_code == 200
    assert Complaint.objects.count() == 6


def test_three_complaints_a_day_for_one_mobile_then_a_429(client, customer):
    for i in range(3):
        assert post(client, ip=f"10.0.0.{i + 1}").status_code == 200
    response = post(client, ip="10.0.0.99", mobile="13912345678", demand="第四次的诉求")
    assert response.status_code == 429
    assert "第四次的诉求" in response.content.decode()
    assert Complaint.objects.count() == 3
    assert post(client, ip="10.0.0.99", mobile="13700001111").status_code == 200
    assert Complaint.objects.count() == 4


def test_invalid_posts_and_the_honeypot_do_not_use_up_the_limit(client, dealership):
    for _ in range(6):
        post(client, mobile="123")
        post(client, website="x")
    assert post(client).status_code == 200
    assert Complaint.objects.count() == 1


def test_a_window_allows_its_count_then_the_next_window_starts_afresh():
    limit = ratelimit.Limit("test", 2, 60)
    # Window 100 runs from 6000 s to 6059 s.
    assert ratelimit.hit(limit, "a", now=6000) is True
    assert ratelimit.hit(limit, "a", now=6030) is True
    assert ratelimit.hit(limit, "a", now=6059) is False
    assert ratelimit.hit(limit, "b", now=6059) is True
    assert ratelimit.hit(limit, "a", now=6060) is True
    assert ratelimit.hit(limit, "a", now=6061) is True
    assert ratelimit.hit(limit, "a", now=6062) is False


def test_the_cache_holds_no_mobile_in_clear():
    key = ratelimit.Limit("complaint-mobile", 3, 86400).key("13912345678", now=0)
    assert "13912345678" not in key
    assert key.startswith("crm:ratelimit:complaint-mobile:") and key.endswith(":0")


def test_an_unreachable_cache_lets_complaints_through(settings, client, dealership):
    # Port 1: nothing listens, the connection is refused at once.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    assert ratelimit.hit(ratelimit.Limit("test", 1, 60), "a") is True
    assert post(client).status_code == 200
    assert Complaint.objects.count() == 1


def test_the_client_address_is_remote_addr_unless_proxies_are_trusted(settings, rf):
    request = rf.get("/", REMOTE_ADDR="172.16.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert ratelimit.client_ip(request) == "172.16.0.2"
    settings.CRM_COMPLAINT_PROXY_HOPS = 1
    assert ratelimit.client_ip(request) == "203.0.113.7"
    settings.CRM_COMPLAINT_PROXY_HOPS = 2
    assert ratelimit.client_ip(request) == "6.6.6.6"
    settings.CRM_COMPLAINT_PROXY_HOPS = 3
    assert ratelimit.client_ip(request) == "172.16.0.2"


# --- CSRF ----------------------------------------------------------------------
def test_a_post_without_the_csrf_token_is_refused(dealership):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(FORM, GOOD).status_code == 403
    assert not Complaint.objects.exists()
    page = browser.get(FORM)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert browser.post(FORM, {**GOOD, "csrfmiddlewaretoken": token}).status_code == 200
    assert Complaint.objects.count() == 1


# --- The status page -------------------------------------------------------------
def open_case(customer, **extra):
    values = {"channel": "online_form", "severity": "normal", "description": "空调不制冷", "demand": "尽快修好"}
    other = ComplaintCategory.objects.get(code="other")
    return complaint_open(customer=customer, category=other, by=None, **{**values, **extra})


def steps_of(html: str) -> list[tuple[str, str]]:
    """(label, class) of each step in the page's list."""
    items = re.findall(r'<li class="([^"]*)"[^>]*>\s*(.*?)(?:<span|\s*</li>)', html, re.S)
    return [(label.strip(), css.strip()) for css, label in items]


def labels(*statuses) -> list[str]:
    with translation.override("zh-hans"):
        return [str(S(s).label) for s in statuses]


def test_the_status_page_shows_the_steps_reached_and_nothing_personal(
    client, customer, vehicle, manager, django_assert_max_num_queries
):
    case = open_case(customer, vehicle=vehicle)
    complaint_transition(complaint=case, to=S.RECORDED, by=manager)
    complaint_transition(complaint=case, to=S.INVESTIGATED, by=manager, findings="压缩机故障")
    with django_assert_max_num_queries(1):
        response = client.get(status_path(case))
    html = response.content.decode()
    assert response.status_code == 200
    assert case.number in html
    assert timezone.localdate(case.received_at).isoformat() in html
    steps = steps_of(html)
    all_steps = labels(*[s for s in S.values if s != S.REOPENED])
    assert [label for label, _css in steps] == all_steps
    assert [css for _label, css in steps] == ["reached", "reached", "reached current"] + [""] * 6
    for secret in ("李雷", "13912345678", "沪AD12345", "空调不制冷", "尽快修好", "压缩机故障", "浦东4S店"):
        assert secret not in html


def test_the_status_page_costs_one_query_however_many_cases(client, customer, django_assert_max_num_queries):
    first = open_case(customer)
    with django_assert_max_num_queries(1):
        assert client.get(status_path(first)).status_code == 200
    for _ in range(15):
        case = open_case(customer)
        complaint_transition(complaint=case, to=S.RECORDED, by=None)
    with django_assert_max_num_queries(1):
        assert client.get(status_path(case)).status_code == 200


def test_a_reopened_case_shows_it(client, customer, manager):
    case = open_case(customer)
    for to, data in [
        (S.RECORDED, {}),
        (S.INVESTIGATED, {"findings": "f"}),
        (S.CAUSE_FOUND, {"cause": "c"}),
        (S.REMEDY_DECIDED, {"remedy": "r"}),
        (S.CUSTOMER_NOTIFIED, {"customer_agreed": True}),
        (S.CARRIED_OUT, {"action_taken": "a"}),
        (S.FOLLOWED_UP, {"follow_up": "u"}),
        (S.CLOSED, {}),
    ]:
        case = complaint_transition(complaint=case, to=to, by=manager, **data)
    closed = steps_of(client.get(status_path(case)).content.decode())
    assert all(css.startswith("reached") for _label, css in closed)
    assert closed[-1][1] == "reached current"
    complaint_transition(complaint=case, to=S.REOPENED, by=manager, note="客户说还是不制冷")
    steps = steps_of(client.get(status_path(case)).content.decode())
    assert steps[:3] == [
        (labels(S.RECEIVED)[0], "reached"),
        (labels(S.RECORDED)[0], "reached"),
        (labels(S.REOPENED)[0], "reached current"),
    ]
    assert [css for _label, css in steps[3:]] == [""] * 7


def test_a_tampered_or_malformed_token_is_a_404(client, customer):
    case = open_case(customer)
    token = status_token(case)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    message = zh("This status link is not valid. Please use the link from your SMS exactly as it was sent.")
    for bad in (tampered, "abc", "a:b:c", "." + token, "%E4%BD%A0"):
        response = client.get(f"/c/s/{bad}/")
        assert response.status_code == 404, bad
        assert message in response.content.decode()
    # A genuine token of a case that no longer exists.
    gone = open_case(customer)
    path = status_path(gone)
    Complaint.objects.filter(pk=gone.pk).delete()
    assert client.get(path).status_code == 404


def test_a_status_link_shows_its_own_case_only(client, customer, dealership, other_dealership):
    mine = open_case(customer)
    theirs = open_case(CustomerFactory(dealership=other_dealership))
    second = open_case(customer)
    html = client.get(status_path(second)).content.decode()
    assert second.number in html
    # mine is TS-…-000001 in this store, theirs the same number in the other store.
    assert mine.number == theirs.number == first_number() != second.number
    assert mine.number not in html
    assert theirs.number in client.get(status_path(theirs)).content.decode()


# --- The QR code -------------------------------------------------------------------
def svg_modules(svg: str, border: int = 4) -> list[list[bool]]:
    """The dark modules a segno SVG path draws (``M``/``m`` moves, ``h`` runs of modules)."""
    d = re.search(r' d="([^"]+)"', svg).group(1)
    x = y = 0.0
    dark = set()
    for cmd, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", d):
        if cmd == "M":
            x, y = float(a), float(b)
        elif cmd == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(y - 0.5) - border, int(x) + i - border) for i in range(int(a)))
            x += float(a)
    size = max(max(r, c) for r, c in dark) + 1
    return [[(r, c) in dark for c in range(size)] for r in range(size)]


def test_the_stores_manager_gets_the_form_link_and_its_qr_code(client, manager):
    client.force_login(manager)
    response = client.get("/c/f/pudong/qr/")
    html = response.content.decode()
    assert response.status_code == 200
    url = "http://testserver/c/f/pudong/"
    assert f'<p class="url">{url}</p>' in html
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    assert 'class="segno"' in svg and "viewBox=" in svg
    # The drawing is the QR code of exactly that link.
    expected = segno.make(url, error="m", micro=False)
    assert svg_modules(svg) == [[bool(v) for v in row] for row in expected.matrix]
    assert svg_modules(svg) != [[bool(v) for v in row] for row in segno.make(url + "x", error="m").matrix]


def test_the_qr_code_prints_the_public_address_when_set(settings, client, group_admin, other_dealership):
    settings.CRM_COMPLAINT_PUBLIC_BASE_URL = "https://kefu.example.cn/"
    client.force_login(group_admin)
    html = client.get("/c/f/minhang/qr/").content.decode()
    assert '<p class="url">https://kefu.example.cn/c/f/minhang/</p>' in html
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    expected = segno.make("https://kefu.example.cn/c/f/minhang/", error="m", micro=False)
    assert svg_modules(svg) == [[bool(v) for v in row] for row in expected.matrix]


def test_who_may_open_the_qr_page(client, dealership, other_dealership, advisor, other_manager):
    url = "/c/f/pudong/qr/"
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(other_manager)
    assert client.get(url).status_code == 404
    client.force_login(UserFactory(username="advisor2", dealership=other_dealership))
    assert client.get(url).status_code == 404
    client.force_login(advisor)
    assert client.get(url).status_code == 403
    DealershipFactory(code="closed", is_active=False)
    client.force_login(ManagerFactory(username="group_manager", dealership=None))
    assert client.get(url).status_code == 200
    assert client.get("/c/f/closed/qr/").status_code == 404
