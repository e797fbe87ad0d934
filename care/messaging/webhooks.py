"""What the SMS gateway pushes back to us: delivery reports and customers'
replies (an opt-out such as "TD" withdraws marketing consent).

The gateway does not sign its pushes; the URL carries a secret token
(``CRM_SMS_WEBHOOK_TOKEN``). Without a configured token the endpoints do not
exist (404)."""

import hmac
import json
import logging

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from care.messaging.aliyun import parse_delivery_reports, parse_replies
from care.messaging.services import outbox_record_delivery, sms_reply_receive

logger = logging.getLogger(__name__)

# Aliyun's push expects this answer; anything else makes it retry.
_ACCEPTED = {"code": 0, "msg": "成功"}


def _payload(request: HttpRequest, token: str):
    expected = settings.CRM_SMS_WEBHOOK_TOKEN
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Http404
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, list) else None


def _bad_request(reason: str) -> JsonResponse:
    return JsonResponse({"code": 1, "msg": reason}, status=400)


@csrf_exempt
@require_POST
def aliyun_report_view(request: HttpRequest, token: str) -> JsonResponse:
    payload = _payload(request, token)
    if payload is None:
        return _bad_request("expected a JSON array of delivery reports")
    reports, errors = parse_delivery_reports(payload)
    for report in reports:
        outbox_record_delivery(
            gateway_message_id=report.biz_id,
            out_id=report.out_id,
            delivered=report.success,
            at=report.report_time,
            error=report.err_code,
        )
    if errors:
        logger.warning("sms report items skipped", extra={"sms_errors": errors})
    return JsonResponse(_ACCEPTED)


@csrf_exempt
@require_POST
def aliyun_reply_view(request: HttpRequest, token: str) -> JsonResponse:
    payload = _payload(request, token)
    if payload is None:
        return _bad_request("expected a JSON array of replies")
    replies, errors = parse_replies(payload)
    for reply in replies:
        sms_reply_receive(phone=reply.phone_number, text=reply.content, at=reply.send_time)
    if errors:
        logger.warning("sms reply items skipped", extra={"sms_errors": errors})
    return JsonResponse(_ACCEPTED)
