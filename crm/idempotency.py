"""``Idempotency-Key`` on the API's POSTs, so that a DMS retrying after a
timeout never makes two orders.

- The first POST with a key is handled and its answer stored
  (``crm.IdempotencyRecord``, one per user and key).
- The same key with the same request (method, path, body) again: the stored
  answer, same status and body, with ``Idempotent-Replayed: true``; nothing is
  written twice.
- The same key with another request: 409 with the reason.
- Two requests with one key at the same moment: one is handled, the other
  gets 409 (try again) or, if the first has finished, the replay.

It is on for every API view by default: ``IdempotencyKey`` is the last of
``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]``. A view that sets its own
``permission_classes`` keeps it by listing
``*api_settings.DEFAULT_PERMISSION_CLASSES`` first (tests/api checks every
route). The permission itself lets everything through: it only wraps the
view's POST handler, which runs after every permission and throttle passed.

How the race is settled: the record is inserted (and committed) first; the
unique (user, key) constraint lets one insert win. The handler then runs in
one transaction that holds the record's row lock (``SELECT … FOR UPDATE SKIP
LOCKED``) and stores the answer in the same commit as the writes. A request
that finds the row locked is answered 409; a record left unfinished by a
crash is not locked by anyone and is taken over by the next retry — its
writes were rolled back with it, so nothing is done twice. Only answers
below 400 are kept: after a refusal (4xx) or an error nothing was written,
and the same key may be sent again with a corrected body.
"""

import datetime
import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from crm.models import IdempotencyRecord

# How long an answer is kept for retries: a DMS retries within minutes, a day is ample.
KEEP_FOR = datetime.timedelta(hours=24)
HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = IdempotencyRecord._meta.get_field("key").max_length
PATH_MAX_LENGTH = IdempotencyRecord._meta.get_field("path").max_length


class IdempotencyConflict(exceptions.APIException):
    status_code = 409
    default_code = "idempotency_conflict"
    default_detail = _("This Idempotency-Key was used for another request.")


def request_fingerprint(request) -> str:
    """SHA-256 of the request's body; JSON is compared by content (key order
    and spacing do not matter), anything else byte for byte."""
    try:
        raw = request._request.body
    except RawPostDataException:  # already parsed by someone: use what was read
        raw = JSONRenderer().render(request.data)
    try:
        canonical = json.dumps(json.loads(raw or b"null"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        raw = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        pass
    return hashlib.sha256(raw).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    return Response(record.response, status=record.status_code, headers={REPLAY_HEADER: "true"})


def _check_same_request(record: IdempotencyRecord, request, fingerprint: str) -> None:
    if (record.method, record.path) != (request.method, request.path[:PATH_MAX_LENGTH]):
        raise IdempotencyConflict(
            _("This Idempotency-Key was already used for %(method)s %(path)s; use a new key for each request.")
            % {"method": record.method, "path": record.path}
        )
    if record.body_sha256 != fingerprint:
        raise IdempotencyConflict(
            _("This Idempotency-Key was already used with another body; use a new key for another request.")
        )


def _stored_body(response: Response):
    """The response's data as JSON values (what the replay returns)."""
    data = getattr(response, "data", None)
    return None if data is None else json.loads(JSONRenderer().render(data))


def idempotent(handler, key: str):
    """Wrap a view's POST ``handler`` for one request carrying ``key``."""

    @functools.wraps(handler)
    def wrapper(request, *args, **kwargs):
        fingerprint = request_fingerprint(request)
        user = request.user
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    method=request.method,
                    path=request.path[:PATH_MAX_LENGTH],
                    body_sha256=fingerprint,
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if record is None:  # removed meanwhile by a failed first attempt: start again
                return wrapper(request, *args, **kwargs)
            _check_same_request(record, request, fingerprint)
            if record.status_code is not None:
                return _replay(record)
        try:
            with transaction.atomic():
                claimed = (
                    IdempotencyRecord.objects.select_for_update(skip_locked=True)
                    .filter(pk=record.pk, status_code__isnull=True)
                    .first()
                )
                if claimed is None:
                    current = IdempotencyRecord.objects.filter(pk=record.pk).first()
                    if current is not None and current.status_code is not None:
                        return _replay(current)
                    raise IdempotencyConflict(
                        _("A request with this Idempotency-Key is still being handled; try again in a moment.")
                    )
                response = handler(request, *args, **kwargs)
                if response.status_code < 400:
                    claimed.status_code = response.status_code
                    claimed.response = _stored_body(response)
                    claimed.save(update_fields=["status_code", "response"])
                else:
                    claimed.delete()
                return response
        except IdempotencyConflict:
            raise
        except Exception:
            # Refused or failed: nothing was written; the key may be used again.
            IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()
            raise

    return wrapper


class IdempotencyKey(BasePermission):
    """Turns on ``Idempotency-Key`` for a view's POSTs (see the module's doc).
    A key that is empty or longer than 100 characters is a 400."""

    def has_permission(self, request, view):
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.user.is_authenticated:
            return True
        key = key.strip()
        if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
            raise exceptions.ValidationError(
                {HEADER: [_("Give an Idempotency-Key of 1 to %(max)s printable characters.") % {"max": KEY_MAX_LENGTH}]}
            )
        handler = getattr(view, "post", None)
        if handler is not None and not getattr(handler, "idempotent", False):
            wrapped = idempotent(handler, key)
            wrapped.idempotent = True
            # dispatch() looks the handler up after the permissions: this request's view instance gets the wrapper.
            view.post = wrapped
        return True


def idempotency_records_purge(*, now: datetime.datetime | None = None, keep_for: datetime.timedelta = KEEP_FOR) -> int:
    """Delete the answers older than ``keep_for`` (one DELETE, selected by age:
    a second run finds nothing); a key older than that is new again. Returns
    how many were deleted. Meant for a nightly beat entry."""
    cutoff = (now or timezone.now()) - keep_for
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def schema_document_header(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: every POST operation documents
    the optional ``Idempotency-Key`` header (SPECTACULAR_SETTINGS)."""
    parameter = {
        "in": "header",
        "name": HEADER,
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH},
        "description": str(
            _(
                "A key of your choice, new for each request: a retry with the same key and body gets the first "
                "answer again (header Idempotent-Replayed), the same key with another body is a 409."
            )
        ),
    }
    for operations in result.get("paths", {}).values():
        post = operations.get("post")
        if post is not None:
            post.setdefault("parameters", []).append(parameter)
    return result
