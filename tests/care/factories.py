import factory

from care.models import CareRule


class CareRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareRule

    dealership = None
    kind = "maintenance"
    name = factory.LazyAttribute(lambda o: f"{o.kind} rule")
    channel = "call"
    lead_days = 7
    expiry_days = 14
    message_template = "{name}{title}您好"
    call_script = "{name}{title}您好，您的爱车{plate}"
    target_tiers = "ABCD"
    priority = 50
