"""SLA policies and clocks of a case, in the store's business time (crm.business_time)."""

import dataclasses
import datetime
import itertools

from complaints.models import (
    DEFAULT_POLICIES,
    DEFAULT_WARN_PERCENT,
    Complaint,
    ComplaintEvent,
    ComplaintPolicy,
)
from crm.business_time import BusinessHours, add_business_minutes
from crm.models import User

Status = Complaint.Status

# The closed loop, in order; a reopened case is investigated again.
STEPS = [
    Status.RECEIVED,
    Status.RECORDED,
    Status.INVESTIGATED,
    Status.CAUSE_FOUND,
    Status.REMEDY_DECIDED,
    Status.CUSTOMER_NOTIFIED,
    Status.CARRIED_OUT,
    Status.FOLLOWED_UP,
    Status.CLOSED,
]
ALLOWED: dict[str, frozenset[str]] = {
    **{step: frozenset({after}) for step, after in itertools.pairwise(STEPS)},
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset({Status.INVESTIGATED}),
}

# What each step records on the case: {target status: {field: required}}.
STEP_DATA: dict[str, dict[str, bool]] = {
    Status.INVESTIGATED: {"findings": True},
    Status.CAUSE_FOUND: {"cause": True},
    Status.REMEDY_DECIDED: {"remedy": True, "goodwill_cost": False},
    Status.CUSTOMER_NOTIFIED: {"customer_agreed": True, "customer_answer": False},
    Status.CARRIED_OUT: {"action_taken": True},
    Status.FOLLOWED_UP: {"follow_up": True},
}
# Serious cases are done only with a lesson learned (what changes in the process).
NEEDS_LESSON = frozenset({Complaint.Severity.MAJOR, Complaint.Severity.URGENT})
REOPEN_DAYS = 30


REOPENS_BEFORE_MANAGER = 2
Severity = Complaint.Severity
SlaState = Complaint.SlaState


# --- SLA policies and clocks ---------------------------------------------------
def complaint_default_policies_install() -> int:
    """A policy row per severity that has none (post_migrate): the defaults live
    in DEFAULT_POLICIES, admins edit the rows after. Returns how many were made."""
    existing = set(ComplaintPolicy.objects.values_list("severity", flat=True))
    missing = [
        ComplaintPolicy(severity=sev, **values) for sev, values in DEFAULT_POLICIES.items() if sev not in existing
    ]
    ComplaintPolicy.objects.bulk_create(missing)
    return len(missing)


@dataclasses.dataclass(frozen=True)
class Clocks:
    """What one severity allows, in business minutes."""

    acknowledge: int
    first_contact: int
    resolution: int
    warn_percent: int

    def warn(self, minutes: int) -> int:
        """Minutes into a clock of ``minutes`` after which it is due soon."""
        return minutes - minutes * self.warn_percent // 100


def clocks_for(severity: str, hours: BusinessHours) -> Clocks:
    """The severity's SLA in business minutes of the store (one query)."""
    policy = ComplaintPolicy.objects.filter(severity=severity).first()
    values = (
        {
            "acknowledge_hours": policy.acknowledge_hours,
            "first_contact_days": policy.first_contact_days,
            "resolution_days": policy.resolution_days,
            "warn_percent": policy.warn_percent,
        }
        if policy
        else {**DEFAULT_POLICIES[severity], "warn_percent": DEFAULT_WARN_PERCENT}
    )
    return Clocks(
        acknowledge=values["acknowledge_hours"] * 60,
        first_contact=values["first_contact_days"] * hours.day_minutes,
        resolution=values["resolution_days"] * hours.day_minutes,
        warn_percent=values["warn_percent"],
    )


def _start_clocks(case: Complaint, hours: BusinessHours, start: datetime.datetime, *, response: bool) -> None:
    """Set the due and due-soon times of the case's clocks from ``start``."""
    clocks = clocks_for(case.severity, hours)

    def at(minutes: int) -> datetime.datetime:
        return add_business_minutes(hours, start, minutes)

    if response:
        case.acknowledge_due, case.acknowledge_warn_at = at(clocks.acknowledge), at(clocks.warn(clocks.acknowledge))
        case.first_contact_due = at(clocks.first_contact)
        case.first_contact_warn_at = at(clocks.warn(clocks.first_contact))
    case.resolution_due, case.resolution_warn_at = at(clocks.resolution), at(clocks.warn(clocks.resolution))


def _event(case: Complaint, action: str, by: User | None, at: datetime.datetime, note: str = "", **data):
    return ComplaintEvent(
        complaint=case,
        from_status=case.status,
        to_status=case.status,
        action=action,
        by=by,
        note=note,
        data={k: str(v) for k, v in data.items()},
        at=at,
    )
