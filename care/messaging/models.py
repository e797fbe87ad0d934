"""Messages: the outbox and each store's sending settings."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from care.registry import kind_choices
from care.touches.models import CareTask, Channel
from crm.models import Dealership
from customers.models import Customer


class Outbox(models.Model):
    """One message to one customer, from queueing to the gateway's last word.

    A touch has at most one message (unique ``task``), and a message is claimed
    by one sender before it is sent, so it never goes out twice.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")

    class Purpose(models.TextChoices):
        SERVICE = "service", _("Service reminder")
        MARKETING = "marketing", _("Marketing")

    class Reason(models.TextChoices):
        NO_CONSENT = "no_consent", _("No marketing consent")
        OPTED_OUT = "opted_out", _("Customer turned this care off")
        FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")
        NO_ADDRESS = "no_address", _("No valid number or address")
        CUSTOMER_INACTIVE = "inactive", _("Customer not active")
        TOUCH_CLOSED = "touch_closed", _("Touch closed before sending")
        EXPIRED = "expired", _("Too late to send")

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="outbox_messages"
    )
    task = models.OneToOneField(
        CareTask,
        verbose_name=_("care task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="message",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=kind_choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("to"), max_length=254, blank=True)
    template_key = models.CharField(
        _("template"), max_length=60, help_text=_("Which of our templates: the rule's kind and number.")
    )
    template_code = models.CharField(_("gateway template code"), max_length=60, blank=True)
    params = models.JSONField(
        _("template parameters"), default=list, blank=True, help_text=_("[name, value] pairs, in order.")
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    suppression_reason = models.CharField(_("suppressed because"), max_length=16, choices=Reason.choices, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=50)
    send_after = models.DateTimeField(_("not before"))
    expires_at = models.DateTimeField(_("send by"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    backend = models.CharField(_("sent through"), max_length=30, blank=True)
    gateway_message_id = models.CharField(_("gateway message id"), max_length=100, blank=True)
    error_code = models.CharField(_("error code"), max_length=60, blank=True)
    error_message = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "send_after"], name="outbox_due"),
            models.Index(fields=["customer", "created_at"], name="outbox_customer_time"),
            models.Index(fields=["customer", "purpose", "sent_at"], name="outbox_customer_sent"),
            models.Index(fields=["gateway_message_id"], name="outbox_gateway_id"),
            models.Index(fields=["dealership", "created_at"], name="outbox_store_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="suppressed", suppression_reason__gt="")
                | (~Q(status="suppressed") & Q(suppression_reason="")),
                name="outbox_suppressed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} → {self.recipient}"


class MessagingProfile(models.Model):
    """A dealership's sending settings: its approved SMS signature and its e-mail sender."""

    dealership = models.OneToOneField(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="messaging_profile"
    )
    sms_sign_name = models.CharField(
        _("SMS signature"), max_length=30, blank=True, help_text=_("As approved at the gateway, without 【】.")
    )
    email_from = models.EmailField(_("e-mail sender"), blank=True)
    paused = models.BooleanField(
        _("sending paused"), default=False, help_text=_("Queued messages wait while paused; nothing is lost.")
    )

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("messaging settings")
        verbose_name_plural = _("messaging settings")

    def __str__(self) -> str:
        return str(self.dealership)
