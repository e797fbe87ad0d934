import factory

from customers.models import Customer
from tests.crm.factories import DealershipFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    dealership = factory.SubFactory(DealershipFactory)
    name = factory.Sequence(lambda n: f"张{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    gender = Customer.Gender.MALE
    city = "上海"
