from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from analytics import (
            privacy_receivers,  # noqa: F401  (customers' erasure hook)
            receivers,
        )
        from care import signals as care_signals

        # Care announces a call's survey answers; analytics records them (analytics sits above care).
        care_signals.call_survey_answered.connect(receivers.call_survey_record, dispatch_uid="analytics-call-survey")
