from django.db.models import QuerySet

from crm.tenancy import get_for_user_or_404, scope_for_user
from imports.models import ImportJob, ImportRow

# Refused rows listed on the job's page; the download has them all.
PAGE_ROWS = 500


def import_job_list(*, user) -> QuerySet[ImportJob]:
    return scope_for_user(ImportJob.objects.select_related("dealership", "created_by"), user)


def import_job_get_for_user(*, user, pk: int) -> ImportJob:
    """The job in the user's scope; another store's is a 404."""
    return get_for_user_or_404(ImportJob.objects.select_related("dealership", "created_by"), user, pk=pk)


def import_job_report_rows(*, job: ImportJob) -> list[ImportRow]:
    """Refused rows first (up to ``PAGE_ROWS``), then the sampled rows of the other outcomes, by line."""
    refused = list(job.rows.filter(outcome=ImportRow.Outcome.REFUSED).order_by("line")[:PAGE_ROWS])
    others = list(job.rows.exclude(outcome=ImportRow.Outcome.REFUSED).order_by("line")[:PAGE_ROWS])
    return refused + others
