"""What the public pages read: a store by its code, and a case's progress by
its signed token. Nothing personal is read for the status page: the query
loads the case number, the dates and the status, never the customer."""

import dataclasses
import datetime

from django.utils import timezone

from complaints.links import case_id_from_token
from complaints.models import Complaint
from complaints.services import STEPS
from crm.models import Dealership

Status = Complaint.Status


def public_store(*, code: str) -> Dealership | None:
    """The active store with this code (one query), or None."""
    return Dealership.objects.filter(code=code, is_active=True).first()


@dataclasses.dataclass(frozen=True)
class Step:
    label: str
    reached: bool
    current: bool


@dataclasses.dataclass(frozen=True)
class PublicStatus:
    number: str
    received_on: datetime.date
    steps: list[Step]
    closed: bool


def _steps(status: str, reopen_count: int) -> list[Step]:
    """The loop's steps, each reached or not. A reopened case shows "reopened"
    after "recorded" (it is investigated again from there), and the steps
    after it are those of the current round."""
    reached_until = STEPS.index(Status.RECORDED) if status == Status.REOPENED else STEPS.index(status)
    steps = []
    for i, step in enumerate(STEPS):
        steps.append(Step(Status(step).label, i <= reached_until, step == status))
        if step == Status.RECORDED and (reopen_count or status == Status.REOPENED):
            steps.append(Step(Status.REOPENED.label, True, status == Status.REOPENED))
    return steps


def public_status(*, token: str) -> PublicStatus | None:
    """The progress of the case a genuine token names (one query), or None."""
    pk = case_id_from_token(token)
    if pk is None:
        return None
    row = Complaint.objects.filter(pk=pk).values("number", "received_at", "status", "reopen_count").first()
    if row is None:
        return None
    return PublicStatus(
        number=row["number"],
        received_on=timezone.localdate(row["received_at"]),
        steps=_steps(row["status"], row["reopen_count"]),
        closed=row["status"] == Status.CLOSED,
    )
