"""The interface every message backend implements.

Chinese SMS gateways send only pre-approved templates with a signature, so a
backend receives the template code and the ordered parameters as well as the
rendered text; a backend picks what its gateway wants.
"""

import dataclasses
import functools

from django.conf import settings
from django.utils.module_loading import import_string


@dataclasses.dataclass(frozen=True)
class OutgoingMessage:
    id: int  # the Outbox row's pk; sent to the gateway as its "out id" where it takes one
    channel: str  # "sms", "wechat" or "email"
    recipient: str  # an 11-digit mainland mobile, or an e-mail address
    body: str  # the rendered text, signature included, for backends that send free text
    template_code: str = ""  # the gateway's approved template code, e.g. "SMS_153055065"
    params: tuple[tuple[str, str], ...] = ()  # the template's parameters in order: (name, value)
    sign_name: str = ""  # the approved SMS signature, e.g. "上海浦东4S店"
    subject: str = ""  # e-mail subject
    sender: str = ""  # e-mail From address


@dataclasses.dataclass(frozen=True)
class SendResult:
    gateway_message_id: str = ""
    delivered: bool = False  # True when the backend knows delivery already (e-mail handed to the server is not that)


class SendError(Exception):
    """A message the backend could not send; ``code`` is the gateway's own code."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class TemporaryError(SendError):
    """Worth trying again later: rate limited, gateway down, time-out."""


class PermanentError(SendError):
    """Will never succeed as it is: invalid number, template not approved."""


class MessageBackend:
    """Sends one message at a time; must be safe to call from several threads at once."""

    name = "base"
    #: False for backends that only record (the message is not delivered to anyone).
    delivers = True

    def send(self, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; the sender calls it at the end of a run."""


@functools.cache
def _backend_class(path: str) -> type[MessageBackend]:
    return import_string(path)


def get_backend(channel: str) -> MessageBackend:
    """A new backend for ``channel`` as configured in ``CRM_MESSAGE_BACKENDS``:
    ``{"sms": "dotted.path.Class", ...}``, with keyword arguments from
    ``CRM_MESSAGE_BACKEND_OPTIONS[<dotted path>]``."""
    path = settings.CRM_MESSAGE_BACKENDS[channel]
    options = settings.CRM_MESSAGE_BACKEND_OPTIONS.get(path, {})
    return _backend_class(path)(**options)
