"""The complaint pages: the SLA board, the case with its step actions, a new
complaint received by staff, and the lessons-learned library.

Every action is a plain POST that redirects back to the case with a message;
sent by htmx it answers with the case's work area (clocks, actions, timeline)
re-rendered in place. A refused action puts the service's message on its form
and keeps what was typed. Every case is read through
``complaint_get_for_user``: a case the user may not see is a 404, for the page
and for every action alike."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from complaints.forms import (
    AssignForm,
    BoardFilterForm,
    ComplaintNewForm,
    ContactedForm,
    PauseForm,
    ReopenForm,
    ResumeForm,
    StepForm,
    add_service_errors,
)
from complaints.models import Complaint, ComplaintCategory
from complaints.notices import notifications_mark_read
from complaints.selectors import (
    board_choices,
    complaint_board,
    complaint_can_see,
    complaint_clocks,
    complaint_get_for_user,
    complaint_lessons,
    complaint_step_record,
    complaint_timeline,
    staff_unread_notifications,
    store_staff,
)
from complaints.services import (
    ALLOWED,
    complaint_assign,
    complaint_contacted,
    complaint_open,
    complaint_pause,
    complaint_reopen,
    complaint_resume,
    complaint_transition,
)
from customers.selectors import customer_get_for_user

Status = Complaint.Status
LESSONS_PER_PAGE = 30


def _is_manager(user) -> bool:
    return user.role != user.Role.ADVISOR


# --- The board ------------------------------------------------------------------
@login_required
@require_GET
def board_view(request: HttpRequest) -> HttpResponse:
    """The open cases by SLA state, filtered, with the user's unread escalations on top."""
    staff, technicians = board_choices(user=request.user)
    categories = list(ComplaintCategory.objects.filter(active=True).only("pk", "label"))
    form = BoardFilterForm(request.GET or None, categories=categories, staff=staff, technicians=technicians)
    board = complaint_board(user=request.user, filters=form.filters(), page=request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    without_state = query.copy()
    without_state.pop("state", None)
    context = {
        "form": form,
        "board": board,
        "querystring": query.urlencode(),
        "state_querystring": without_state.urlencode(),
        "notifications": staff_unread_notifications(user=request.user),
        "is_manager": _is_manager(request.user),
    }
    if request.htmx and request.htmx.target == "board":
        return render(request, "complaints/partials/board.html", context)
    return render(request, "complaints/board.html", context)


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    """Mark the user's notifications read: the ticked ones, or ``all`` shown."""
    if request.POST.get("all"):
        ids = [n.pk for n in staff_unread_notifications(user=request.user, limit=1000)]
    else:
        ids = [i for i in request.POST.getlist("ids") if i.isdigit()]
    marked = notifications_mark_read(user=request.user, ids=ids)
    if marked:
        messages.success(request, _("%(n)s notifications marked read.") % {"n": marked})
    return redirect("complaints:board")


# --- Lessons learned ---------------------------------------------------------------
@login_required
@require_GET
def lessons_view(request: HttpRequest) -> HttpResponse:
    """The lessons-learned library of the manager's stores."""
    if not _is_manager(request.user):
        raise Http404
    q = request.GET.get("q", "").strip()[:100]
    page = Paginator(complaint_lessons(user=request.user, q=q), LESSONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "complaints/lessons.html", {"q": q, "page": page})


# --- A new complaint -------------------------------------------------------------------
def _customer_from_request(request: HttpRequest):
    raw = (request.GET.get("customer") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    return customer_get_for_user(user=request.user, pk=int(raw))


@login_required
def complaint_new_view(request: HttpRequest) -> HttpResponse:
    """A complaint received by phone or in person, for the customer of ``?customer=<id>``."""
    customer = _customer_from_request(request)
    if customer is None:
        return render(request, "complaints/complaint_new.html", {"customer": None, "form": None})
    staff = store_staff(dealership_id=customer.dealership_id)
    form = ComplaintNewForm(request.POST or None, customer=customer, staff=staff)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = complaint_open(
                customer=customer,
                channel=data["channel"],
                category=data["category"],
                severity=data["severity"] or Complaint.Severity.NORMAL,
                description=data["description"],
                demand=data["demand"],
                by=request.user,
                vehicle=data["vehicle"],
                repair_order=data["repair_order"],
                handler=data["handler"],
                staff_involved=data["staff_involved"],
                carmaker_reference=data["carmaker_reference"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            # An advisor may take a complaint about a colleague's customer; they
            # see that case only if they handle it.
            if complaint_can_see(user=request.user, customer=customer) or case.handler_id == request.user.pk:
                return redirect("complaints:detail", pk=case.pk)
            return redirect("customers:detail", pk=customer.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "complaints/complaint_new.html", {"customer": customer, "form": form}, status=status)


# --- One case --------------------------------------------------------------------------
def _next_step(case: Complaint) -> str | None:
    """The loop's next step (a closed case reopens through its own action)."""
    steps = sorted(ALLOWED.get(case.status, frozenset()) - {Status.REOPENED})
    return steps[0] if steps else None


def _case_context(request: HttpRequest, case: Complaint, **bound) -> dict:
    """The case page's context; ``bound`` holds the one form being re-shown with its errors."""
    target = _next_step(case)
    staff = store_staff(dealership_id=case.dealership_id)
    forms = {
        "step_form": StepForm(case=case, target=target) if target else None,
        "contacted_form": ContactedForm(),
        "pause_form": PauseForm(),
        "resume_form": ResumeForm(),
        "assign_form": AssignForm(staff=staff, initial={"handler": case.handler_id}),
        "reopen_form": ReopenForm(),
    }
    forms.update(bound)
    return {
        "case": case,
        "is_closed": case.status == Status.CLOSED,
        "clocks": complaint_clocks(case),
        "record": complaint_step_record(case),
        "events": complaint_timeline(complaint=case),
        "next_step": Status(target).label if target else "",
        **forms,
    }


@login_required
@require_GET
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = complaint_get_for_user(user=request.user, pk=pk)
    return render(request, "complaints/detail.html", _case_context(request, case))


def _done(request: HttpRequest, case: Complaint, message: str) -> HttpResponse:
    """After an action: htmx gets the case's work area afresh; a plain post, a redirect."""
    messages.success(request, message)
    if request.htmx:
        case = complaint_get_for_user(user=request.user, pk=case.pk)
        return render(request, "complaints/partials/case_work.html", _case_context(request, case))
    return redirect("complaints:detail", pk=case.pk)


def _refused(request: HttpRequest, case: Complaint, **bound) -> HttpResponse:
    """A refused action: its form again, with the message and what was typed.
    htmx swaps only a 200, so it gets one; the plain page is a 400."""
    context = _case_context(request, case, **bound)
    if request.htmx:
        return render(request, "complaints/partials/case_work.html", context)
    return render(request, "complaints/detail.html", context, status=400)


@login_required
@require_POST
def step_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = complaint_get_for_user(user=request.user, pk=pk)
    form = StepForm(request.POST, case=case, target=_next_step(case))
    if form.is_valid():
        to = form.cleaned_data["to"]
        try:
            case = complaint_transition(
                complaint=case, to=to, by=request.user, note=form.cleaned_data["note"], **form.step_data()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(request, case, _("%(number)s: %(step)s.") % {"number": case.number, "step": Status(to).label})
    return _refused(request, case, step_form=form)


@login_required
@require_POST
def contacted_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = complaint_get_for_user(user=request.user, pk=pk)
    form = ContactedForm(request.POST)
    if form.is_valid():
        try:
            case = complaint_contacted(complaint=case, by=request.user, note=form.cleaned_data["note"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(request, case, _("%(number)s: customer contact logged.") % {"number": case.number})
    return _refused(request, case, contacted_form=form)


@login_required
@require_POST
def pause_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = complaint_get_for_user(user=request.user, pk=pk)
    form = PauseForm(request.POST)
    if form.is_valid():
        try:
            case = complaint_pause(
                complaint=case,
                by=request.user,
                waiting_on=form.cleaned_data["waiting_on"],
                reason=form.cleaned_data["pause_reason"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(
                request, case, _("%(number)s waits: the resolution clock is paused.") % {"number": case.number}
            )
    return _refused(request, case, pause_form=form)


@login_required
@require_POST
def resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = complaint_get_for_user(user=request.user, pk=pk)
    form = ResumeForm(request.POST)
    if form.is_valid():
        try:
            case = complaint_resume(complaint=case, by=request.user, note=form.cleaned_data["note"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(
                request, case, _("%(number)s resumed: the resolution clock runs again.") % {"number": case.number}
            )
    return _refused(request, case, resume_form=form)


@login_required
@require_POST
def assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = complaint_get_for_user(user=request.user, pk=pk)
    form = AssignForm(request.POST, staff=store_staff(dealership_id=case.dealership_id))
    if form.is_valid():
        handler = form.cleaned_data["handler"]
        try:
            case = complaint_assign(complaint=case, handler=handler, by=request.user, note=form.cleaned_data["note"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(
                request,
                case,
                _("%(number)s is handled by %(handler)s.") % {"number": case.number, "handler": handler.display_name},
            )
    return _refused(request, case, assign_form=form)


@login_required
@require_POST
def reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Reopen a closed case; more than 30 days after closing this opens a new,
    linked case, and the user is taken there."""
    case = complaint_get_for_user(user=request.user, pk=pk)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            now_open = complaint_reopen(complaint=case, by=request.user, reason=form.cleaned_data["note"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if now_open.pk == case.pk:
                return _done(request, now_open, _("%(number)s is reopened.") % {"number": case.number})
            messages.success(
                request,
                _("%(old)s was closed more than 30 days ago: new case %(new)s follows it.")
                % {"old": case.number, "new": now_open.number},
            )
            url = reverse("complaints:detail", args=[now_open.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _refused(request, case, reopen_form=form)
