"""What other apps may react to: care sends the acknowledgement SMS of a case
from the public form and calls the customer after a case closes. Complaints
does not know care (care sits above it); it only announces. Sent inside the
transaction of the change, so a receiver's rows commit or roll back with it."""

from django.dispatch import Signal

# kwargs: complaint, by, now (when it happened: a replayed history passes its own)
complaint_opened = Signal()
# kwargs: complaint, by, now
complaint_closed = Signal()
# kwargs: complaint, by, reason, now
complaint_reopened = Signal()
