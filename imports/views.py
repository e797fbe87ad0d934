"""The import pages (managers and admins; advisors get a 403):

- ``/imports/``: the store's imports and the upload form;
- ``/imports/<id>/mapping/``: which column holds which field, guessed from
  the header or the store's saved profile; confirming starts the dry run;
- ``/imports/<id>/``: the job: its progress bar while a run is going (htmx
  polls ``/imports/<id>/progress/``), then the counts and the report row by
  row, with buttons to import (after a dry run) and the refused rows to
  download (``/imports/<id>/refused.csv``).

Every job is read through ``crm.tenancy``: another store's is a 404."""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.models import Dealership
from crm.tenancy import scope_for_user
from imports.forms import MappingForm, UploadForm, add_service_errors
from imports.models import ImportJob
from imports.selectors import PAGE_ROWS, import_job_get_for_user, import_job_list, import_job_report_rows
from imports.services import import_job_create, import_job_start, import_mapping_save, refused_rows_csv

LIST_SIZE = 50


def _require_manager(user) -> None:
    """Managers and admins (and superusers): an import writes a store's data in bulk."""
    if not (user.role in (user.Role.MANAGER, user.Role.ADMIN) or user.is_superuser):
        raise PermissionDenied


def _stores(user) -> list[Dealership] | None:
    if not user.is_group_level:
        return None
    return list(scope_for_user(Dealership.objects.filter(is_active=True), user))


@login_required
@require_http_methods(["GET", "POST"])
def import_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manager(user)
    if not user.is_group_level and user.dealership_id is None:
        raise PermissionDenied
    stores = _stores(user)
    form = UploadForm(request.POST or None, request.FILES or None, stores=stores)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        store = next(s for s in stores if s.pk == data["dealership"]) if stores is not None else user.dealership
        try:
            job = import_job_create(
                dealership=store, kind=data["kind"], upload=data["file"], by=user, language=get_language()
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                exc = ValidationError({"file": exc.messages})
            add_service_errors(form, exc)
        else:
            return redirect("imports:mapping", pk=job.pk)
    jobs = list(import_job_list(user=user)[:LIST_SIZE])
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "imports/import_list.html",
        {"form": form, "jobs": jobs, "show_store": user.is_group_level},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    job = import_job_get_for_user(user=request.user, pk=pk)
    if job.running or job.status == ImportJob.Status.DONE:
        return redirect("imports:job", pk=job.pk)
    form = MappingForm(request.POST or None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            import_mapping_save(job=job, mapping=form.mapping(), by=request.user)
            import_job_start(job=job, dry_run=True, by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("imports:job", pk=job.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "imports/import_mapping.html", {"job": job, "form": form}, status=status)


@login_required
@require_GET
def import_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    job = import_job_get_for_user(user=request.user, pk=pk)
    rows = [] if job.running else import_job_report_rows(job=job)
    return render(
        request,
        "imports/import_job.html",
        {"job": job, "rows": rows, "page_rows": PAGE_ROWS, "show_store": request.user.is_group_level},
    )


@login_required
@require_GET
def import_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone, for htmx. Once the run is over the whole page
    reloads (``HX-Refresh``) to show the report."""
    _require_manager(request.user)
    job = import_job_get_for_user(user=request.user, pk=pk)
    response = render(request, "imports/partials/progress.html", {"job": job})
    if not job.running and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def import_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    job = import_job_get_for_user(user=request.user, pk=pk)
    dry_run = request.POST.get("action") != "import"
    try:
        import_job_start(job=job, dry_run=dry_run, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("imports:job", pk=job.pk)


@login_required
@require_GET
def import_refused_view(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    _require_manager(request.user)
    job = import_job_get_for_user(user=request.user, pk=pk)
    stem = job.original_name.rsplit(".", 1)[0]
    response = StreamingHttpResponse(refused_rows_csv(job=job), content_type="text/csv; charset=utf-8")
    filename = _("refused-%(name)s.csv") % {"name": stem}
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
