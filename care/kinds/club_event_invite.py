"""Club event invitations by SMS (会员活动邀请): a manager invites members to
an event (``loyalty.events_services.event_invite`` announces
``loyalty.signals.club_event_invitations``) and care sends the message to
those of the chosen customers who agreed to marketing messages and did not
opt out, with the event (``{item}``: its title and time) and the customer's
own registration link (``{event_link}``).

Marketing: the consent is checked when the touches are made, again when the
message is queued and when it is sent (``care.messaging.services``). Nothing
is due in the morning run: who is invited is the manager's choice, made once
(``care.engine.receivers.club_invitations_send``), one touch per customer
and event (occasion ``club-event:<event id>``), so inviting again sends
nothing twice.
"""

from django.db.models import CharField, DateField, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from care.kinds.base import Run
from care.registry import KindSpec, register
from loyalty.events_services import event_invite_link
from loyalty.models import ClubEvent

PREFIX = "club-event"


def event_occasion(event: ClubEvent | int) -> str:
    return f"{PREFIX}:{event if isinstance(event, int) else event.pk}"


def _rows(run: Run, customers):
    return customers.annotate(
        t_event=Value(run.day, output_field=DateField()),
        t_occasion=Value("", output_field=CharField()),
    )


def generate(run: Run):
    """The morning run finds nothing to do: invitations are made when sent."""
    return _rows(run, run.customers().filter(pk__in=[]))


def invitees(run: Run, *, event: ClubEvent, customer_ids: list[int]):
    """The rows of the invitations to ``event``: the chosen customers of the
    run's store who agreed to marketing messages (``Run.customers`` leaves
    out the inactive and the opted-out), due today."""
    when = timezone.localtime(event.starts_at)
    subject = _("%(title)s (%(when)s)") % {"title": event.title, "when": when.strftime("%Y-%m-%d %H:%M")}
    customers = run.customers().filter(pk__in=customer_ids, marketing_consent=True)
    return customers.annotate(
        t_event=Value(run.day, output_field=DateField()),
        t_occasion=Value(event_occasion(event), output_field=CharField()),
        t_subject=Value(subject[:200], output_field=CharField()),
    )


def link_context(touches: list) -> dict[int, dict]:
    """Each customer's own registration link (signed, no query)."""
    found = {}
    for touch in touches:
        prefix, _sep, rest = touch.occasion.partition(":")
        digits = "".join(ch for ch in rest.split(":")[0] if ch.isdigit()) if prefix == PREFIX else ""
        if digits:
            found[touch.pk] = {"event_link": event_invite_link(int(digits), touch.customer_id)}
    return found


DEFAULT_RULES = (
    {
        "name": "会员活动邀请短信",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 1,
        "message_template": "【{dealership}】{name}{title}，诚邀您参加本店会员活动：{item}。报名请点击：{event_link}",
        "priority": 40,
    },
)

SPEC = register(
    KindSpec(
        kind="club_event_invite",
        label=gettext_lazy("Club: event invitation"),
        marketing=True,
        generate=generate,
        context=link_context,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
