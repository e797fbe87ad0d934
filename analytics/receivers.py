"""Analytics' answers to what care announces (``care.signals``): care does not
know analytics, analytics listens. Connected in ``AnalyticsConfig.ready``.

Each receiver runs inside the transaction of the change, so what it writes
commits or rolls back with it."""

from analytics.surveys.services import survey_record_call


def call_survey_record(sender, *, contact, tasks, survey, csat, nps, comment, by, now, **kwargs) -> None:
    """A call's survey answers: a survey asked by call and its response (``survey_record_call``)."""
    survey_record_call(contact=contact, tasks=tasks, survey=survey, csat=csat, nps=nps, comment=comment, by=by, now=now)
