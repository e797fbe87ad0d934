from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_defaults(sender, **kwargs) -> None:
    from loyalty.services import loyalty_defaults_install

    loyalty_defaults_install()


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Membership club")

    def ready(self) -> None:
        from loyalty import merge_receivers  # noqa: F401  (customers' merge hook)
        from loyalty.hooks import register_hooks
        from loyalty.panels import register_panels

        register_panels()
        register_hooks()
        # The group's policy and its benefits (defaults in loyalty.models) on
        # migrate; admins edit them after.
        post_migrate.connect(_install_defaults, sender=self, dispatch_uid="loyalty-defaults")
