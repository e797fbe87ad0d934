"""A kind declared in one module works end to end: the admin's rule form, the
morning run, the advisor's queue, the default rules, the column check, the
``CareKind`` names and the marketing kinds all read it from the registry.

The kind lives in this module (a tyre check a number of days after the
purchase) and is registered by a fixture that unregisters it afterwards: the
registry is process-wide."""

import dataclasses
import datetime

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Value
from django.urls import reverse
from django.utils import timezone

from care.engine.services import care_tasks_generate
from care.kinds.base import Run, occasion
from care.messaging.services import outbox_purpose
from care.models import CareRule, CareTask
from care.registry import KIND_MODULES, CareKind, KindSpec, Param, kind_choices, marketing_kinds, register, specs
from care.registry import unregister as unregister_kind
from care.touches.services import care_default_rules_install
from crm.sql import AddDays
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle

D = datetime.date


def generate_tyre_check(run: Run):
    """Every car in use of the rule's stores, ``params["days"]`` after its purchase."""
    days = run.params.get("days", 180)
    return run.vehicles().annotate(
        t_event=AddDays("purchase_date", Value(days)),
        t_occasion=occasion("tyre_check", "purchase_date"),
    )


TYRE_CHECK = KindSpec(
    kind="tyre_check",
    label="轮胎检查",
    generate=generate_tyre_check,
    params=(Param("days", "购车后天数", type="int", default=180, min_value=0),),
    default_rules=(
        {
            "name": "轮胎检查提醒",
            "lead_days": 7,
            "expiry_days": 10,
            "call_script": "{name}{title}您好，我是{dealership}的服务顾问{advisor}，您的爱车{plate}该检查轮胎了。",
            "priority": 40,
            "params": {"days": 180},
        },
    ),
    module=__name__,
)


@pytest.fixture
def add_kind():
    """Register a kind (``TYRE_CHECK`` with ``changes``) for one test."""
    added: list[str] = []

    def add(spec: KindSpec = TYRE_CHECK, **changes) -> KindSpec:
        spec = register(dataclasses.replace(spec, **changes))
        added.append(spec.kind)
        return spec

    yield add
    for kind in added:
        unregister_kind(kind)


@pytest.fixture
def tyre_check(add_kind):
    return add_kind()


def tyre_rule(**kwargs) -> CareRule:
    defaults = {"kind": "tyre_check", "lead_days": 7, "expiry_days": 10, "priority": 40, "params": {"days": 180}}
    return CareRuleFactory(**{**defaults, **kwargs})


OPTION = '<option value="tyre_check">轮胎检查</option>'


def posted(form, **changes) -> dict:
    """What a browser posts for ``form`` as rendered, with ``changes`` typed in."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else value
    return {**data, **changes}


def test_the_rule_admin_offers_a_kind_registered_after_start_with_its_parameters(client, group_admin, add_kind):
    client.force_login(group_admin)
    url = reverse("admin:care_carerule_add")
    # The form is built when asked for: before the kind exists it is not offered...
    page = client.get(url).content.decode()
    assert OPTION not in page and '<option value="maintenance">' in page

    add_kind()
    assert OPTION in client.get(url).content.decode()
    # ...and once chosen, its declared parameter is a field, at its default.
    response = client.get(url, {"kind": "tyre_check"})
    form = response.context["adminform"].form
    [days] = [name for name, field in form.fields.items() if field.label == "购车后天数"]
    assert form[days].value() == 180

    data = posted(form, name="轮胎检查", priority=45, lead_days=5, expiry_days=12, call_script="{plate}该检查轮胎了")
    response = client.post(url, {**data, days: 90})
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = CareRule.objects.get(kind="tyre_check")
    assert (rule.dealership_id, rule.name, rule.priority, rule.lead_days, rule.expiry_days, rule.params) == (
        None,
        "轮胎检查",
        45,
        5,
        12,
        {"days": 90},
    )
    # The list of rules shows the kind's label.
    assert "轮胎检查" in client.get(reverse("admin:care_carerule_changelist")).content.decode()


def test_an_unregistered_kind_is_refused_by_the_rule_form(client, group_admin):
    client.force_login(group_admin)
    url = reverse("admin:care_carerule_add")
    form = client.get(url).context["adminform"].form
    response = client.post(url, posted(form, kind="tyre_check", name="轮胎检查", call_script="您好"))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["kind"]
    assert not CareRule.objects.exists()


def test_the_morning_run_makes_the_kinds_touches_on_their_days(customer, advisor, tyre_check):
    tyre_rule()
    first = VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1))
    second = VehicleFactory(customer=customer, purchase_date=D(2026, 5, 2))
    VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1), status=Vehicle.Status.SOLD)

    # 2026-05-01 + 180 days = 2026-10-28 (May 31 is +30, Sep 30 +152, Oct 28 +180);
    # contact 7 days before, on 2026-10-21; expires 10 days after, on 2026-11-07.
    assert care_tasks_generate(day=D(2026, 10, 20)).created.get("tyre_check", 0) == 0
    assert care_tasks_generate(day=D(2026, 10, 21)).created == {"tyre_check": 1}
    (touch,) = CareTask.objects.all()
    assert (touch.kind, touch.vehicle, touch.occasion, touch.channel) == (
        "tyre_check",
        first,
        "tyre_check:2026-05-01",
        "call",
    )
    assert (touch.event_date, touch.due_date, touch.expires_on) == (D(2026, 10, 28), D(2026, 10, 21), D(2026, 11, 7))
    # Priority: the rule's 40 + 20 for tier B; the customer's advisor calls.
    assert (touch.priority, touch.assigned_to, touch.created_on) == (60, advisor, D(2026, 10, 21))
    # The second car's day is 2026-10-29, its contact 2026-10-22; the first is not made twice.
    assert care_tasks_generate(day=D(2026, 10, 22)).created == {"tyre_check": 1}
    assert sorted(CareTask.objects.values_list("vehicle", "event_date")) == sorted(
        [(first.pk, D(2026, 10, 28)), (second.pk, D(2026, 10, 29))]
    )
    assert CareTask.objects.get(vehicle=first).get_kind_display() == "轮胎检查"


def test_the_advisor_finds_the_touch_in_the_queue_with_the_kinds_label(client, customer, advisor, tyre_check):
    today = timezone.localdate()
    tyre_rule(lead_days=0)
    VehicleFactory(customer=customer, purchase_date=today - datetime.timedelta(days=180))
    care_tasks_generate(day=today)

    client.force_login(advisor)
    response = client.get(reverse("care:queue"))
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert (row.customer, [t.kind for t in row.tasks]) == (customer, ["tyre_check"])
    page = response.content.decode()
    assert '<span class="reason">轮胎检查' in page
    # The count per kind uses the label too.
    assert ">轮胎检查</a> 1" in page


def test_the_default_rule_of_a_new_kind_is_installed_once(default_rules, tyre_check):
    # Every shipped kind already has its rules (installed after migrate): only the new kind's is missing.
    assert care_default_rules_install() == 1
    rule = CareRule.objects.get(kind="tyre_check")
    assert (rule.dealership_id, rule.name, rule.lead_days, rule.expiry_days, rule.priority, rule.params) == (
        None,
        "轮胎检查提醒",
        7,
        10,
        40,
        {"days": 180},
    )
    assert rule.channel == "call" and rule.enabled
    assert care_default_rules_install() == 0
    assert CareRule.objects.count() == len(default_rules) + 1


def test_a_kind_an_admin_configured_gets_no_default_rule(default_rules, tyre_check):
    tyre_rule(name="本店的轮胎检查", enabled=False)
    assert care_default_rules_install() == 0
    assert list(CareRule.objects.filter(kind="tyre_check").values_list("name", flat=True)) == ["本店的轮胎检查"]


def test_a_generator_that_forgets_the_event_is_named_in_the_error(customer, add_kind):
    def forgetful(run: Run):
        return run.vehicles().annotate(t_occasion=occasion("tyre_check", "purchase_date"))

    add_kind(generate=forgetful)
    tyre_rule()
    VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1))
    with pytest.raises(ImproperlyConfigured) as exc:
        care_tasks_generate(day=D(2026, 10, 21))
    assert str(exc.value) == "care kind 'tyre_check': the generator's rows lack t_event"
    assert not CareTask.objects.exists()


def test_care_kind_names_the_kind_while_it_is_registered(tyre_check):
    assert CareKind.TYRE_CHECK == "tyre_check"
    assert "tyre_check" in CareKind.values
    assert ("tyre_check", "轮胎检查") in kind_choices()
    unregister_kind("tyre_check")
    with pytest.raises(AttributeError, match="tyre_check"):
        _ = CareKind.TYRE_CHECK
    assert "tyre_check" not in CareKind.values


def test_a_marketing_kind_is_one_of_the_marketing_kinds(add_kind):
    add_kind()
    assert "tyre_check" not in marketing_kinds()
    assert outbox_purpose("tyre_check") == "service"
    add_kind(marketing=True)  # registering again replaces the spec
    assert "tyre_check" in marketing_kinds()
    assert outbox_purpose("tyre_check") == "marketing"


# --- The shipped kinds --------------------------------------------------------------------


def shipped():
    return [spec for spec in specs() if spec.module.startswith("care.kinds.")]


def test_every_kind_module_declares_its_specs_with_its_name():
    assert {spec.module for spec in shipped()} == {f"care.kinds.{name}" for name in KIND_MODULES}


def test_every_shipped_default_rule_passes_full_clean(db):
    # db alone: the autouse fixture of tests/care/conftest.py has emptied the rules,
    # so the uniqueness checks of full_clean see none of the installed ones.
    rules = [
        CareRule(dealership=None, kind=spec.kind, **defaults) for spec in shipped() for defaults in spec.default_rules
    ]
    assert rules
    for rule in rules:
        rule.full_clean()


def test_a_fresh_database_holds_exactly_the_specs_default_rules(default_rules):
    expected = sorted(
        (spec.kind, defaults["name"], defaults.get("priority", 50))
        for spec in shipped()
        for defaults in spec.default_rules
    )
    assert sorted((r.kind, r.name, r.priority) for r in default_rules) == expected
    assert {r.dealership_id for r in default_rules} == {None}
