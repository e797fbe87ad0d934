"""The advisor's workspace: the queue, the call panel, outcomes and reassignment.

Pages work without JavaScript (plain GET/POST and redirects); with htmx the
panel opens beside the queue and an outcome re-renders the queue in place."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from care.registry import CareKind
from care.touches.models import CareTask
from care.weather.selectors import weather_alerts_in_force
from care.workspace.complaints import care_complaint_raise
from care.workspace.forms import (
    ComplaintRaiseForm,
    ContactForm,
    OutcomeForm,
    QueueFilterForm,
    ReassignForm,
    WinbackSurveyForm,
)
from care.workspace.selectors import call_panel, care_backlog, care_queue, care_task_get_for_user, store_advisors
from care.workspace.services import CallOutcome, care_call_group, care_call_log, care_contact_log, care_tasks_reassign
from care.workspace.surveys import winback_survey_record, winback_survey_wanted
from complaints.models import Complaint
from complaints.selectors import customer_open_complaints
from crm.tenancy import scope_for_user
from customers.selectors import customer_get_for_user


def _is_manager(user) -> bool:
    return user.role != user.Role.ADVISOR


def _workspace_context(request: HttpRequest, querystring: str | None = None) -> dict:
    params = QueryDict(querystring) if querystring is not None else request.GET
    manager = _is_manager(request.user)
    advisors = store_advisors(user=request.user) if manager else None
    form = QueueFilterForm(params or None, advisors=advisors)
    day = timezone.localdate()
    view = care_queue(user=request.user, day=day, filters=form.filters(), page=params.get("page", 1))
    query = params.copy()
    query.pop("page", None)
    return {
        "day": day,
        "form": form,
        "view": view,
        "rows": view.rows,
        "querystring": query.urlencode(),
        "is_manager": manager,
        "reassign_form": ReassignForm(advisors=advisors) if manager else None,
    }


@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    """The advisor's day (managers: the store's), one row per customer."""
    context = _workspace_context(request)
    if request.htmx and request.htmx.target == "workspace":
        return render(request, "care/workspace/_workspace.html", context)
    context["weather_alerts"] = weather_alerts_in_force(user=request.user, now=timezone.now())
    return render(request, "care/queue.html", context)


def _panel_context(
    request: HttpRequest, task: CareTask, form: OutcomeForm | None = None, survey: WinbackSurveyForm | None = None
) -> dict:
    panel = call_panel(task=task, group=care_call_group(task))
    form = form or OutcomeForm()
    return {
        "task": task,
        "panel": panel,
        "outcome_form": form,
        "needed_fields": form.needed_fields(panel.outcomes, asked=panel.survey_fields),
        "survey_form": survey or WinbackSurveyForm(),
        "next": request.GET.get("next") or request.POST.get("next", ""),
    }


@login_required
@require_GET
def panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    task = care_task_get_for_user(user=request.user, pk=pk)
    template = "care/workspace/_panel.html" if request.htmx else "care/workspace/panel_page.html"
    return render(request, template, _panel_context(request, task))


@login_required
@require_POST
def log_outcome_view(request: HttpRequest, pk: int) -> HttpResponse:
    task = care_task_get_for_user(user=request.user, pk=pk)
    form = OutcomeForm(request.POST)
    # The panel asked the win-back survey when a win-back reason is on the call.
    has_winback = care_call_group(task).filter(kind=CareKind.WINBACK).exists()
    survey = WinbackSurveyForm(request.POST) if has_winback else None
    if form.is_valid() and (survey is None or survey.is_valid()):
        outcome = CallOutcome(
            code=form.cleaned_data["code"],
            notes=form.cleaned_data["notes"],
            details=form.details(),
            appointment_at=form.cleaned_data["appointment_at"],
            follow_up_on=form.cleaned_data["follow_up_on"],
        )
        errors_to = form
        try:
            # One transaction: a refused survey leaves no contact and the touches open.
            with transaction.atomic():
                contact = care_call_log(task=task, outcome=outcome, by=request.user)
                if survey is not None and winback_survey_wanted(code=outcome.code, data=survey.cleaned_data):
                    errors_to = survey
                    winback_survey_record(contact=contact, data=survey.cleaned_data)
        except ValidationError as exc:
            _add_errors(errors_to, exc)
        else:
            messages.success(
                request,
                _("%(customer)s: %(outcome)s logged.") % {"customer": task.customer.name, "outcome": contact.outcome},
            )
            return _back_to_queue(request)
    if request.htmx:
        response = render(request, "care/workspace/_panel.html", _panel_context(request, task, form, survey))
        # Into the panel, not over it: the form's own swap (outerHTML of #workspace) would drop #call-panel.
        return reswap(retarget(response, "#call-panel"), "innerHTML")
    return render(request, "care/workspace/panel_page.html", _panel_context(request, task, form, survey), status=400)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _back_to_queue(request: HttpRequest) -> HttpResponse:
    """After a change: htmx gets the refreshed workspace; a plain form post, a redirect."""
    querystring = request.POST.get("next", "")
    if request.htmx:
        response = render(request, "care/workspace/_workspace.html", _workspace_context(request, querystring))
        return retarget(response, "#workspace")
    return redirect(f"{reverse('care:queue')}?{querystring}" if querystring else reverse("care:queue"))


@login_required
@require_http_methods(["GET", "POST"])
def complaint_raise_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Raise a complaint from a call, on any touch: the form (GET, or a POST
    with ``prefill`` from the outcome form, carrying the notes typed so far),
    then the case (POST). With htmx the form opens inside the panel and the
    outcome form keeps what was typed in it."""
    task = care_task_get_for_user(user=request.user, pk=pk)
    following = request.GET.get("next") or request.POST.get("next", "")
    template = "care/workspace/_complaint_raise.html" if request.htmx else "care/workspace/complaint_raise_page.html"
    if request.method == "GET" or "prefill" in request.POST:
        notes = (request.POST.get("notes") or "").strip() or task.notes
        form = ComplaintRaiseForm(initial={"description": notes, "severity": Complaint.Severity.NORMAL})
        return render(request, template, {"task": task, "form": form, "next": following})
    form = ComplaintRaiseForm(request.POST)
    if form.is_valid():
        try:
            case = care_complaint_raise(task=task, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if request.htmx:
                open_cases = list(customer_open_complaints(customer_ids=[task.customer_id]))
                context = {"task": task, "case": case, "open_complaints": open_cases}
                return render(request, "care/workspace/_complaint_raised.html", context)
            messages.success(request, _("Complaint %(number)s opened.") % {"number": case.number})
            url = reverse("care:panel", args=[task.pk])
            return redirect(_with_next(url, following))
    status = 200 if request.htmx else 400
    return render(request, template, {"task": task, "form": form, "next": following}, status=status)


def _with_next(url: str, following: str) -> str:
    if not following:
        return url
    query = QueryDict(mutable=True)
    query["next"] = following
    return f"{url}?{query.urlencode()}"


@login_required
@require_POST
def reassign_view(request: HttpRequest) -> HttpResponse:
    if not _is_manager(request.user):
        raise PermissionDenied
    data = request.POST.copy()
    data["tasks"] = " ".join(request.POST.getlist("tasks"))
    advisors = store_advisors(user=request.user)
    form = ReassignForm(data, advisors=advisors)
    if form.is_valid():
        # The form's choices are the store's advisors: the pk is one of them.
        advisor = next(a for a in advisors if a.pk == form.cleaned_data["to_user"])
        tasks = scope_for_user(CareTask.objects.all(), request.user).filter(pk__in=form.cleaned_data["tasks"])
        try:
            moved = care_tasks_reassign(
                tasks=tasks, to_user=advisor, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, _("%(n)s calls given to %(advisor)s.") % {"n": moved, "advisor": advisor.display_name}
            )
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return _back_to_queue(request)


@login_required
def contact_new_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a contact outside the queue, from the customer's page."""
    customer = customer_get_for_user(user=request.user, pk=pk)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            care_contact_log(
                customer=customer,
                by=request.user,
                channel=form.cleaned_data["channel"],
                notes=form.cleaned_data["notes"],
                code=form.cleaned_data["code"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Contact logged."))
            return redirect("customers:detail", pk=customer.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "care/workspace/contact_form.html", {"customer": customer, "form": form}, status=status)


@login_required
@require_GET
def backlog_view(request: HttpRequest) -> HttpResponse:
    """For managers: each advisor's capacity and the calls planned for the coming
    working days (loaded beside the queue, so the queue keeps its queries)."""
    if not _is_manager(request.user):
        raise Http404
    backlog = care_backlog(user=request.user, day=timezone.localdate())
    template = "care/workspace/_backlog.html" if request.htmx else "care/workspace/backlog_page.html"
    return render(request, template, {"backlog": backlog})
