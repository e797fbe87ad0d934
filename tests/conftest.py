import pytest
from django.conf import settings
from django.utils import translation

from tests.crm.factories import DealershipFactory, GroupAdminFactory, ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a request with another
    Accept-Language (the API tests ask in English) leaves its language active
    in the thread, and the next test would read translated names in it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def dealership(db):
    return DealershipFactory(code="pudong", name="浦东4S店")


@pytest.fixture
def other_dealership(db):
    return DealershipFactory(code="minhang", name="闵行4S店")


@pytest.fixture
def advisor(dealership):
    return UserFactory(username="advisor", dealership=dealership)


@pytest.fixture
def manager(dealership):
    return ManagerFactory(username="manager", dealership=dealership)


@pytest.fixture
def other_manager(other_dealership):
    return ManagerFactory(username="other_manager", dealership=other_dealership)


@pytest.fixture
def group_admin(db):
    return GroupAdminFactory(username="groupadmin")


@pytest.fixture
def customer(dealership, advisor):
    return CustomerFactory(dealership=dealership, advisor=advisor, name="李雷", phone="13912345678")


@pytest.fixture
def vehicle(customer):
    return VehicleFactory(customer=customer, plate_number="沪AD12345")
