from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers.duplicate_views import register_panels

        # The merges a customer took part in, on the 360 page (managers).
        register_panels()
