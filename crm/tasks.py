from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from crm.idempotency import idempotency_records_purge


@shared_task
def purge_expired_sessions_task() -> int:
    """Drop expired login sessions; the database backend never does it by itself."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task
def purge_idempotency_records_task() -> int:
    """Drop the API's stored answers to POSTs once a DMS can no longer retry them (a day)."""
    return idempotency_records_purge()
