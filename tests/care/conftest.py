import datetime
from zoneinfo import ZoneInfo

import pytest

from care.engine.services import care_tasks_generate
from care.models import CareTask
from service.models import RepairOrder
from tests.care.backends import ScriptedBackend
from vehicles.models import MileageReading

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _only_the_rules_a_test_makes(request):
    """The default rules of migration 0004 would add touches of their own; a
    test that wants them asks for ``default_rules``."""
    uses_db = {"db", "transactional_db"} & set(request.fixturenames) or request.node.get_closest_marker("django_db")
    if "default_rules" in request.fixturenames or not uses_db:
        return
    from care.models import CareRule

    # Autouse fixtures start before the test's own; open the database first.
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    CareRule.objects.all().delete()


@pytest.fixture
def default_rules(db):
    from care.models import CareRule

    return list(CareRule.objects.all())


@pytest.fixture
def generate():
    """Run the morning generation for a day and return the tasks it left open."""

    def run(day: datetime.date, **kwargs):
        care_tasks_generate(day=day, **kwargs)
        return list(CareTask.objects.filter(status=CareTask.Status.OPEN).order_by("pk"))

    return run


def add_visit(vehicle, number: str, kind: str, day: datetime.date, mileage: int) -> RepairOrder:
    """A repair order and its odometer reading, as the DMS import would leave them."""
    order = RepairOrder.objects.create(
        dealership=vehicle.customer.dealership,
        customer=vehicle.customer,
        vehicle=vehicle,
        number=number,
        kind=kind,
        opened_at=datetime.datetime(day.year, day.month, day.day, 10, tzinfo=SH),
        closed_at=datetime.datetime(day.year, day.month, day.day, 16, tzinfo=SH),
        mileage=mileage,
    )
    MileageReading.objects.create(vehicle=vehicle, read_on=day, mileage=mileage)
    return order


def add_reading(vehicle, day: datetime.date, mileage: int) -> None:
    MileageReading.objects.create(vehicle=vehicle, read_on=day, mileage=mileage)


@pytest.fixture
def scripted(settings):
    """Every channel through ``ScriptedBackend``: records sends, fails on cue."""
    path = "tests.care.backends.ScriptedBackend"
    settings.CRM_MESSAGE_BACKENDS = {"sms": path, "wechat": path, "email": path}
    ScriptedBackend.sent = []
    ScriptedBackend.failures = {}
    return ScriptedBackend
