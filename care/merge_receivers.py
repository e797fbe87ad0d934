"""Care's answers to the customers app's merge and erasure hooks (connected
on import, from ``CareConfig.ready``; customers sits below care and never
imports it).

Merge: a touch is unique per (rule, customer, vehicle, occasion). When both
records have a touch for the same occasion, the kept record's touch stands;
the merged record's twin, if still open, is cancelled as superseded (through
the one status writer), and its occasion gets a suffix so that it can move
with the rest and the customer's history stays whole.

Erasure: the texts of the customer's messages (and their recipients and
parameters), the notes of their calls (their structured details stay), their touches and win-back surveys
are blanked; the rows stay (counts and statistics are kept)."""

from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Concat, Substr
from django.dispatch import receiver
from django.utils.translation import gettext as _

from care.messaging.models import Outbox
from care.touches.models import CareTask
from care.touches.services import care_tasks_transition
from care.workspace.models import Contact, WinbackSurvey
from customers.merge import customer_merging
from customers.privacy import customer_erasing

OCCASION_LENGTH = CareTask._meta.get_field("occasion").max_length


@receiver(customer_merging, dispatch_uid="care-merge-touches")
def touches_merge(sender, *, kept, merged, by, **kwargs) -> dict[str, int]:
    twins = CareTask.objects.filter(customer_id=kept.pk, rule_id=OuterRef("rule_id"), occasion=OuterRef("occasion"))
    clashing = CareTask.objects.filter(customer_id=merged.pk).filter(
        Q(Exists(twins.filter(vehicle__isnull=True)), vehicle__isnull=True)
        | Q(Exists(twins.filter(vehicle_id=OuterRef("vehicle_id"))), vehicle__isnull=False)
    )
    care_tasks_transition(
        tasks=clashing,
        to=CareTask.Status.CANCELLED,
        outcome=CareTask.Outcome.SUPERSEDED,
        by=by,
        reason=_("Customer merged into #%(id)s, who has this touch") % {"id": kept.pk},
    )
    suffix = f"~m{merged.pk}"
    clashing.update(occasion=Concat(Substr(F("occasion"), 1, OCCASION_LENGTH - len(suffix)), Value(suffix)))
    moved = CareTask.objects.filter(customer_id=merged.pk).update(customer_id=kept.pk)
    return {"care.CareTask.customer": moved}


@receiver(customer_erasing, dispatch_uid="care-erase-texts")
def texts_erase(sender, *, customer_ids, by, **kwargs) -> dict[str, int]:
    return {
        "care.Outbox": Outbox.objects.filter(customer_id__in=customer_ids).update(
            body="", subject="", recipient="", params=[]
        ),
        # The details stay: satisfaction, NPS and case numbers, which the statistics read.
        "care.Contact": Contact.objects.filter(customer_id__in=customer_ids).update(notes=""),
        "care.CareTask": CareTask.objects.filter(customer_id__in=customer_ids).update(notes=""),
        "care.WinbackSurvey": WinbackSurvey.objects.filter(customer_id__in=customer_ids).update(
            what="", where="", why_there="", other=""
        ),
    }
