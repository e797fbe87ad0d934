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
