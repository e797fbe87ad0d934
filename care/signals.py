"""What care announces to the apps above it (analytics): care never imports
them; they connect receivers in their ``AppConfig.ready``.

Sent inside the transaction of the change, so what a receiver writes commits
or rolls back with it.
"""

from django.dispatch import Signal

# Which survey a call answered, by the values of ``analytics.Survey.Kind``
# (care cannot import it; the receiver maps these onto it and refuses others).
POST_SERVICE = "post_service"
LAPSED = "lapsed"

# A call's survey questions were answered (``care.workspace.services.care_call_log``):
# on a post-repair day-3 call the satisfaction (CSAT, 1–5) and the recommend
# question (NPS, 0–10), on a win-back call the recommend question, each with
# the customer's comment. Keyword arguments:
#   contact  the ``care.Contact`` the call was logged as
#   tasks    the call's touches (``CareTask`` list, the merged reasons)
#   survey   POST_SERVICE (a post-repair reason on the call) or LAPSED (a win-back one)
#   csat     int 1–5 or None; nps: int 0–10 or None (at least one of them is given)
#   comment  the customer's words ("" when none)
#   by       the user who made the call
#   now      when the call was logged
call_survey_answered = Signal()
