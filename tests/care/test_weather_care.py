"""Severe weather → weather touches and messages, once per alert.

The weather comes through the real fixture provider, from a JSON file in
QWeather's own shapes written by each test."""

import datetime
import json
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from care.engine.services import weather_poll
from care.messaging.services import outbox_send
from care.models import CareTask, Outbox, WeatherAlert, WeatherLocation
from care.weather.base import WeatherError, WeatherProvider
from care.weather.fixture import FixtureProvider
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 7, 10, 9, 5, tzinfo=SH)
TODAY = NOW.date()


def alert(alert_id, *, event=("暴雨", "1003"), colour="yellow", kind="alert", supersedes=(), expire="+20h"):
    return {
        "id": alert_id,
        "senderName": "上海中心气象台",
        "issuedTime": "-1h",
        "messageType": {"code": kind, "supersedes": list(supersedes)},
        "eventType": {"name": event[0], "code": event[1]},
        "urgency": None,
        "severity": "moderate",
        "certainty": None,
        "icon": event[1],
        "color": {"code": colour, "red": 0, "green": 0, "blue": 0, "alpha": 1},
        "effectiveTime": "-1h",
        "onsetTime": "-1h",
        "expireTime": expire,
        "headline": f"上海中心气象台发布{event[0]}{ {'yellow': '黄色', 'orange': '橙色', 'blue': '蓝色'}[colour] }预警",
        "description": "预计未来6小时内本市将出现50毫米以上的强降水。",
        "criteria": None,
        "instruction": "注意防范。",
        "responseTypes": [],
    }


def daily(temps):
    return {
        "code": "200",
        "updateTime": "+0h",
        "daily": [
            {"fxDate": f"+{n}d", "tempMax": str(high), "tempMin": str(low), "textDay": "多云"}
            for n, (high, low) in enumerate(temps)
        ],
    }


MILD = daily([(30, 24), (31, 25), (30, 24), (29, 24)])


@pytest.fixture
def weather(tmp_path):
    """Write the provider's file and poll with it: ``weather.poll(alerts, forecast)``."""
    path = tmp_path / "weather.json"

    class Weather:
        def poll(self, alerts, forecast=MILD, *, city="上海", district="", now=NOW):
            body = {"metadata": {"zeroResult": not alerts}, "alerts": alerts}
            entry = {"city": city, "district": district, "alerts": body, "daily": forecast}
            path.write_text(json.dumps({"locations": [entry]}, ensure_ascii=False))
            provider = FixtureProvider(path, clock=lambda: now)
            provider._mtime_ns = None  # the test rewrites the file within one clock tick
            return weather_poll(now=now, provider=provider)

    return Weather()


@pytest.fixture
def shanghai(db):
    return WeatherLocation.objects.create(city="上海", latitude="31.2304", longitude="121.4737")


@pytest.fixture
def weather_rule(db):
    return CareRuleFactory(
        kind="weather",
        channel="sms",
        lead_days=0,
        expiry_days=1,
        message_template="{name}{title}，{item}",
        params={
            "events": ["rainstorm", "typhoon", "cold_wave", "heat", "snow", "fog"],
            "min_colour": "yellow",
            "tips": {"rainstorm": "雨天请减速慢行。", "cold_wave": "请检查胎压和电瓶。", "other": "注意安全。"},
        },
    )


@pytest.fixture
def people(dealership, advisor):
    def make(**kwargs):
        return CustomerFactory(dealership=dealership, advisor=advisor, marketing_consent=True, **kwargs)

    return {
        "consenting": make(name="甲", city="上海", district="浦东新区"),
        "other_district": make(name="乙", city="上海", district="闵行区"),
        "no_consent": CustomerFactory(dealership=dealership, advisor=advisor, city="上海", marketing_consent=False),
        "beijing": make(name="丙", city="北京"),
    }


def weather_touches():
    return sorted(
        (t.customer.name, t.occasion, t.subject)
        for t in CareTask.objects.filter(kind="weather").select_related("customer")
    )


def test_a_severe_alert_becomes_one_touch_per_consenting_customer_of_the_city_once(
    shanghai, weather_rule, people, weather, scripted
):
    report = weather.poll([alert("A1")])
    stored = WeatherAlert.objects.get()
    assert (stored.event, stored.colour, stored.colour_rank, stored.location) == ("rainstorm", "yellow", 2, shanghai)
    tip = "上海中心气象台发布暴雨黄色预警。雨天请减速慢行。"
    assert weather_touches() == [
        ("乙", f"weather:{stored.pk}", tip),
        ("甲", f"weather:{stored.pk}", tip),
    ]
    assert (report.new_alerts, report.touches) == (1, 2)
    # The messages are queued by the poll, rendered with the safety tip.
    assert sorted(Outbox.objects.values_list("body", flat=True)) == [f"乙先生，{tip}", f"甲先生，{tip}"]

    again = weather.poll([alert("A1")])
    assert (again.new_alerts, again.touches) == (0, 0)
    assert CareTask.objects.filter(kind="weather").count() == 2
    assert Outbox.objects.count() == 2

    outbox_send(now=NOW)
    assert sorted(m.body for m in scripted.sent) == [f"乙先生，{tip}", f"甲先生，{tip}"]


def test_a_district_location_reaches_only_that_district(weather_rule, people, weather):
    WeatherLocation.objects.create(city="上海", district="浦东新区", latitude="31.22", longitude="121.54")
    weather.poll([alert("P1")], district="浦东新区")
    assert [name for name, _, _ in weather_touches()] == ["甲"]


def test_mild_warnings_and_other_events_are_not_sent(shanghai, weather_rule, people, weather):
    weather.poll([alert("B1", colour="blue"), alert("G1", event=("大风", "1006"))])
    assert WeatherAlert.objects.count() == 2
    assert weather_touches() == []


def test_an_update_is_sent_again_only_when_it_is_more_severe(shanghai, weather_rule, people, weather):
    weather.poll([alert("A1")])
    weather.poll([alert("A2", kind="update", supersedes=["A1"])])
    assert CareTask.objects.filter(kind="weather").count() == 2  # same colour: nothing new
    weather.poll([alert("A3", kind="update", colour="orange", supersedes=["A2"])])
    assert CareTask.objects.filter(kind="weather").count() == 4


def test_a_cancelled_alert_closes_its_touches_and_its_messages_do_not_go(
    shanghai, weather_rule, people, weather, scripted
):
    # Polled at 06:00, inside quiet hours: the messages wait for 08:00.
    early = NOW.replace(hour=6)
    weather.poll([alert("A1")], now=early)
    assert set(Outbox.objects.values_list("status", flat=True)) == {"queued"}
    weather.poll([alert("C1", kind="cancel", supersedes=["A1"])], now=early.replace(hour=7))
    assert WeatherAlert.objects.get(alert_id="A1").status == "cancelled"
    assert set(CareTask.objects.filter(kind="weather").values_list("status", "outcome")) == {
        ("cancelled", "inapplicable")
    }
    outbox_send(now=early.replace(hour=8))
    assert set(Outbox.objects.values_list("suppression_reason", flat=True)) == {"touch_closed"}
    assert scripted.sent == []


def test_a_sudden_drop_in_the_forecast_is_announced_the_day_before(shanghai, weather_rule, people, weather):
    # 24 °C low today, 15 °C tomorrow: a fall of 9 °C.
    report = weather.poll([], daily([(30, 24), (20, 15), (19, 14), (20, 14)]))
    (change,) = WeatherAlert.objects.all()
    assert change.event == "cold_wave"
    assert change.effective_at.astimezone(SH).date() == TODAY + datetime.timedelta(days=1)
    assert report.touches == 2
    assert weather.poll([], daily([(30, 24), (20, 15), (19, 14), (20, 14)])).touches == 0


def test_a_provider_error_is_reported_and_the_poll_goes_on(shanghai, weather_rule, people):
    class Down(WeatherProvider):
        name = "down"

        def alerts(self, location):
            raise WeatherError("HTTP 503")

        def daily_forecast(self, location):
            raise WeatherError("HTTP 503")

    report = weather_poll(now=NOW, provider=Down())
    assert len(report.errors) == 2 and "HTTP 503" in report.errors[0]
    assert WeatherAlert.objects.count() == 0


def test_the_demo_fixture_gives_one_current_alert_for_shanghai(db, settings):
    from care.weather.base import get_provider

    WeatherLocation.objects.create(city="上海", latitude="31.2304", longitude="121.4737")
    CareRuleFactory(kind="weather", channel="sms", lead_days=0, expiry_days=1, message_template="{name}，{item}")
    weather_poll(provider=get_provider())
    assert WeatherAlert.objects.filter(status="active", event="rainstorm").count() == 1


def test_the_queue_shows_warnings_in_force_where_the_dealership_is(
    client, advisor, shanghai, weather, other_dealership
):
    advisor.dealership.city = "上海"
    advisor.dealership.save()
    weather.poll([alert("A1", expire="+48h")], now=timezone.now())
    client.force_login(advisor)
    assert "上海中心气象台发布暴雨黄色预警" in client.get(reverse("care:queue")).content.decode()

    other_dealership.city = "苏州"
    other_dealership.save()
    elsewhere = UserFactory(username="suzhou_advisor", dealership=other_dealership)
    client.force_login(elsewhere)
    assert "暴雨黄色预警" not in client.get(reverse("care:queue")).content.decode()
