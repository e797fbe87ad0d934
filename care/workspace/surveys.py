"""The surveys asked on a call.

- The win-back survey (seed 003 §2B): on a win-back call the advisor asks why
  the customer stopped coming, whether the car was repaired elsewhere, what,
  where and why there; the answers are stored as data for churn analysis.
- The satisfaction survey (issue 13): a post-repair day-3 call asks the
  customer's satisfaction (CSAT 1–5, the ``satisfaction`` detail) and how
  likely they are to recommend the store (NPS 0–10, ``nps``), with their
  comment (``comment``); a win-back call asks the recommend question. The
  answers stay on the contact's details and are announced
  (``care.signals.call_survey_answered``) for analytics, which records them
  as survey responses: care does not know analytics.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from care.registry import CareKind
from care.signals import LAPSED, POST_SERVICE, call_survey_answered
from care.touches.models import CareTask
from care.winback.models import WinbackReason
from care.workspace.models import Contact, OutcomeCode, WinbackSurvey

# The call outcome whose whole point is the survey: logging it needs answers.
SURVEY_OUTCOME = "winback_surveyed"
_TEXT_FIELDS = ("what", "where", "why_there", "other")


def winback_survey_has_answers(data: dict) -> bool:
    """Whether the advisor filled in anything of the survey."""
    return bool(
        data.get("reasons")
        or data.get("repaired_elsewhere") is not None
        or any(str(data.get(key) or "").strip() for key in _TEXT_FIELDS)
    )


def winback_survey_wanted(*, code: OutcomeCode, data: dict) -> bool:
    """Whether a win-back call's survey is to be recorded: when it was answered,
    or when the outcome says it was (and so must not be left empty)."""
    return code.code == SURVEY_OUTCOME or winback_survey_has_answers(data)


def winback_survey_record(*, contact: Contact, data: dict) -> WinbackSurvey:
    """Store the survey answers of the call logged as ``contact``.

    ``data``: ``reasons`` (codes of WinbackReason), ``repaired_elsewhere``
    (True, False or None for unknown), ``what``, ``where``, ``why_there``,
    ``other``. Call it inside the transaction that logged the contact, so that
    a refused survey also undoes the contact. Raises ValidationError by field.
    """
    errors: dict[str, list[str]] = {}
    reasons = data.get("reasons") or []
    if not isinstance(reasons, list | tuple) or not all(isinstance(r, str) for r in reasons):
        raise ValidationError({"reasons": [_("A list of reasons is expected.")]})
    unknown = sorted(set(reasons) - set(WinbackReason.values))
    if unknown:
        errors["reasons"] = [_("Unknown reasons: %(codes)s.") % {"codes": ", ".join(unknown)}]
    repaired = data.get("repaired_elsewhere")
    if repaired not in (True, False, None):
        errors["repaired_elsewhere"] = [_("Answer yes, no, or leave it unknown.")]
    texts = {key: str(data.get(key) or "").strip() for key in _TEXT_FIELDS}
    if not reasons and repaired is None:
        errors.setdefault("reasons", [_("Choose at least one reason, or say whether the car was repaired elsewhere.")])
    if WinbackReason.OTHER in reasons and not texts["other"]:
        errors["other"] = [_("Say what the other reason is.")]
    if not contact.reached:
        errors["__all__"] = [_("The customer was not reached: leave the survey empty.")]
    if errors:
        raise ValidationError(errors)
    survey = WinbackSurvey(
        contact=contact,
        customer_id=contact.customer_id,
        dealership_id=contact.dealership_id,
        # In the order of the survey, each once.
        reasons=[code for code in WinbackReason.values if code in reasons],
        repaired_elsewhere=repaired,
        created_at=contact.created_at,
        **texts,
    )
    # ``reasons`` may rightly be empty when ``repaired_elsewhere`` answers the question.
    survey.full_clean(exclude=["reasons"])
    survey.save()
    return survey


# --- The satisfaction survey on a call -------------------------------------------------------


def call_survey(kinds) -> str:
    """Which survey a call with touches of ``kinds`` asks: the after-service one
    on a post-repair call, the lapsed customers' recommend question on a
    win-back call, or none ("")."""
    kinds = set(kinds)
    if CareKind.POST_REPAIR_DAY3 in kinds:
        return POST_SERVICE
    if CareKind.WINBACK in kinds:
        return LAPSED
    return ""


def call_survey_errors(*, code: OutcomeCode, details: dict) -> dict[str, list[str]]:
    """What is wrong with the recommend answer and the comment given with ``code``."""
    errors: dict[str, list[str]] = {}
    nps = details.get("nps")
    if nps not in (None, ""):
        try:
            value = int(str(nps).strip())
        except ValueError:
            value = -1
        if not 0 <= value <= 10:
            errors["nps"] = [_("Enter a score from 0 to 10.")]
    answered = any(str(details.get(key) or "").strip() for key in ("nps", "comment"))
    if answered and not code.reached:
        errors.setdefault("nps", [_("The customer was not reached: leave the survey empty.")])
    return errors


def call_survey_announce(*, group: list[CareTask], contact: Contact, by, now: datetime.datetime) -> bool:
    """Announce the survey answers of the call logged as ``contact`` (its
    ``details``: ``satisfaction``, ``nps``, ``comment``), when the call asks a
    survey and the customer answered a score; returns whether it did. The
    lapsed customers' survey has no satisfaction question. Runs in the
    transaction that logged the call."""
    survey = call_survey(t.kind for t in group)
    details = contact.details or {}
    csat = details.get("satisfaction") if survey == POST_SERVICE else None
    nps = details.get("nps")
    if not survey or not contact.reached or (csat is None and nps is None):
        return False
    call_survey_answered.send(
        sender=Contact,
        contact=contact,
        tasks=group,
        survey=survey,
        csat=csat,
        nps=nps,
        comment=str(details.get("comment") or "").strip(),
        by=by,
        now=now,
    )
    return True
