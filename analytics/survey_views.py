"""The survey's pages.

- ``/s/<token>/``: the customer's page, from the SMS link, without logging
  in; it stands alone (no staff layout) and shows the store's name and the
  visit date, never a name, a mobile or a plate. A link answered, past its
  time, tampered with or unknown gets a page saying so, with a 4xx status.
- ``/analytics/surveys/``: the managers' list of answers, each detractor's
  raised as a complaint in one click."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics.models import Survey, SurveyResponse
from analytics.surveys.forms import ResponseFilterForm, SurveyAnswerForm
from analytics.surveys.selectors import (
    LinkState,
    public_survey,
    response_page,
    response_summary,
    survey_responses,
)
from analytics.surveys.services import (
    SurveyClosed,
    response_complaints,
    survey_answer,
    survey_open,
    survey_response_raise_complaint,
)
from analytics.views import _can_see
from crm.tenancy import get_for_user_or_404

_CLOSED_STATUS = 410  # Gone: the link was good once


def _closed(request: HttpRequest, state: str, store_name: str = "") -> HttpResponse:
    context = {"state": state, "store_name": store_name, "answered": state == LinkState.ANSWERED}
    return render(request, "analytics/public/closed.html", context, status=_CLOSED_STATUS)


def _unknown(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/public/not_found.html", status=404)


@require_http_methods(["GET", "POST"])
def survey_public_view(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's survey: the questions (GET), their answer (POST)."""
    now = timezone.now()
    found = public_survey(token=token, now=now)
    if found.state == LinkState.UNKNOWN:
        return _unknown(request)
    if found.state != LinkState.OPEN:
        return _closed(request, found.state, found.store_name)
    survey = Survey(pk=found.survey_id)
    form = SurveyAnswerForm(request.POST if request.method == "POST" else None, asks_csat=found.asks_csat)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                survey_answer(
                    survey=survey, csat=data.get("csat"), nps=data.get("nps"), comment=data["comment"], now=now
                )
            except SurveyClosed as closed:
                return _closed(request, closed.reason, found.store_name)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return render(request, "analytics/public/thanks.html", {"survey": found})
        status = 400
    else:
        survey_open(survey=survey, now=now)
    return render(request, "analytics/public/survey.html", {"survey": found, "form": form}, status=status)


# --- The managers' page ----------------------------------------------------------------------


@login_required
@require_GET
def responses_view(request: HttpRequest) -> HttpResponse:
    """The answers of the user's scope for a period, with NPS and CSAT above them."""
    if not _can_see(request.user):
        raise PermissionDenied
    form = ResponseFilterForm(request.GET or None, user=request.user, today=timezone.localdate())
    filters = form.filters()
    problems = [str(e) for errors in (form.errors if form.is_bound else {}).values() for e in errors]
    responses = survey_responses(user=request.user, filters=filters)
    page = response_page(responses, request.GET.get("page", 1))
    answers = list(page.object_list)
    cases = response_complaints(answers)
    rows = [(answer, cases.get(answer.pk)) for answer in answers]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "analytics/surveys.html",
        {
            "form": form,
            "filters": filters,
            "problems": problems,
            "summary": response_summary(responses),
            "page": page,
            "rows": rows,
            "querystring": query.urlencode(),
        },
    )


@login_required
@require_POST
def response_complaint_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Raise an answer as a complaint (one click); an answer raised before shows its case."""
    if not _can_see(request.user):
        raise PermissionDenied
    response = get_for_user_or_404(SurveyResponse.objects.all(), request.user, pk=pk)
    try:
        case, opened = survey_response_raise_complaint(response=response, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = _("Complaint %(number)s opened.") if opened else _("This answer was raised as complaint %(number)s.")
        messages.success(request, text % {"number": case.number})
    following = QueryDict(request.POST.get("next", ""))
    url = reverse("analytics:surveys")
    return redirect(f"{url}?{following.urlencode()}" if following else url)
