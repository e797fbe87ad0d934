from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task
def purge_expired_sessions_task() -> int:
    """Drop expired login sessions; the database backend never does it by itself."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
