"""Complaint services, by subdomain: ``clocks`` (SLA policies and clocks),
``cases`` (opening, the steps, reopen, contact, pause and resume), ``sweep``
(the 15-minute SLA job). Callers import from here."""

from complaints.services.cases import (
    complaint_assign,
    complaint_contacted,
    complaint_open,
    complaint_pause,
    complaint_reopen,
    complaint_resume,
    complaint_transition,
    store_manager,
)
from complaints.services.clocks import (
    ALLOWED,
    NEEDS_LESSON,
    REOPEN_DAYS,
    REOPENS_BEFORE_MANAGER,
    STEP_DATA,
    STEPS,
    Clocks,
    clocks_for,
    complaint_default_policies_install,
)
from complaints.services.sweep import SweepReport, complaints_sla_sweep

__all__ = [
    "ALLOWED",
    "NEEDS_LESSON",
    "REOPENS_BEFORE_MANAGER",
    "REOPEN_DAYS",
    "STEPS",
    "STEP_DATA",
    "Clocks",
    "SweepReport",
    "clocks_for",
    "complaint_assign",
    "complaint_contacted",
    "complaint_default_policies_install",
    "complaint_open",
    "complaint_pause",
    "complaint_reopen",
    "complaint_resume",
    "complaint_transition",
    "complaints_sla_sweep",
    "store_manager",
]
