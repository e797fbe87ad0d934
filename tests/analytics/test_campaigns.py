"""Campaigns against a holdout: drawing, touches, list uploads, results and pages.

Every expected figure below is worked out by hand in the comments next to it."""

import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook

from analytics.campaigns import campaign_create, campaign_draw, holdout_bucket
from analytics.campaigns_lists import Reason, campaign_list_read
from analytics.campaigns_results import MIN_GROUP, Verdict, campaign_results
from analytics.models import Campaign, CampaignMember
from care.models import CareOptOut, CareRule, CareTask, RecallCampaign, RecallVehicle
from customers.models import Customer
from service.models import RepairOrder
from tests.crm.factories import DealershipFactory, ManagerFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, make_vin

SH = ZoneInfo("Asia/Shanghai")
MARCH = (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
DRAW_AT = datetime.datetime(2026, 2, 20, 9, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def in_english():
    """Messages are checked in their English source text (the interface itself defaults to Chinese)."""
    with translation.override("en"):
        yield


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


def customers(store, n: int, *, start: int = 0, **fields) -> list[Customer]:
    """``n`` active customers of ``store`` who agreed to marketing messages (one INSERT)."""
    fields.setdefault("marketing_consent", True)
    rows = [
        Customer(dealership=store, name=f"客户{start + i}", phone=f"137{start + i:08d}", **fields) for i in range(n)
    ]
    return Customer.objects.bulk_create(rows)


_numbers = iter(range(1, 1_000_000))


def order(customer, amount: str, opened: datetime.datetime, *, closed=True, voided=False, car=None) -> RepairOrder:
    car = car or customer.vehicles.first() or VehicleFactory(customer=customer)
    total = Decimal(amount)
    return RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        number=f"RO{next(_numbers)}",
        kind="maintenance",
        opened_at=opened,
        closed_at=opened + datetime.timedelta(hours=3) if closed else None,
        voided_at=opened + datetime.timedelta(hours=4) if voided else None,
        mileage=10000,
        labor_amount=total,
        parts_amount=Decimal("0"),
        total_amount=total,
    )


def create(store, *, kind="seasonal", share="0.10", cost="1000.00", window=MARCH, audience=None, by=None, name=None):
    return campaign_create(
        dealership=store,
        name=name or f"{kind} campaign",
        kind=kind,
        starts_on=window[0],
        ends_on=window[1],
        cost=Decimal(cost),
        holdout_share=Decimal(share),
        audience=audience if audience is not None else {},
        by=by,
    )


def members(campaign, holdout: bool) -> set[int]:
    return set(CampaignMember.objects.filter(campaign=campaign, holdout=holdout).values_list("customer_id", flat=True))


def campaign_touches(campaign):
    return CareTask.objects.filter(occasion=f"campaign:{campaign.pk}")


# --- The draw -----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_holdout_is_near_the_asked_share_and_stable_across_reruns(dealership):
    people = customers(dealership, 2000)
    campaign = create(dealership)
    report = campaign_draw(campaign=campaign, now=DRAW_AT)

    holdout = members(campaign, True)
    assert report.members == 2000 and report.added == 2000
    # 10 % of 2,000 is 200; the binomial standard deviation is √(2000·0.1·0.9) ≈ 13.4:
    # 160–240 is three of them either side.
    assert 160 <= len(holdout) <= 240
    assert report.holdout == len(holdout)
    # The database computed the same buckets as the Python mirror of the hash.
    assert holdout == {c.pk for c in people if holdout_bucket(campaign.pk, c.pk) < 1000}

    # A rerun from scratch picks the very same customers.
    CampaignMember.objects.filter(campaign=campaign).update(task=None)
    CampaignMember.objects.filter(campaign=campaign).delete()
    campaign_draw(campaign=campaign, now=DRAW_AT)
    assert members(campaign, True) == holdout

    # Another campaign draws another holdout (the campaign is in the hash).
    other = create(dealership, name="another")
    campaign_draw(campaign=other, now=DRAW_AT)
    other_holdout = members(other, True)
    assert 160 <= len(other_holdout) <= 240
    assert other_holdout != holdout
    # Independent draws overlap on about 10 % of 10 %: 20 customers, far from all of them.
    assert len(other_holdout & holdout) < 60


def test_the_bucket_is_a_fixed_function_of_campaign_and_customer():
    # Worked by hand for campaign 1, customer 1 (P = 2^31 − 1):
    # x = 1·48271 = 48271; x = 48271 + 69621 = 117892; x = 117892² mod P = 13898523664 mod P
    #   = 13898523664 − 6·2147483647 = 1013621782; bucket = (1013621782·48271 + 1) mod P mod 10000.
    x = 1013621782 * 48271 + 1
    assert holdout_bucket(1, 1) == x % 2147483647 % 10000
    assert all(0 <= holdout_bucket(c, k) < 10000 for c in (1, 7, 10**6) for k in (1, 2, 10**9, 2**40))


def test_treated_members_get_one_touch_each_and_the_holdout_none(dealership):
    people = customers(dealership, 60)
    campaign = create(dealership, share="0.50", name="冬季关怀")
    report = campaign_draw(campaign=campaign, now=DRAW_AT)

    treated, holdout = members(campaign, False), members(campaign, True)
    assert len(treated) + len(holdout) == 60 and treated and holdout
    touches = campaign_touches(campaign)
    assert report.touches == len(treated) == touches.count()
    assert set(touches.values_list("customer_id", flat=True)) == treated
    assert not CareTask.objects.filter(customer_id__in=holdout).exists()
    touch = touches.first()
    assert (touch.kind, touch.subject, touch.status) == ("campaign", "冬季关怀", "open")
    # About the start (2026-03-01): the default rule has lead 0 and expires after 14 days.
    assert (touch.due_date, touch.expires_on) == (datetime.date(2026, 3, 1), datetime.date(2026, 3, 15))
    # Every treated member is linked to its touch; the holdout to none.
    linked = dict(CampaignMember.objects.filter(campaign=campaign).values_list("customer_id", "task__customer_id"))
    assert all(linked[pk] == pk for pk in treated)
    assert all(linked[pk] is None for pk in holdout)
    campaign.refresh_from_db()
    assert campaign.drawn_at == DRAW_AT and campaign.rule.kind == "campaign"
    assert len(people) == 60


def test_drawing_twice_adds_nobody_twice(dealership):
    customers(dealership, 40)
    campaign = create(dealership)
    first = campaign_draw(campaign=campaign, now=DRAW_AT)
    second = campaign_draw(campaign=campaign, now=DRAW_AT + datetime.timedelta(days=1))
    assert (second.added, second.touches) == (0, 0)
    assert first.linked == second.linked == 40 - first.holdout
    assert (second.members, second.holdout) == (first.members, first.holdout) == (40, first.holdout)
    assert CampaignMember.objects.filter(campaign=campaign).count() == 40
    assert campaign_touches(campaign).count() == 40 - first.holdout


def test_with_a_cadence_members_are_linked_to_the_first_contact(dealership):
    customers(dealership, 10)
    campaign = create(dealership, share="0")
    CareRule.objects.filter(pk=campaign.rule_id).update(cadence_days=[7, 0])
    campaign.refresh_from_db()
    report = campaign_draw(campaign=campaign, now=DRAW_AT)
    assert report.touches == report.linked == 10
    occasions = set(
        CampaignMember.objects.filter(campaign=campaign).values_list("task__occasion", flat=True).distinct()
    )
    assert occasions == {f"campaign:{campaign.pk}#1"}


def test_a_second_draw_adds_new_customers_of_the_segment_in_their_hashed_group(dealership):
    customers(dealership, 20)
    campaign = create(dealership)
    campaign_draw(campaign=campaign, now=DRAW_AT)
    newcomers = customers(dealership, 20, start=100)
    report = campaign_draw(campaign=campaign, now=DRAW_AT)
    assert report.added == 20 and report.members == 40
    expected = {c.pk for c in newcomers if holdout_bucket(campaign.pk, c.pk) < 1000}
    assert members(campaign, True) & {c.pk for c in newcomers} == expected


def test_seasonal_draws_consenting_active_customers_of_the_chosen_tiers(dealership, other_dealership):
    [a] = customers(dealership, 1, value_tier="A")
    [b] = customers(dealership, 1, start=1, value_tier="B")
    customers(dealership, 1, start=2, value_tier="A", marketing_consent=False)
    customers(dealership, 1, start=3, value_tier="A", churn_state="at_risk")
    customers(dealership, 1, start=4, value_tier="A", status=Customer.Status.MOVED)
    [opted] = customers(dealership, 1, start=5, value_tier="A")
    CareOptOut.objects.create(customer=opted, kind="", channel="", reason="不要打扰")
    customers(other_dealership, 1, start=6, value_tier="A")
    campaign = create(dealership, share="0", audience={"tiers": ["A", "B"]})
    campaign_draw(campaign=campaign, now=DRAW_AT)
    assert members(campaign, False) == {a.pk, b.pk}


def test_winback_draws_at_risk_and_lost_customers(dealership):
    customers(dealership, 1, churn_state="active")
    [risk] = customers(dealership, 1, start=1, churn_state="at_risk")
    [lost] = customers(dealership, 1, start=2, churn_state="lost")
    campaign = create(dealership, kind="winback", share="0")
    campaign_draw(campaign=campaign, now=DRAW_AT)
    assert members(campaign, False) == {risk.pk, lost.pk}


def test_recall_draws_owners_of_listed_cars_without_marketing_consent(dealership, other_dealership):
    recall = RecallCampaign.objects.create(
        code="R-2026-01", title="气囊召回", start_date=datetime.date(2026, 2, 1), end_date=datetime.date(2026, 6, 30)
    )
    owner = CustomerFactory(dealership=dealership, marketing_consent=False)
    done = CustomerFactory(dealership=dealership)
    not_listed = CustomerFactory(dealership=dealership)
    elsewhere = CustomerFactory(dealership=other_dealership)
    for i, (person, completed) in enumerate([(owner, None), (done, datetime.date(2026, 2, 10)), (elsewhere, None)]):
        car = VehicleFactory(customer=person, vin=make_vin(900 + i))
        RecallVehicle.objects.create(campaign=recall, vin=car.vin, completed_on=completed)
    VehicleFactory(customer=not_listed, vin=make_vin(990))
    campaign = create(dealership, kind="recall", share="0", audience={"recall_campaign": recall.pk})
    report = campaign_draw(campaign=campaign, now=DRAW_AT)
    assert members(campaign, False) == {owner.pk}
    # A service message: its own kind, made without marketing consent.
    assert report.touches == 1
    assert campaign_touches(campaign).get().kind == "campaign_service"


def test_a_campaign_that_ended_cannot_be_drawn(dealership):
    customers(dealership, 3)
    campaign = create(dealership)
    with pytest.raises(ValidationError, match="ended"):
        campaign_draw(campaign=campaign, now=at(2026, 4, 1, 9))
    assert not CampaignMember.objects.exists()


def test_a_turned_off_rule_refuses_the_draw_and_draws_nobody(dealership):
    customers(dealership, 3)
    campaign = create(dealership)
    CareRule.objects.filter(pk=campaign.rule_id).update(enabled=False)
    with pytest.raises(ValidationError, match="turned off"):
        campaign_draw(campaign=campaign, now=DRAW_AT)
    assert not CampaignMember.objects.exists()


def test_each_store_gets_its_rule_on_demand_when_there_is_no_group_rule(dealership):
    CareRule.objects.filter(kind="campaign").delete()
    campaign = create(dealership)
    rule = campaign.rule
    assert (rule.kind, rule.dealership_id, rule.enabled) == ("campaign", dealership.pk, True)
    assert create(dealership, name="second").rule_id == rule.pk


# --- Creating: bad input is a message ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"kind": "lottery"}, "kind"),
        ({"ends_on": datetime.date(2026, 2, 1)}, "ends_on"),
        ({"cost": Decimal("-1")}, "cost"),
        ({"cost": Decimal("1.234")}, "cost"),
        ({"holdout_share": Decimal("0.6")}, "holdout_share"),
        ({"holdout_share": Decimal("0.105")}, "holdout_share"),
        ({"audience": {"tiers": ["E"]}}, "tiers"),
        ({"audience": {"churn_states": []}}, "churn_states"),
        ({"kind": "winback", "audience": {"churn_states": ["active"]}}, "churn_states"),
        ({"kind": "recall", "audience": {"recall_campaign": 999999}}, "recall_campaign"),
        ({"kind": "list", "audience": {"customer_ids": []}}, "upload"),
    ],
)
def test_campaign_create_names_the_mistake(dealership, changes, field):
    values = {
        "dealership": dealership,
        "name": "春季",
        "kind": "seasonal",
        "starts_on": MARCH[0],
        "ends_on": MARCH[1],
        "cost": Decimal("100"),
        "holdout_share": Decimal("0.10"),
        "audience": {},
        "by": None,
    }
    with pytest.raises(ValidationError) as exc:
        campaign_create(**{**values, **changes})
    assert field in exc.value.message_dict
    assert not Campaign.objects.exists()


def test_a_list_of_another_stores_customers_is_refused(dealership, other_dealership):
    [theirs] = customers(other_dealership, 1)
    with pytest.raises(ValidationError) as exc:
        create(dealership, kind="list", audience={"customer_ids": [theirs.pk]})
    assert "upload" in exc.value.message_dict


def test_a_recall_campaign_of_another_store_is_refused(dealership, other_dealership):
    recall = RecallCampaign.objects.create(
        dealership=other_dealership, code="R-X", title="x", start_date=MARCH[0], end_date=MARCH[1]
    )
    with pytest.raises(ValidationError) as exc:
        create(dealership, kind="recall", audience={"recall_campaign": recall.pk})
    assert "recall_campaign" in exc.value.message_dict


# --- The uploaded list --------------------------------------------------------------------


@pytest.fixture
def listed(dealership, other_dealership):
    """The store's customers a list may name, and one of another store."""
    ok = CustomerFactory(dealership=dealership, phone="13900000001", marketing_consent=True)
    by_plate = CustomerFactory(dealership=dealership, phone="13900000002", marketing_consent=True)
    VehicleFactory(customer=by_plate, plate_number="沪AD12345")
    no_consent = CustomerFactory(dealership=dealership, phone="13900000003", marketing_consent=False)
    moved = CustomerFactory(
        dealership=dealership, phone="13900000004", marketing_consent=True, status=Customer.Status.MOVED
    )
    CustomerFactory(dealership=dealership, phone="13900000005", marketing_consent=True)
    CustomerFactory(dealership=dealership, phone="13900000005", marketing_consent=True)
    CustomerFactory(dealership=other_dealership, phone="13900000006", marketing_consent=True)
    return {"ok": ok, "by_plate": by_plate, "no_consent": no_consent, "moved": moved}


LIST_ROWS = [
    ["手机号"],  # row 1: a header, skipped
    ["139 0000 0001"],  # 2: ok (spaces)
    ["沪ad 12345"],  # 3: the car's owner (lower case, space)
    ["13900000003"],  # 4: no marketing consent
    ["13900000004"],  # 5: moved away
    ["13900000005"],  # 6: two customers share it
    ["13900000006"],  # 7: another store's customer
    ["hello"],  # 8: neither
    [""],  # 9: empty
    ["+86 13900000001"],  # 10: the same customer as row 2
    ["13900000009"],  # 11: nobody
]
EXPECTED_PROBLEMS = [
    (4, Reason.NO_CONSENT),
    (5, Reason.INACTIVE),
    (6, Reason.AMBIGUOUS),
    (7, Reason.NO_MOBILE),
    (8, Reason.NOT_A_KEY),
    (9, Reason.EMPTY),
    (10, Reason.DUPLICATE),
    (11, Reason.NO_MOBILE),
]


def csv_file(rows, encoding="utf-8-sig", name="list.csv") -> SimpleUploadedFile:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding), content_type="text/csv")


def xlsx_file(rows, name="list.xlsx") -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return SimpleUploadedFile(name, data.getvalue())


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_a_csv_list_keeps_the_good_rows_and_reports_every_other(dealership, listed, encoding):
    match = campaign_list_read(dealership=dealership, upload=csv_file(LIST_ROWS, encoding))
    assert match.customer_ids == sorted([listed["ok"].pk, listed["by_plate"].pk])
    assert [(p.row, p.reason) for p in match.problems] == EXPECTED_PROBLEMS
    assert match.problems[6].same_as == 2
    assert match.rows == 10


def test_an_xlsx_list_reads_numbers_typed_as_numbers(dealership, listed):
    rows = [[None, 13900000001], ["沪AD12345"], [13900000009.0]]
    match = campaign_list_read(dealership=dealership, upload=xlsx_file(rows))
    assert match.customer_ids == sorted([listed["ok"].pk, listed["by_plate"].pk])
    assert [(p.row, p.reason, p.value) for p in match.problems] == [(3, Reason.NO_MOBILE, "13900000009")]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("x.csv", b"\xff\xfe\x00\xd8\x00\xdc" * 3), "neither UTF-8 nor GB18030"),
        (SimpleUploadedFile("x.xlsx", b"PK\x03\x04 not really a zip"), "could not be read"),
        (SimpleUploadedFile("x.xls", b"\xd0\xcf\x11\xe0rest"), ".xls"),
        (SimpleUploadedFile("x.csv", b""), "no rows"),
    ],
)
def test_an_unreadable_list_is_a_message(dealership, upload, message):
    with pytest.raises(ValidationError, match=message):
        campaign_list_read(dealership=dealership, upload=upload)


# --- The results, by hand -----------------------------------------------------------------


def _member(campaign, customer, holdout: bool):
    return CampaignMember.objects.create(campaign=campaign, customer=customer, holdout=holdout)


@pytest.fixture
def small_campaign(dealership, other_dealership):
    """March 2026, cost 1,000.00. Treated t0–t9, holdout h0–h4 (flags set by hand).

    | who | orders                                                    | counts?            |
    |-----|-----------------------------------------------------------|--------------------|
    | t0  | 800.00 on 03-05                                           | yes, 800           |
    | t1  | 300.00 on 03-10 and 200.00 on 03-20                       | yes, 500           |
    | t2  | 400.00 on 03-31 23:30 (the last evening)                  | yes, 400           |
    | t3  | 999.00 on 04-01 00:10 (03-31 in UTC, April here)          | no                 |
    | t4  | 999.00 on 02-28 23:59                                     | no                 |
    | t5  | 999.00 on 03-12, voided                                   | no                 |
    | t6  | 999.00 on 03-12, still open                               | no                 |
    | t7  | 100.00 on 03-01 00:10 (02-28 in UTC, March here)          | yes, 100           |
    | h0  | 250.00 on 03-15                                           | yes, 250           |
    | h1  | 999.00 on 04-02                                           | no                 |

    Treated: 4 of 10 came back (40 %), revenue 1,800.00, 180.00 a member.
    Holdout: 1 of 5 (20 %), revenue 250.00, 50.00 a member.
    """
    campaign = create(dealership, share="0.30")
    t = customers(dealership, 10)
    h = customers(dealership, 5, start=10)
    for person in t:
        _member(campaign, person, False)
    for person in h:
        _member(campaign, person, True)
    order(t[0], "800.00", at(2026, 3, 5, 10))
    order(t[1], "300.00", at(2026, 3, 10, 10))
    order(t[1], "200.00", at(2026, 3, 20, 10))
    order(t[2], "400.00", at(2026, 3, 31, 23, 30))
    order(t[3], "999.00", at(2026, 4, 1, 0, 10))
    order(t[4], "999.00", at(2026, 2, 28, 23, 59))
    order(t[5], "999.00", at(2026, 3, 12, 10), voided=True)
    order(t[6], "999.00", at(2026, 3, 12, 10), closed=False)
    order(t[7], "100.00", at(2026, 3, 1, 0, 10))
    order(h[0], "250.00", at(2026, 3, 15, 10))
    order(h[1], "999.00", at(2026, 4, 2, 10))
    # Another store's campaign with the same customers' neighbours counts for nothing here.
    elsewhere = create(other_dealership, share="0.30")
    [o] = customers(other_dealership, 1, start=50)
    _member(elsewhere, o, False)
    order(o, "5000.00", at(2026, 3, 5, 10))
    return campaign


def test_results_of_a_small_campaign_worked_by_hand(small_campaign):
    results = campaign_results(campaign=small_campaign, today=datetime.date(2026, 4, 10))
    assert (results.treated.members, results.treated.returned, results.treated.revenue) == (10, 4, Decimal("1800.00"))
    assert (results.holdout.members, results.holdout.returned, results.holdout.revenue) == (5, 1, Decimal("250.00"))
    assert results.treated.rate_percent == Decimal("40.0") and results.holdout.rate_percent == Decimal("20.0")
    assert results.treated.revenue_per_member_yuan == Decimal("180.00")
    assert results.holdout.revenue_per_member_yuan == Decimal("50.00")
    # Lift 0.40 − 0.20 = 0.20: 20 points.
    assert results.lift == Decimal("0.2") and results.lift_points == Decimal("20.0")
    # (180 − 50) × 10 = 1,300.00; ROI (1,300 − 1,000) / 1,000 = 0.3.
    assert results.incremental_revenue == Decimal("1300.00")
    assert results.roi == Decimal("0.3000") and results.roi_percent == Decimal("30.0")
    # SE = √(0.4·0.6/10 + 0.2·0.8/5) = √(0.024 + 0.032) = √0.056 = 0.2366432;
    # 0.2 ± 1.96 × 0.2366432 = 0.2 ± 0.4638207 → (−0.2638207, 0.6638207).
    low, high = results.interval
    assert low == pytest.approx(-0.2638207, abs=1e-6) and high == pytest.approx(0.6638207, abs=1e-6)
    assert results.interval_points == (Decimal("-26.4"), Decimal("66.4"))
    # Fewer than MIN_GROUP in a group: said plainly, never "significant".
    assert MIN_GROUP == 30
    assert results.verdict == Verdict.TOO_SMALL and not results.significant
    assert results.verdict_text.startswith("Not yet significant")


def test_a_free_campaign_has_no_roi(small_campaign):
    Campaign.objects.filter(pk=small_campaign.pk).update(cost=0)
    small_campaign.refresh_from_db()
    results = campaign_results(campaign=small_campaign, today=datetime.date(2026, 4, 10))
    assert results.roi is None and results.incremental_revenue == Decimal("1300.00")


@pytest.mark.parametrize(
    ("treated_back", "holdout_back", "verdict", "interval"),
    [
        # 50/100 against 8/40: lift 0.3, SE = √(0.25/100 + 0.16/40) = √0.0065 = 0.0806226;
        # 0.3 ± 0.1580203 → (0.1419797, 0.4580203): excludes 0.
        (50, 8, Verdict.BETTER, (0.1419797, 0.4580203)),
        # 30/100 against 10/40: lift 0.05, SE = √(0.21/100 + 0.1875/40) = √0.0067875 = 0.0823863;
        # 0.05 ± 0.1614772 → (−0.1114772, 0.2114772): includes 0.
        (30, 10, Verdict.NOT_SIGNIFICANT, (-0.1114772, 0.2114772)),
        # 10/100 against 20/40: lift −0.4, SE = √(0.09/100 + 0.25/40) = √0.00715 = 0.0845577;
        # −0.4 ± 0.1657331 → (−0.5657331, −0.2342669): excludes 0, the other way.
        (10, 20, Verdict.WORSE, (-0.5657331, -0.2342669)),
    ],
)
def test_significance_of_larger_groups(dealership, treated_back, holdout_back, verdict, interval):
    campaign = create(dealership, share="0.30", cost="0")
    treated, holdout = customers(dealership, 100), customers(dealership, 40, start=100)
    CampaignMember.objects.bulk_create(
        [CampaignMember(campaign=campaign, customer=c, holdout=False) for c in treated]
        + [CampaignMember(campaign=campaign, customer=c, holdout=True) for c in holdout]
    )
    for person in treated[:treated_back] + holdout[:holdout_back]:
        order(person, "100.00", at(2026, 3, 10, 10))
    results = campaign_results(campaign=campaign, today=datetime.date(2026, 3, 20))
    assert results.verdict == verdict
    assert results.interval == pytest.approx(interval, abs=1e-6)
    assert results.significant == (verdict != Verdict.NOT_SIGNIFICANT)
    # Still running on 03-20: the page says the figures are so far.
    assert results.verdict_text.endswith("these are the figures so far.")
    if verdict == Verdict.NOT_SIGNIFICANT:
        assert results.verdict_text.startswith("Not yet significant")


def test_a_campaign_without_holdout_is_never_significant(dealership):
    campaign = create(dealership, share="0")
    customers(dealership, 5)
    campaign_draw(campaign=campaign, now=DRAW_AT)
    results = campaign_results(campaign=campaign, today=datetime.date(2026, 4, 10))
    assert (results.treated.members, results.holdout.members) == (5, 0)
    assert results.verdict == Verdict.NO_HOLDOUT and results.lift is None and results.roi is None
    assert results.treated.touched == 5


# --- The pages ----------------------------------------------------------------------------

LIST_URL = reverse("analytics:campaigns")
NEW_URL = reverse("analytics:campaign_new")


def page(client, user, url, method="get", **data):
    client.force_login(user)
    return getattr(client, method)(url, data, HTTP_ACCEPT_LANGUAGE="en")


def test_advisors_are_refused_every_campaign_page(client, advisor, dealership):
    campaign = create(dealership)
    for url in (LIST_URL, NEW_URL, reverse("analytics:campaign", args=[campaign.pk])):
        assert page(client, advisor, url).status_code == 403
    assert (
        page(client, advisor, reverse("analytics:campaign", args=[campaign.pk]), "post", action="draw").status_code
        == 403
    )
    assert not CampaignMember.objects.exists()


def test_another_stores_campaign_is_not_found(client, other_manager, dealership):
    campaign = create(dealership)
    url = reverse("analytics:campaign", args=[campaign.pk])
    assert page(client, other_manager, url).status_code == 404
    assert page(client, other_manager, url, "post", action="draw").status_code == 404
    response = page(client, other_manager, LIST_URL)
    assert response.status_code == 200 and campaign.name not in response.content.decode()


def test_the_list_shows_each_campaigns_figures(client, manager, small_campaign):
    response = page(client, manager, LIST_URL)
    assert response.status_code == 200
    [(campaign, _results)] = response.context["rows"]
    assert campaign == small_campaign
    html = response.content.decode()
    row = html[html.index(f'id="campaign-{campaign.pk}"') :]
    row = row[: row.index("</tr>")]
    # 15 members, 5 in the holdout, lift 20.0 points, ROI 30.0 %, too small to be significant.
    for text in ("2026-03-01 – 2026-03-31", ">15<", ">5<", "20.0", "30.0%", "not yet significant"):
        assert text in row


def test_the_campaign_page_shows_both_groups_and_the_verdict(client, manager, small_campaign):
    response = page(client, manager, reverse("analytics:campaign", args=[small_campaign.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("1800.00", "250.00", "180.00", "50.00", "40.0", "20.0", "1300.00", "30.0%", "-26.4 … 66.4"):
        assert text in html
    assert "Not yet significant" in html
    # Drawn by hand (no drawn_at): the button is offered only while the campaign can be drawn.
    assert 'name="action" value="draw"' not in html  # March 2026 is over by the test's today


def test_a_manager_creates_and_draws_a_campaign_on_the_pages(client, manager, dealership):
    customers(dealership, 12, value_tier="A")
    today = timezone.localdate()
    response = page(
        client,
        manager,
        NEW_URL,
        "post",
        name="夏季空调检测",
        kind="seasonal",
        starts_on=today.isoformat(),
        ends_on=(today + datetime.timedelta(days=30)).isoformat(),
        cost="500",
        holdout_percent="20",
        tiers=["A"],
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("analytics:campaign", args=[campaign.pk])
    assert (campaign.holdout_share, campaign.audience, campaign.created_by) == (
        Decimal("0.20"),
        {"tiers": ["A"], "churn_states": ["active"]},
        manager,
    )
    url = reverse("analytics:campaign", args=[campaign.pk])
    assert 'value="draw"' in page(client, manager, url).content.decode()
    response = page(client, manager, url, "post", action="draw")
    assert response.status_code == 302
    assert CampaignMember.objects.filter(campaign=campaign).count() == 12
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "12 customers drawn" in html and 'value="draw"' not in html


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"cost": "-5", "holdout_percent": "80"}, {"cost", "holdout_percent"}),  # the form's own checks
        ({"starts_on": "2026-03-10", "ends_on": "2026-03-01"}, {"ends_on"}),  # the service's, put on the form
        ({"starts_on": "2026-02-30"}, {"starts_on"}),
        ({"kind": "recall"}, {"recall_campaign"}),
        ({"kind": "list"}, {"upload"}),
        ({"tiers": ["Z"]}, {"tiers"}),
    ],
)
def test_bad_input_on_the_form_is_a_message_not_an_error(client, manager, changes, fields):
    data = {
        "name": "x",
        "kind": "seasonal",
        "starts_on": "2026-03-01",
        "ends_on": "2026-03-31",
        "cost": "0",
        "holdout_percent": "10",
    }
    response = page(client, manager, NEW_URL, "post", **{**data, **changes})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == fields
    assert not Campaign.objects.exists()


def test_a_list_campaign_from_an_upload_reports_the_unmatched_rows(client, manager, dealership, listed):
    client.force_login(manager)
    response = client.post(
        NEW_URL,
        {
            "name": "老客户名单",
            "kind": "list",
            "starts_on": "2026-03-01",
            "ends_on": "2026-03-31",
            "cost": "0",
            "holdout_percent": "10",
            "upload": csv_file(LIST_ROWS, "gb18030"),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert campaign.audience["customer_ids"] == sorted([listed["ok"].pk, listed["by_plate"].pk])
    html = client.get(reverse("analytics:campaign", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "8 rows of the list were not added" in html
    for text in ("the customer has not agreed to marketing messages", "the same customer as row 2", "hello"):
        assert text in html


def test_a_list_campaign_whose_file_cannot_be_read_is_a_form_error(client, manager):
    client.force_login(manager)
    response = client.post(
        NEW_URL,
        {
            "name": "名单",
            "kind": "list",
            "starts_on": "2026-03-01",
            "ends_on": "2026-03-31",
            "cost": "0",
            "holdout_percent": "10",
            "upload": SimpleUploadedFile("x.xlsx", b"PK\x03\x04 broken"),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "upload" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_the_group_admin_picks_the_store_and_sees_every_campaign(client, group_admin, dealership, other_dealership):
    create(dealership, name="浦东活动")
    create(other_dealership, name="闵行活动")
    html = page(client, group_admin, LIST_URL).content.decode()
    assert "浦东活动" in html and "闵行活动" in html
    response = page(
        client,
        group_admin,
        NEW_URL,
        "post",
        dealership=other_dealership.pk,
        name="闵行冬季",
        kind="winback",
        starts_on="2026-03-01",
        ends_on="2026-03-31",
        cost="0",
        holdout_percent="10",
    )
    assert response.status_code == 302
    assert Campaign.objects.get(name="闵行冬季").dealership == other_dealership


def _populate(store, n_campaigns: int, n_members: int) -> None:
    for i in range(n_campaigns):
        campaign = create(store, name=f"活动{i}-{n_members}")
        people = customers(store, n_members, start=10_000 * (i + 1) + n_members)
        CampaignMember.objects.bulk_create(
            [CampaignMember(campaign=campaign, customer=c, holdout=j % 4 == 0) for j, c in enumerate(people)]
        )
        for person in people[::3]:
            order(person, "120.00", at(2026, 3, 10, 10))


def test_the_pages_run_a_fixed_number_of_queries(client, dealership, django_assert_max_num_queries):
    manager = ManagerFactory(dealership=dealership)
    client.force_login(manager)
    counts = {"list": [], "detail": []}
    for n_campaigns, n_members in ((1, 4), (5, 40)):
        _populate(dealership, n_campaigns, n_members)
        with django_assert_max_num_queries(8) as captured:
            assert client.get(LIST_URL).status_code == 200
        counts["list"].append(len(captured.captured_queries))
        campaign = Campaign.objects.filter(name__endswith=f"-{n_members}").first()
        with django_assert_max_num_queries(8) as captured:
            assert client.get(reverse("analytics:campaign", args=[campaign.pk])).status_code == 200
        counts["detail"].append(len(captured.captured_queries))
    assert counts["list"][0] == counts["list"][1]
    assert counts["detail"][0] == counts["detail"][1]


def test_the_admin_lists_campaigns_read_only(client, dealership):
    create(dealership, name="后台可见")
    admin_user = ManagerFactory(dealership=dealership, username="storeadmin", role="admin", is_staff=True)
    client.force_login(admin_user)
    response = client.get(reverse("admin:analytics_campaign_changelist"))
    assert response.status_code == 200 and "后台可见" in response.content.decode()
    assert client.get(reverse("admin:analytics_campaign_add")).status_code == 403


def test_another_store_is_never_counted(dealership):
    other = DealershipFactory(code="jingan")
    [mine] = customers(dealership, 1)
    [theirs] = customers(other, 1, start=1)
    campaign = create(dealership, share="0")
    campaign_draw(campaign=campaign, now=DRAW_AT)
    assert members(campaign, False) == {mine.pk}
    assert theirs.pk not in members(campaign, True)
