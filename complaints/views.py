from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from complaints.models import Complaint
from crm.tenancy import get_for_user_or_404, scope_for_user


@login_required
@require_GET
def board_view(request: HttpRequest) -> HttpResponse:
    cases = scope_for_user(Complaint.objects.exclude(status=Complaint.Status.CLOSED), request.user)[:100]
    return render(request, "complaints/board.html", {"cases": cases})


@login_required
@require_GET
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_for_user_or_404(Complaint.objects.all(), request.user, pk=pk)
    return render(request, "complaints/detail.html", {"case": case})
