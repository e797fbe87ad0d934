from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from complaints.links import case_id_from_token
from complaints.models import Complaint


@require_GET
def status_view(request: HttpRequest, token: str) -> HttpResponse:
    pk = case_id_from_token(token)
    case = Complaint.objects.filter(pk=pk).only("number", "status").first() if pk else None
    if case is None:
        raise Http404
    return HttpResponse(case.get_status_display())
