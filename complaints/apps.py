from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_default_policies(sender, **kwargs) -> None:
    from complaints.services import complaint_default_policies_install

    complaint_default_policies_install()


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        from complaints import privacy_receivers  # noqa: F401  (customers' erasure hooks)
        from complaints.panels import register_panels

        # The "open complaint" badge and past cases on the customer's page.
        register_panels()
        # The SLA defaults live in complaints.models.DEFAULT_POLICIES; a fresh
        # install gets a row per severity on migrate, admins edit them after.
        post_migrate.connect(_install_default_policies, sender=self, dispatch_uid="complaints-default-policies")
