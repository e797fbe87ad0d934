import dataclasses

from celery import shared_task

from complaints.services import complaints_sla_sweep


@shared_task
def complaints_sla_sweep_task() -> dict:
    """Every 15 minutes (beat): due soon, breached, escalated once."""
    return dataclasses.asdict(complaints_sla_sweep())
