"""The outbox: message touches become queued messages, pass the consent and
pressure checks, and go out through their channel's backend.

Claiming is the only thing that makes a message "ours": a short transaction
moves queued rows to ``sending`` (``SKIP LOCKED`` on PostgreSQL; SQLite has one
writer at a time), so two senders at once never send one message twice. The
retry state lives in the row itself (``attempts``, ``send_after``), not in
Celery, so a gateway outage only delays messages.
"""

import dataclasses
import datetime
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from care.messaging.base import MessageBackend, OutgoingMessage, PermanentError, SendResult, TemporaryError, get_backend
from care.messaging.models import MessagingProfile, Outbox
from care.registry import marketing_kinds
from care.templating import render, template_fields
from care.touches.models import CareOptOut, CareTask, CareTaskEvent, Channel
from care.touches.selectors import care_task_context, care_tasks_kind_context
from care.touches.services import care_tasks_transition
from crm.validators import MOBILE_RE
from customers.models import ConsentChange, Customer
from customers.services import customer_consent_set

logger = logging.getLogger(__name__)

MESSAGE_CHANNELS = (Channel.SMS, Channel.WECHAT, Channel.EMAIL)
# A claim older than this belongs to a sender that died; its rows go back to the queue.
STALE_CLAIM = datetime.timedelta(minutes=10)
_ENQUEUE_CHUNK = 2000


# --- Quiet hours ------------------------------------------------------------------


def _clock(value: str) -> datetime.time:
    return datetime.time.fromisoformat(value)


def quiet_hours_release(moment: datetime.datetime) -> datetime.datetime:
    """The earliest time at or after ``moment`` when a message may go out:
    ``moment`` itself outside quiet hours, else the end of the quiet hours
    (local time; the window may run across midnight, 21:00–08:00)."""
    start, end = _clock(settings.CRM_MESSAGE_QUIET_START), _clock(settings.CRM_MESSAGE_QUIET_END)
    if start == end:
        return moment
    local = timezone.localtime(moment)
    now, today = local.time(), local.date()

    def at(day: datetime.date) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(day, end), local.tzinfo)

    if start > end:  # across midnight
        if now >= start:
            return at(today + datetime.timedelta(days=1))
        if now < end:
            return at(today)
        return moment
    return at(today) if start <= now < end else moment


def _send_by(day: datetime.date) -> datetime.datetime:
    """A message for a touch that expires on ``day`` is pointless after that
    day's quiet hours begin (a birthday greeting the next morning is worse than none)."""
    start, end = _clock(settings.CRM_MESSAGE_QUIET_START), _clock(settings.CRM_MESSAGE_QUIET_END)
    last = start if start > end else datetime.time(23, 59, 59)
    return timezone.make_aware(datetime.datetime.combine(day, last))


# --- Queueing ---------------------------------------------------------------------


def outbox_purpose(kind: str) -> str:
    return Outbox.Purpose.MARKETING if kind in marketing_kinds() else Outbox.Purpose.SERVICE


def _template_params(template: str, context: dict) -> list[list[str]]:
    """The gateway template's variables: our placeholders, each once, in order."""
    names = list(dict.fromkeys(template_fields(template)))
    return [[name, "" if context.get(name) is None else str(context[name])] for name in names]


def _recipient(customer: Customer, channel: str) -> str:
    return customer.email if channel == Channel.EMAIL else customer.phone


def _valid_recipient(channel: str, recipient: str) -> bool:
    if channel == Channel.EMAIL:
        return "@" in recipient
    return bool(MOBILE_RE.fullmatch(recipient or ""))


def _opt_outs(customer_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set[tuple[str, str]]] = {}
    for customer_id, kind, channel in CareOptOut.objects.filter(customer_id__in=customer_ids).values_list(
        "customer_id", "kind", "channel"
    ):
        found.setdefault(customer_id, set()).add((kind, channel))
    return found


def _is_opted_out(opt_outs: set[tuple[str, str]], kind: str, channel: str) -> bool:
    return any(k in (kind, "") and c in (channel, "") for k, c in opt_outs)


def _reason_at_queueing(task: CareTask, recipient: str, opt_outs: set) -> str:
    customer = task.customer
    if customer.status != Customer.Status.ACTIVE:
        return Outbox.Reason.CUSTOMER_INACTIVE
    if task.kind in marketing_kinds() and not customer.marketing_consent:
        return Outbox.Reason.NO_CONSENT
    if _is_opted_out(opt_outs, task.kind, task.channel):
        return Outbox.Reason.OPTED_OUT
    if not _valid_recipient(task.channel, recipient):
        return Outbox.Reason.NO_ADDRESS
    return ""


def _message_for(task: CareTask, opt_outs: set, now: datetime.datetime) -> Outbox:
    rule, customer = task.rule, task.customer
    context = care_task_context(task)
    recipient = _recipient(customer, task.channel)
    reason = _reason_at_queueing(task, recipient, opt_outs)
    message = Outbox(
        dealership_id=task.dealership_id,
        customer=customer,
        task=task,
        kind=task.kind,
        purpose=outbox_purpose(task.kind),
        channel=task.channel,
        recipient=recipient,
        template_key=f"{rule.kind}/{rule.pk}",
        template_code=rule.gateway_template_code,
        params=_template_params(rule.message_template, context),
        subject=rule.name,
        body=render(rule.message_template, context),
        priority=task.priority,
        send_after=quiet_hours_release(now),
        expires_at=_send_by(task.expires_on),
    )
    if reason:
        message.status, message.suppression_reason = Outbox.Status.SUPPRESSED, reason
    elif not message.body.strip():
        message.status, message.error_code = Outbox.Status.FAILED, "empty_template"
        message.error_message = "The rule has no message template."
    return message


def outbox_enqueue(*, now: datetime.datetime | None = None, tasks: QuerySet[CareTask] | None = None) -> int:
    """Queue a message for every open sms/wechat/email touch due by today that
    has none yet (of ``tasks`` only, when given: a touch made by an event that
    should not wait, like a complaint's acknowledgement); returns how many were
    queued (or suppressed at once).

    Each message is rendered for its customer, so this reads the due touches in
    chunks; the unique ``task`` column makes two runs at once harmless."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    pending = (
        CareTask.objects.filter(
            status=CareTask.Status.OPEN, channel__in=MESSAGE_CHANNELS, due_date__lte=day, expires_on__gte=day
        )
        .filter(message__isnull=True)
        .select_related("customer", "vehicle__model", "rule", "assigned_to", "dealership", "complaint")
        .order_by("pk")
    )
    if tasks is not None:
        pending = pending.filter(pk__in=tasks.values("pk"))
    queued, after = 0, 0
    while True:
        tasks = list(pending.filter(pk__gt=after)[:_ENQUEUE_CHUNK])
        if not tasks:
            return queued
        after = tasks[-1].pk
        care_tasks_kind_context(tasks)  # the kinds' own placeholders, per kind for the chunk
        opt_outs = _opt_outs([t.customer_id for t in tasks])
        messages = [_message_for(t, opt_outs.get(t.customer_id, set()), now) for t in tasks]
        Outbox.objects.bulk_create(messages, ignore_conflicts=True)
        queued += len(messages)
        _close_touches(CareTask.objects.filter(pk__in=[t.pk for t in tasks]), now)


def _close_touches(tasks, now: datetime.datetime) -> None:
    """Close message touches whose message reached its end: sent, suppressed or failed."""
    open_tasks = tasks.filter(status=CareTask.Status.OPEN)
    for statuses, status, outcome in (
        ([Outbox.Status.SENT, Outbox.Status.DELIVERED], CareTask.Status.DONE, CareTask.Outcome.SENT),
        ([Outbox.Status.SUPPRESSED], CareTask.Status.CANCELLED, CareTask.Outcome.SUPPRESSED),
        ([Outbox.Status.FAILED], CareTask.Status.CANCELLED, CareTask.Outcome.SEND_FAILED),
    ):
        care_tasks_transition(
            tasks=open_tasks.filter(message__status__in=statuses),
            to=status,
            outcome=outcome,
            job=CareTaskEvent.Job.OUTBOX,
            now=now,
        )


# --- Checks at sending time -----------------------------------------------------------


def _suppress(claimed, condition, reason: str) -> int:
    return (
        Outbox.objects.filter(pk__in=claimed, status=Outbox.Status.SENDING)
        .filter(condition)
        .update(status=Outbox.Status.SUPPRESSED, suppression_reason=reason)
    )


def _check_claimed(claimed: list[int], now: datetime.datetime) -> None:
    """Suppress what may not go out any more; consent and opt-outs are read
    again here because they may have changed while the message waited."""
    marketing = Q(purpose=Outbox.Purpose.MARKETING)
    opted_out = Exists(
        CareOptOut.objects.filter(
            customer=OuterRef("customer"), kind__in=[OuterRef("kind"), ""], channel__in=[OuterRef("channel"), ""]
        )
    )
    _suppress(claimed, ~Q(customer__status=Customer.Status.ACTIVE), Outbox.Reason.CUSTOMER_INACTIVE)
    _suppress(claimed, Q(task__isnull=False) & ~Q(task__status=CareTask.Status.OPEN), Outbox.Reason.TOUCH_CLOSED)
    _suppress(claimed, Q(expires_at__lt=now), Outbox.Reason.EXPIRED)
    _suppress(claimed, marketing & Q(customer__marketing_consent=False), Outbox.Reason.NO_CONSENT)
    _suppress(claimed, Q(opted_out), Outbox.Reason.OPTED_OUT)
    # The cap counts what was sent in the window and what another sender is
    # sending now; of two claimed at once, the older message goes.
    since = now - datetime.timedelta(days=settings.CRM_MARKETING_CAP_DAYS)
    earlier = (
        Outbox.objects.filter(customer=OuterRef("customer"), purpose=Outbox.Purpose.MARKETING)
        .filter(
            Q(status__in=[Outbox.Status.SENT, Outbox.Status.DELIVERED], sent_at__gte=since)
            | Q(status=Outbox.Status.SENDING, pk__lt=OuterRef("pk"))
        )
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    capped = Outbox.objects.filter(pk__in=claimed, status=Outbox.Status.SENDING, purpose=Outbox.Purpose.MARKETING)
    over = list(
        capped.annotate(n=Coalesce(Subquery(earlier), 0))
        .filter(n__gte=settings.CRM_MARKETING_CAP_COUNT)
        .values_list("pk", flat=True)
    )
    if over:
        _suppress(over, Q(), Outbox.Reason.FREQUENCY_CAP)


# --- Sending ----------------------------------------------------------------------------


@dataclasses.dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    suppressed: int = 0
    retrying: int = 0
    failed: int = 0
    batches: int = 0

    def add(self, other: "SendReport") -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def _claim(*, batch_size: int, now: datetime.datetime) -> list[int]:
    """Move up to ``batch_size`` due messages to ``sending``, for this sender only."""
    with transaction.atomic():
        ids = list(
            Outbox.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Outbox.Status.QUEUED, send_after__lte=now)
            .exclude(dealership__messaging_profile__paused=True)
            .order_by("send_after", "-priority", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if ids:
            Outbox.objects.filter(pk__in=ids).update(
                status=Outbox.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
    return ids


def _outgoing(message: Outbox, profiles: dict[int, MessagingProfile]) -> OutgoingMessage:
    profile = profiles.get(message.dealership_id)
    return OutgoingMessage(
        id=message.pk,
        channel=message.channel,
        recipient=message.recipient,
        body=message.body,
        template_code=message.template_code,
        params=tuple((str(name), str(value)) for name, value in message.params),
        sign_name=(profile.sms_sign_name if profile else "") or message.dealership.name,
        subject=message.subject,
        sender=profile.email_from if profile else "",
    )


def _retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff: base, 2×base, 4×base …, at most six hours."""
    seconds = settings.CRM_OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, 6 * 3600))


def _send_one(backend: MessageBackend, outgoing: OutgoingMessage) -> SendResult | Exception:
    try:
        return backend.send(outgoing)
    except (TemporaryError, PermanentError) as exc:
        return exc
    except Exception as exc:  # a backend bug must not lose the batch's other results
        logger.exception("message backend error", extra={"outbox_id": outgoing.id})
        return TemporaryError("backend_error", str(exc)[:200])


def _result_fields(message: Outbox, outcome: SendResult | Exception, backend: MessageBackend, now) -> tuple[str, dict]:
    """The report field one send counts in, and the columns it sets on its row
    (the gateway's message id aside: that one differs on every row)."""
    fields = {"backend": backend.name, "updated_at": now}
    if isinstance(outcome, SendResult):
        status = Outbox.Status.DELIVERED if outcome.delivered else Outbox.Status.SENT
        fields |= {"status": status, "sent_at": now, "delivered_at": now if outcome.delivered else None}
        return "sent", fields | {"error_code": "", "error_message": ""}
    fields |= {"error_code": outcome.code[:60], "error_message": str(outcome.message)[:300]}
    if isinstance(outcome, TemporaryError) and message.attempts < settings.CRM_OUTBOX_MAX_ATTEMPTS:
        retry_at = quiet_hours_release(now + _retry_delay(message.attempts))
        return "retrying", fields | {"status": Outbox.Status.QUEUED, "send_after": retry_at}
    return "failed", fields | {"status": Outbox.Status.FAILED}


def _save_results(groups: dict[tuple, list[int]], gateway_ids: dict[int, str]) -> None:
    """One UPDATE per distinct outcome, and one for the gateway ids.

    Rows that share an outcome share every column but the gateway id, so a
    batch is a handful of statements (``bulk_update`` builds a CASE per row
    and column, which cost more than the sending itself)."""
    for key, pks in groups.items():
        Outbox.objects.filter(pk__in=pks).update(**dict(key))
    if gateway_ids:
        table = connection.ops.quote_name(Outbox._meta.db_table)
        cases = " ".join("WHEN %s THEN %s" for _ in gateway_ids)
        params = [value for pair in gateway_ids.items() for value in pair]
        placeholders = ", ".join("%s" for _ in gateway_ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET gateway_message_id = CASE id {cases} END WHERE id IN ({placeholders})",
                [*params, *gateway_ids],
            )


def _send_claimed(
    claimed: list[int], backends: dict[str, MessageBackend], now: datetime.datetime, pool: ThreadPoolExecutor
) -> SendReport:
    report = SendReport(claimed=len(claimed), batches=1)
    _check_claimed(claimed, now)
    messages = list(
        Outbox.objects.filter(pk__in=claimed, status=Outbox.Status.SENDING).select_related("dealership").order_by("pk")
    )
    report.suppressed = len(claimed) - len(messages)
    profiles = {
        p.dealership_id: p for p in MessagingProfile.objects.filter(dealership__in={m.dealership_id for m in messages})
    }
    for message in messages:
        if message.channel not in backends:
            backends[message.channel] = get_backend(message.channel)
    outcomes = pool.map(lambda m: _send_one(backends[m.channel], _outgoing(m, profiles)), messages)
    finished = now
    groups: dict[tuple, list[int]] = {}
    gateway_ids: dict[int, str] = {}
    for message, outcome in zip(messages, outcomes, strict=True):
        field, columns = _result_fields(message, outcome, backends[message.channel], finished)
        setattr(report, field, getattr(report, field) + 1)
        groups.setdefault(tuple(sorted(columns.items())), []).append(message.pk)
        if isinstance(outcome, SendResult):
            gateway_ids[message.pk] = outcome.gateway_message_id[:100]
    _save_results(groups, gateway_ids)
    _close_touches(CareTask.objects.filter(message__pk__in=claimed), finished)
    return report


def outbox_requeue_stale(*, now: datetime.datetime) -> int:
    """Messages claimed by a sender that died return to the queue.

    A sender that died after the gateway accepted a message but before it
    recorded that will send it again: at-least-once only across a crash."""
    return Outbox.objects.filter(status=Outbox.Status.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        status=Outbox.Status.QUEUED
    )


def outbox_send(
    *, now: datetime.datetime | None = None, max_seconds: float = 50, batch_size: int | None = None
) -> SendReport:
    """Drain the outbox: queue what is due, then claim and send batches until the
    queue is empty, time is up, or a whole batch met only temporary errors (the
    gateway is down: the rest waits for the next run instead of timing out)."""
    fixed_now = now
    batch_size = batch_size or settings.CRM_OUTBOX_BATCH_SIZE
    started = time.monotonic()
    report = SendReport()
    clock = (lambda: fixed_now) if fixed_now else timezone.now
    outbox_requeue_stale(now=clock())
    outbox_enqueue(now=clock())
    backends: dict[str, MessageBackend] = {}
    try:
        with ThreadPoolExecutor(max_workers=max(settings.CRM_OUTBOX_CONCURRENCY, 1)) as pool:
            while time.monotonic() - started < max_seconds:
                moment = clock()
                if quiet_hours_release(moment) != moment:
                    break  # quiet hours, whatever the backend
                claimed = _claim(batch_size=batch_size, now=moment)
                if not claimed:
                    break
                batch = _send_claimed(claimed, backends, moment, pool)
                report.add(batch)
                if batch.retrying and not batch.sent:
                    break
    finally:
        for backend in backends.values():
            backend.close()
    if report.claimed:
        logger.info("outbox sent", extra={"outbox": dataclasses.asdict(report)})
    return report


def outbox_resend(*, messages, now: datetime.datetime | None = None) -> int:
    """Queue failed or suppressed messages again (the checks run again when they go)."""
    now = now or timezone.now()
    return (
        messages.filter(status__in=[Outbox.Status.FAILED, Outbox.Status.SUPPRESSED])
        .exclude(channel=Channel.CALL)
        .update(
            status=Outbox.Status.QUEUED,
            suppression_reason="",
            attempts=0,
            error_code="",
            error_message="",
            send_after=now,
            expires_at=None,
        )
    )


# --- What the gateway tells us back ------------------------------------------------------


def outbox_record_delivery(
    *, gateway_message_id: str, out_id: str = "", delivered: bool, at: datetime.datetime, error: str = ""
) -> int:
    """A delivery report: the handset got the message, or the carrier gave up."""
    match = Q(gateway_message_id=gateway_message_id) if gateway_message_id else Q(pk=-1)
    if out_id.isdigit():
        match |= Q(pk=int(out_id))
    messages = Outbox.objects.filter(match, status__in=[Outbox.Status.SENT, Outbox.Status.DELIVERED])
    if delivered:
        return messages.update(status=Outbox.Status.DELIVERED, delivered_at=at)
    return messages.update(status=Outbox.Status.FAILED, error_code=error[:60] or "undelivered")


# Replies that mean "stop sending me marketing": 退订 anywhere, or a bare
# T / TD / N / STOP (the usual 回T退订 / 回TD退订 footers).
_OPT_OUT_WORDS = {"T", "TD", "N", "QX", "STOP", "UNSUBSCRIBE"}
_NOT_LETTERS = re.compile(r"[\s\W_]+")


def is_opt_out_reply(text: str) -> bool:
    if "退订" in text or "取消订阅" in text:
        return True
    return _NOT_LETTERS.sub("", text).upper() in _OPT_OUT_WORDS


def sms_reply_receive(*, phone: str, text: str, at: datetime.datetime) -> int:
    """A customer's SMS reply; an opt-out withdraws marketing consent from every
    customer record with that number. Returns how many records changed."""
    if not is_opt_out_reply(text):
        return 0
    changed = customer_consent_set(
        customers=Customer.objects.filter(phone=phone),
        granted=False,
        source=ConsentChange.Source.SMS_REPLY,
        at=at,
        detail=text,
    )
    logger.info("sms opt-out", extra={"consent_changed": changed})
    return changed
