"""Import jobs: upload, column mapping, dry run, import. Pages, admin and the
Celery task all come here; the job's status changes only through
``import_job_transition``."""

import csv
import io
import logging
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F as DbF
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.models import Dealership
from imports import fields as F
from imports.engine import REPORT_SAMPLE, Run
from imports.models import ImportJob, ImportJobEvent, ImportKind, ImportProfile, ImportRow
from imports.reading import cell_text, file_format, open_table

logger = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

S = ImportJob.Status
# Where a job may go from each status (a no-op when it is already there).
TRANSITIONS: dict[str, set[str]] = {
    S.UPLOADED: {S.MAPPED, S.FAILED},
    S.MAPPED: {S.MAPPED, S.CHECKING, S.IMPORTING, S.FAILED},
    S.CHECKING: {S.CHECKED, S.FAILED},
    S.CHECKED: {S.MAPPED, S.CHECKING, S.IMPORTING, S.FAILED},
    S.IMPORTING: {S.DONE, S.FAILED},
    S.DONE: set(),
    S.FAILED: {S.MAPPED},
}


def import_job_transition(*, job: ImportJob, to: str, by=None, note: str = "", **fields) -> ImportJob:
    """Move ``job`` to ``to`` (with ``fields`` saved alongside), writing an event
    row. The job's row is locked: two clicks on "import" start one run."""
    with transaction.atomic():
        current = ImportJob.objects.select_for_update().get(pk=job.pk)
        if to not in TRANSITIONS[current.status]:
            raise ValidationError(
                _("An import that is “%(status)s” cannot become “%(to)s”.")
                % {"status": current.get_status_display(), "to": S(to).label},
                code="bad_transition",
            )
        before = current.status
        current.status = to
        for key, value in fields.items():
            setattr(current, key, value)
        current.save(update_fields=["status", *fields])
        ImportJobEvent.objects.create(job=current, from_status=before, to_status=to, by=by, note=note[:200])
    job.status = to
    for key, value in fields.items():
        setattr(job, key, value)
    return job


def import_job_create(*, dealership: Dealership, kind: str, upload, by, language: str = "zh-hans") -> ImportJob:
    """Store the uploaded file, read its header and map its columns: the store's
    saved profile where its headers are in the file, a guess for the rest."""
    if kind not in ImportKind.values:
        raise ValidationError({"kind": _("Choose what the file holds.")})
    fmt = file_format(upload.name)
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": _("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_UPLOAD_BYTES // 2**20}}
        )
    job = ImportJob(
        dealership=dealership,
        kind=kind,
        original_name=upload.name[:200],
        file_format=fmt,
        created_by=by,
        language=language,
    )
    job.file.save(upload.name, upload, save=False)
    try:
        with open_table(job.file.path, fmt) as table:
            job.header, job.encoding = table.header, table.encoding
    except ValidationError:
        job.file.delete(save=False)
        raise
    job.mapping = mapping_for(dealership=dealership, kind=kind, header=table.header)
    with transaction.atomic():
        job.save()
        ImportJobEvent.objects.create(job=job, to_status=job.status, by=by)
    return job


def mapping_for(*, dealership: Dealership, kind: str, header: list[str]) -> dict[str, str]:
    guessed = F.guess_mapping(header, kind)
    profile = ImportProfile.objects.filter(dealership=dealership, kind=kind).first()
    if profile is None:
        return guessed
    present = set(header)
    saved = {key: text for key, text in profile.mapping.items() if text in present}
    taken = set(saved.values())
    return {**{k: v for k, v in guessed.items() if v not in taken and k not in saved}, **saved}


def import_mapping_save(*, job: ImportJob, mapping: dict[str, str], by) -> ImportJob:
    """Confirm the columns (``{field key: header text}``, blank: not in the
    file) and keep them as the store's profile for this kind of file."""
    valid = {f.key for f in F.fields_for(job.kind)}
    header = set(job.header)
    clean = {key: text for key, text in mapping.items() if key in valid and text}
    errors = {}
    unknown = [text for text in clean.values() if text not in header]
    if unknown:
        errors["__all__"] = [_("These columns are not in the file: %(names)s") % {"names": ", ".join(unknown)}]
    seen: dict[str, str] = {}
    for key, text in clean.items():
        if text in seen:
            errors[key] = [_("The column “%(column)s” is already used for another field.") % {"column": text}]
        seen[text] = key
    for field in F.missing_required(clean, job.kind):
        errors[field.key] = [_("Choose the column for this field.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        ImportProfile.objects.update_or_create(
            dealership_id=job.dealership_id, kind=job.kind, defaults={"mapping": clean, "updated_by": by}
        )
        import_job_transition(job=job, to=S.MAPPED, by=by, mapping=clean)
    return job


def import_job_start(*, job: ImportJob, dry_run: bool, by) -> ImportJob:
    """Queue a dry run or the import; the worker runs ``import_job_run``."""
    from imports.tasks import run_import_job_task

    to = S.CHECKING if dry_run else S.IMPORTING
    with transaction.atomic():
        import_job_transition(
            job=job,
            to=to,
            by=by,
            dry_run=dry_run,
            rows_done=0,
            started_at=timezone.now(),
            finished_at=None,
            error="",
        )
        transaction.on_commit(lambda: run_import_job_task.delay(job.pk))
    return job


def import_job_run(*, job_id: int, batch_size: int | None = None) -> ImportJob:
    """Run the queued pass of the job (a dry run or the import) to the end.

    Called by the task; the job is "checking" or "importing". The job's
    counts and progress move after each batch. A failure is recorded on the
    job ("failed", with the error) and the batches written before stay."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status not in (S.CHECKING, S.IMPORTING):
        logger.warning("import job %s is %s, not queued: nothing run", job_id, job.status)
        return job
    done_status = S.CHECKED if job.status == S.CHECKING else S.DONE
    table = None
    with translation.override(job.language):
        try:
            table = open_table(job.file.path, job.file_format, job.encoding)
            total = table.count_rows()
            ImportRow.objects.filter(job=job).delete()
            ImportJob.objects.filter(pk=job.pk).update(
                rows_total=total, rows_done=0, created_count=0, updated_count=0, unchanged_count=0, refused_count=0
            )
            run = Run(job=job, dry_run=job.dry_run, **({"batch_size": batch_size} if batch_size else {}))
            sampled = 0
            for plans in run.batches(table.rows()):
                kept = []
                for plan in plans:
                    if plan.refused:
                        kept.append(plan)
                    elif sampled < REPORT_SAMPLE:
                        kept.append(plan)
                        sampled += 1
                ImportRow.objects.bulk_create(
                    ImportRow(
                        job_id=job.pk,
                        line=p.line,
                        outcome=p.outcome,
                        reason=" ".join(p.errors),
                        detail="; ".join(p.actions)[:300],
                        values=[cell_text(v) for v in p.values] if p.refused else [],
                    )
                    for p in kept
                )
                c = run.counts
                ImportJob.objects.filter(pk=job.pk).update(
                    rows_done=DbF("rows_done") + len(plans),
                    created_count=c.created,
                    updated_count=c.updated,
                    unchanged_count=c.unchanged,
                    refused_count=c.refused,
                )
        except Exception as exc:
            logger.exception("import job %s failed", job_id)
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
            job.refresh_from_db()
            return import_job_transition(job=job, to=S.FAILED, error=message[:2000], finished_at=timezone.now())
        finally:
            if table is not None:
                table.close()
    job.refresh_from_db()
    return import_job_transition(job=job, to=done_status, finished_at=timezone.now())


def refused_rows_csv(*, job: ImportJob) -> Iterator[str]:
    """The refused rows as CSV text (UTF-8 with the byte-order mark Excel
    wants): the file's own columns, then the line and the reason, so that the
    rows can be fixed and uploaded again."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield "\ufeff"
    writer.writerow([*job.header, _("Line"), _("Reason")])
    yield flush()
    rows = job.rows.filter(outcome=ImportRow.Outcome.REFUSED).order_by("line").values_list("line", "reason", "values")
    width = len(job.header)
    for line, reason, values in rows.iterator(chunk_size=2000):
        writer.writerow([*(list(values) + [""] * width)[:width], line, reason])
        yield flush()
