import factory

from crm.models import Dealership, User


class DealershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dealership
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"store{n}")
    name = factory.Sequence(lambda n: f"上海{n}号4S店")
    city = "上海"
    booking_phone = "021-61234567"
    rescue_phone = "400-820-1234"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    last_name = "王"
    first_name = factory.Sequence(lambda n: f"顾问{n}")
    role = User.Role.ADVISOR
    dealership = factory.SubFactory(DealershipFactory)
    phone = "13800138000"
    password = factory.django.Password("pass-1234")


class ManagerFactory(UserFactory):
    role = User.Role.MANAGER
    is_staff = True


class GroupAdminFactory(UserFactory):
    role = User.Role.ADMIN
    dealership = None
    is_staff = True
    is_superuser = True
