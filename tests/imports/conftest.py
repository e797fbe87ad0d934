import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.celery import app as celery_app
from tests.imports.samples import EXISTING_VIN
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def eager_tasks():
    """The import task runs in the test's process when its transaction commits
    (``django_capture_on_commit_callbacks(execute=True)``): nothing is left on
    the broker for another run's worker. tests/browser/test_import.py runs it
    in a real worker instead."""
    before = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


@pytest.fixture
def catalogue(db):
    return [
        VehicleModelFactory(brand="大众", name="帕萨特", warranty_months=36, warranty_km=100000),
        VehicleModelFactory(brand="大众", name="途观L", warranty_months=48, warranty_km=120000),
    ]


@pytest.fixture
def existing_car(customer, catalogue):
    """李雷 (13912345678, 上海, the store's customer) and her car of the sample files."""
    return VehicleFactory(customer=customer, vin=EXISTING_VIN, plate_number="沪AD12345", model=catalogue[0])


def upload_of(path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())
