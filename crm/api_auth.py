"""How integrations call the API: per-integration tokens (crm.ApiToken).

- ``ApiTokenAuthentication``: ``Authorization: Bearer <key>``; an unknown,
  revoked or expired key is a 401 with its reason. The request acts as the
  token's service account, so crm.tenancy scopes it like a person of the
  token's store (another store's row is a 404).
- ``ApiTokenWritePermission``: a read-only token may only read (403). It
  changes nothing for session users. The authentication refuses the same
  writes too, for views that list their own ``permission_classes``.
- ``ApiTokenRateThrottle`` (per token, ``CRM_API_TOKEN_RATE``) and
  ``ApiAnonRateThrottle`` (per client address, ``CRM_API_ANON_RATE``), which
  also counts failed token attempts, so keys cannot be guessed at speed.

Session authentication stays for the browsable API and the pages' own calls.
"""

import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from crm.models import ApiToken
from crm.services import api_key_hash

KEYWORD = "Bearer"
# last_used_at is written at most this often per token: one UPDATE a minute,
# not one per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            self._failed(request, _("Invalid Authorization header: give “Bearer”, one space and the key."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            self._failed(request, _("Invalid API token: a key has only letters and digits."))
        token = ApiToken.objects.select_related("user", "user__dealership").filter(key_hash=api_key_hash(key)).first()
        now = timezone.now()
        if token is None:
            self._failed(request, _("Unknown API token."))
        if token.revoked_at is not None:
            self._failed(request, _("This API token has been revoked."))
        if token.is_expired(now):
            self._failed(
                request,
                _("This API token expired on %(when)s.")
                % {"when": date_format(timezone.localtime(token.expires_at), "DATETIME_FORMAT")},
            )
        if not token.user.is_active:
            self._failed(request, _("This API token's account is disabled."))
        self._touch(token, now)
        if request.method not in SAFE_METHODS and not token.can_write:
            # ApiTokenWritePermission says the same; refused here as well, so
            # that a view listing its own permission_classes cannot forget it.
            raise exceptions.PermissionDenied(ApiTokenWritePermission.message)
        return token.user, token

    def authenticate_header(self, request):
        # Only a request that tried a token is told to use one: a browser
        # without a session keeps DRF's 403, as before tokens existed.
        header = get_authorization_header(request).split()
        if header and header[0].lower() == KEYWORD.lower().encode():
            return f'{KEYWORD} realm="api"'
        return None

    @staticmethod
    def _failed(request, reason):
        throttle = ApiAnonRateThrottle()
        if not throttle.count_failure(request):
            raise exceptions.Throttled(throttle.wait())
        raise exceptions.AuthenticationFailed(reason)

    @staticmethod
    def _touch(token: ApiToken, now: datetime.datetime) -> None:
        if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
            return
        # Conditional, so that two requests in the same second write once.
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=token.pk
        ).update(last_used_at=now)
        token.last_used_at = now


class ApiTokenWritePermission(BasePermission):
    """Read-only tokens read; a write is refused with its reason. Session
    users and read-write tokens pass (their roles decide further on)."""

    message = _("This API token is read-only: ask an administrator for a read-write token to change data.")

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken) or request.method in SAFE_METHODS:
            return True
        return token.can_write


class ApiTokenRateThrottle(SimpleRateThrottle):
    """Requests per token (``CRM_API_TOKEN_RATE``, e.g. "600/min"); sessions are not counted here."""

    scope = "api_token"

    def get_rate(self):
        return settings.CRM_API_TOKEN_RATE

    def get_cache_key(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        # The prefix, not the pk: a test database reuses pks, never random prefixes.
        return self.cache_format % {"scope": self.scope, "ident": token.prefix}


class ApiAnonRateThrottle(AnonRateThrottle):
    """Requests per client address without a session or a token, and failed
    token attempts from the address (``CRM_API_ANON_RATE``, e.g. "60/min")."""

    scope = "api_anon"

    def get_rate(self):
        return settings.CRM_API_ANON_RATE

    def count_failure(self, request) -> bool:
        """Record a failed token attempt; False once the address is over its rate."""
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return False
        return self.throttle_success()


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The token in the OpenAPI schema (drf-spectacular finds it by class)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(_("A per-integration API token, issued in the admin: “Authorization: Bearer <key>”.")),
        }
