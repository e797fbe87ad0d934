"""The win-back survey (seed 003 §2B): on a win-back call the advisor asks why
the customer stopped coming, whether the car was repaired elsewhere, what,
where and why there; the answers are stored as data for churn analysis."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

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
