from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_default_rules(sender, **kwargs) -> None:
    from care.touches.services import care_default_rules_install

    care_default_rules_install()


class CareConfig(AppConfig):
    name = "care"
    verbose_name = _("Care")

    def ready(self) -> None:
        import care.kinds.appointment_no_show  # noqa: F401  (connects the appointment_arrived receiver)
        from care import merge_receivers  # noqa: F401  (customers' merge and erasure hooks)
        from care.engine import receivers
        from care.panels import register_panels
        from complaints import signals as complaint_signals
        from loyalty import signals as club_signals

        register_panels()
        # The kinds' specs hold their default rules: a fresh install, or a new
        # kind's module, gets them on migrate (dispatch_uid: once per process).
        post_migrate.connect(_install_default_rules, sender=self, dispatch_uid="care-default-rules")
        # Complaints announces, care answers (care sits above complaints).
        complaint_signals.complaint_closed.connect(receivers.verification_call_make, dispatch_uid="care-verification")
        complaint_signals.complaint_reopened.connect(
            receivers.verification_call_cancel, dispatch_uid="care-verification-cancel"
        )
        complaint_signals.complaint_opened.connect(receivers.receipt_send, dispatch_uid="care-complaint-receipt")
        # The club announces, care answers (care sits above loyalty).
        club_signals.card_started.connect(receivers.welcome_send, dispatch_uid="care-club-welcome")
        club_signals.referral_rewarded.connect(receivers.referral_thanks_make, dispatch_uid="care-club-thanks")
        club_signals.club_event_invitations.connect(
            receivers.club_invitations_send, dispatch_uid="care-club-invitations"
        )
