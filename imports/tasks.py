from celery import shared_task

from imports.services import import_job_run


@shared_task(acks_late=False)
def run_import_job_task(job_id: int) -> str:
    """Run a queued import job (a dry run or the import). Only the job's id
    travels through the broker: never a row of the file.

    Not acknowledged late: a worker lost in the middle must not start the
    same import again from the top on its own; the job shows "failed" or
    stays "in progress" and a manager starts it again (reruns change nothing)."""
    job = import_job_run(job_id=job_id)
    return job.status
