"""Backends that need no gateway: record only, print, or send e-mail through
Django's own mail backend (``EMAIL_BACKEND``)."""

import logging
import sys
import threading

from django.core.mail import EmailMessage

from care.messaging.base import MessageBackend, OutgoingMessage, PermanentError, SendResult

logger = logging.getLogger(__name__)


class OutboxOnlyBackend(MessageBackend):
    """Keeps the message in the outbox as sent, without sending it anywhere
    (demo and staging: the outbox shows exactly what would have gone out)."""

    name = "outbox-only"
    delivers = False

    def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult(gateway_message_id=f"outbox-only:{message.id}")


class ConsoleBackend(MessageBackend):
    """Prints each message on standard output (development)."""

    name = "console"
    delivers = False
    _lock = threading.Lock()

    def __init__(self, stream=None):
        self.stream = stream

    def send(self, message: OutgoingMessage) -> SendResult:
        stream = self.stream or sys.stdout
        params = ", ".join(f"{name}={value}" for name, value in message.params)
        with self._lock:
            stream.write(
                f"[{message.channel} #{message.id}] to {message.recipient}"
                f" template={message.template_code or '-'} ({params})\n{message.body}\n\n"
            )
            stream.flush()
        return SendResult(gateway_message_id=f"console:{message.id}")


class EmailBackend(MessageBackend):
    """Sends the rendered text as a plain e-mail through Django's mail settings."""

    name = "email"

    def send(self, message: OutgoingMessage) -> SendResult:
        if "@" not in message.recipient:
            raise PermanentError("invalid_address", message.recipient)
        email = EmailMessage(
            subject=message.subject, body=message.body, from_email=message.sender or None, to=[message.recipient]
        )
        email.extra_headers["X-CRM-Outbox-Id"] = str(message.id)
        email.send()
        return SendResult(gateway_message_id=email.extra_headers.get("Message-ID", f"email:{message.id}"))
