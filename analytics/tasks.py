import dataclasses
import datetime

from celery import shared_task
from django.utils import timezone

from analytics.services import tiers_recompute


@shared_task
def recompute_tiers_task(day: str | None = None) -> dict:
    """Nightly (beat, 02:30): tiers and churn states before the 06:00 care run reads them."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return {k: str(v) for k, v in dataclasses.asdict(tiers_recompute(day=when)).items()}


@shared_task
def send_survey_invitations_task(day: str | None = None) -> dict:
    """Daily (beat, 10:00): the survey links of yesterday's closed orders and of lapsed customers, by SMS."""
    from analytics.surveys.services import survey_invitations_send

    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return {k: str(v) for k, v in dataclasses.asdict(survey_invitations_send(day=when)).items()}


@shared_task
def build_rollups_task(day: str | None = None, full: bool = False) -> dict:
    """Nightly (beat, 03:15): the KPI rollups of the store-days changed since the last run."""
    from analytics.rollups import rollups_run

    when = datetime.date.fromisoformat(day) if day else None
    return {k: str(v) for k, v in dataclasses.asdict(rollups_run(day=when, full=full)).items()}


@shared_task
def weekly_digest_task(day: str | None = None) -> dict:
    """Monday 08:00 (beat): last week's figures in each store manager's mailbox."""
    from analytics.digest import weekly_digest_send

    when = datetime.date.fromisoformat(day) if day else None
    return {k: str(v) for k, v in dataclasses.asdict(weekly_digest_send(today=when)).items()}
