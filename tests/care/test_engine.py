import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from care.engine.services import care_tasks_generate
from care.models import CareOptOut, CareTask, OutcomeCode
from care.registry import CareKind, specs
from care.workspace.services import CallOutcome, care_call_log
from demo.services import seed_demo
from tests.care.conftest import add_reading, add_visit
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

D = datetime.date
DAY = D(2026, 11, 23)


def due_car(customer, *, days_from_day: int = 3):
    """A car whose first maintenance (5,000 km / 6 months) falls ``days_from_day`` after DAY by time:
    bought six months before that, driven 1 km a day so km never comes first."""
    model = VehicleModelFactory(first_maintenance_km=5000, first_maintenance_months=6)
    event = DAY + datetime.timedelta(days=days_from_day)
    bought = (
        D(event.year, event.month - 6, event.day) if event.month > 6 else D(event.year - 1, event.month + 6, event.day)
    )
    car = VehicleFactory(customer=customer, model=model, purchase_date=bought)
    add_reading(car, bought, 0)
    add_reading(car, DAY - datetime.timedelta(days=100), (DAY - datetime.timedelta(days=100) - bought).days)
    return car, event


def test_default_rules_cover_every_kind_and_their_words_are_valid(default_rules):
    kinds = {rule.kind for rule in default_rules}
    assert kinds == set(CareKind.values)
    assert kinds <= {spec.kind for spec in specs() if spec.generate}
    for rule in default_rules:
        rule.full_clean()


def test_unknown_placeholder_is_a_validation_error(db):
    rule = CareRuleFactory.build(message_template="{name}您好，{nmae}", call_script="{plate")
    with pytest.raises(ValidationError) as exc:
        rule.full_clean()
    assert "{nmae}" in exc.value.message_dict["message_template"][0]
    assert "call_script" in exc.value.message_dict


def test_rerun_of_the_same_day_creates_nothing(customer, generate):
    CareRuleFactory(kind="maintenance", lead_days=7)
    due_car(customer)
    first = care_tasks_generate(day=DAY)
    second = care_tasks_generate(day=DAY)
    assert first.total_created == 1
    assert second.total_created == 0
    assert CareTask.objects.count() == 1


def test_opted_out_sold_and_inactive_are_skipped(dealership, advisor, generate):
    CareRuleFactory(kind="maintenance", lead_days=7)
    opted = CustomerFactory(dealership=dealership, advisor=advisor)
    due_car(opted)
    CareOptOut.objects.create(customer=opted, kind="maintenance", reason="不需要保养电话")
    sold = CustomerFactory(dealership=dealership, advisor=advisor)
    car, _ = due_car(sold)
    car.status = "sold"
    car.save()
    deceased = CustomerFactory(dealership=dealership, advisor=advisor, status="deceased")
    due_car(deceased)
    other_kind = CustomerFactory(dealership=dealership, advisor=advisor)
    due_car(other_kind)
    CareOptOut.objects.create(customer=other_kind, kind="birthday", reason="不过生日")
    tasks = generate(DAY)
    assert [t.customer_id for t in tasks] == [other_kind.pk]


def test_tier_sets_priority_and_rule_tiers_filter(dealership, advisor, generate):
    CareRuleFactory(kind="maintenance", lead_days=7, priority=50, target_tiers="ABC")
    loyal = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="A")
    marginal = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="C")
    lost = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="D")
    for c in (loyal, marginal, lost):
        due_car(c)
    tasks = {t.customer_id: t.priority for t in generate(DAY)}
    # 50 + 30 for A, 50 + 10 for C; D is not a target tier of this rule.
    assert tasks == {loyal.pk: 80, marginal.pk: 60}


def test_unassigned_customers_go_to_the_least_loaded_advisor(dealership, generate):
    busy = UserFactory(username="busy", dealership=dealership)
    free = UserFactory(username="free", dealership=dealership)
    rule = CareRuleFactory(kind="maintenance", lead_days=7)
    for _ in range(2):
        owned = CustomerFactory(dealership=dealership, advisor=busy)
        car, event = due_car(owned, days_from_day=30)
        CareTask.objects.create(
            dealership=dealership,
            customer=owned,
            vehicle=car,
            rule=rule,
            kind="maintenance",
            channel="call",
            occasion=f"x{owned.pk}",
            event_date=event,
            due_date=event,
            expires_on=event,
            created_on=DAY,
            assigned_to=busy,
        )
    orphan = CustomerFactory(dealership=dealership, advisor=None)
    due_car(orphan)
    [task] = [t for t in generate(DAY) if t.customer_id == orphan.pk]
    assert task.assigned_to == free


def test_a_store_rule_replaces_the_group_default_for_that_store(advisor, other_dealership, generate):
    CareRuleFactory(kind="maintenance", name="保养", lead_days=7)
    CareRuleFactory(kind="maintenance", name="保养", lead_days=7, dealership=advisor.dealership, enabled=False)
    here = CustomerFactory(dealership=advisor.dealership, advisor=advisor)
    there = CustomerFactory(dealership=other_dealership, advisor=UserFactory(dealership=other_dealership))
    due_car(here)
    due_car(there)
    assert [t.customer_id for t in generate(DAY)] == [there.pk]


def test_touches_expire_and_are_counted(customer, generate):
    CareRuleFactory(kind="maintenance", lead_days=7, expiry_days=5)
    due_car(customer)  # event DAY + 3, expires DAY + 8
    assert len(generate(DAY)) == 1
    report = care_tasks_generate(day=DAY + datetime.timedelta(days=9))
    assert report.expired == 1
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("cancelled", "expired")


def test_a_visit_after_a_touch_is_linked_as_its_conversion(customer, generate):
    CareRuleFactory(kind="maintenance", lead_days=7)
    car, _ = due_car(customer)
    generate(DAY)
    visit = add_visit(car, "RO-9", "repair", DAY + datetime.timedelta(days=10), 5000)
    report = care_tasks_generate(day=DAY + datetime.timedelta(days=11))
    assert report.converted == 1
    assert CareTask.objects.get().converted_repair_order == visit


def test_one_outcome_closes_every_call_in_the_merge_window(customer, advisor):
    rule = CareRuleFactory(kind="maintenance")

    def touch(days: int, channel: str = "call") -> CareTask:
        when = DAY + datetime.timedelta(days=days)
        return CareTask.objects.create(
            dealership=customer.dealership,
            customer=customer,
            rule=rule,
            kind="maintenance",
            channel=channel,
            occasion=f"o{days}{channel}",
            event_date=when,
            due_date=when,
            expires_on=when,
            created_on=DAY,
            assigned_to=advisor,
        )

    first, within, message, later = touch(0), touch(6), touch(2, "sms"), touch(7)
    reached = OutcomeCode.objects.get(code="reached")
    contact = care_call_log(task=first, outcome=CallOutcome(code=reached), by=advisor)
    assert sorted(contact.tasks.values_list("pk", flat=True)) == [first.pk, within.pk]
    states = {t.pk: (t.status, t.outcome) for t in CareTask.objects.all()}
    assert states[first.pk] == states[within.pk] == ("done", "reached")
    assert states[message.pk] == states[later.pk] == ("open", "")


def _seeded(customers: int) -> None:
    seed_demo(customers=customers, seed=3, today=DAY)


@pytest.mark.slow
def test_generation_costs_the_same_queries_at_two_sizes(default_rules):
    sizes = {}
    for customers in (30, 120):
        CareTask.objects.all().delete()
        from demo.services import demo_reset

        demo_reset()
        _seeded(customers)
        with CaptureQueriesContext(connection) as ctx:
            report = care_tasks_generate(day=DAY)
        sizes[customers] = (len(ctx.captured_queries), report.total_created)
    (small_q, small_n), (big_q, big_n) = sizes[30], sizes[120]
    assert big_n > small_n > 0
    assert small_q == big_q, sizes


# serialized_rollback: the flush after a transactional test must not take the
# migrations' data (default rules, holiday calendar) away from later tests.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_create_no_duplicates(default_rules):
    _seeded(60)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            care_tasks_generate(day=DAY)
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = CareTask.objects.count()
    assert total > 0
    keys = CareTask.objects.values_list("rule_id", "customer_id", "vehicle_id", "occasion")
    assert len(set(keys)) == total
    # And a third, sequential run finds nothing left to create.
    assert care_tasks_generate(day=DAY).total_created == 0


def test_command_runs_any_day_and_refuses_a_bad_date(customer, capsys):
    CareRuleFactory(kind="maintenance", lead_days=7)
    due_car(customer)
    call_command("generate_care_tasks", "--date", DAY.isoformat())
    assert "created 1" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("generate_care_tasks", "--date", "2026-13-01")


def test_the_run_logs_its_figures(customer, caplog):
    CareRuleFactory(kind="maintenance", lead_days=7)
    due_car(customer)
    with caplog.at_level("INFO", logger="care.engine.services"):
        care_tasks_generate(day=DAY)
    [record] = [r for r in caplog.records if r.name == "care.engine.services"]
    assert record.care_created == {"maintenance": 1}


def test_rule_admin_previews_the_words_and_refuses_unknown_placeholders(client, group_admin, default_rules):
    from django.urls import reverse

    rule = next(r for r in default_rules if r.kind == "maintenance")
    client.force_login(group_admin)
    url = reverse("admin:care_carerule_change", args=[rule.pk])
    page = client.get(url).content.decode()
    assert "张伟先生" in page  # the sample customer, rendered into the script

    data = {
        "kind": rule.kind,
        "name": rule.name,
        "enabled": "on",
        "channel": rule.channel,
        "priority": rule.priority,
        "target_tiers": rule.target_tiers,
        "lead_days": rule.lead_days,
        "cadence_days": "[]",
        "expiry_days": rule.expiry_days,
        "message_template": "{name}您好，{nmae}",
        "call_script": rule.call_script,
        "params": "{}",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "{nmae}" in response.content.decode()
    rule.refresh_from_db()
    assert "{nmae}" not in rule.message_template
