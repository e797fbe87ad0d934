from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "care"
    verbose_name = _("Care")

    def ready(self) -> None:
        import care.generators.appointment_no_show  # noqa: F401  (connects the appointment_arrived receiver)
        from care.panels import register_panels

        register_panels()
