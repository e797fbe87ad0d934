import datetime

from django.db.models import Q

from care.weather.models import WeatherAlert
from crm.models import Dealership


def weather_alerts_in_force(*, user, now: datetime.datetime) -> list[WeatherAlert]:
    """Severe weather where the user's dealership is (group users: everywhere), for the queue's banner."""
    alerts = (
        WeatherAlert.objects.filter(status=WeatherAlert.Status.ACTIVE, effective_at__lte=now)
        .exclude(message_type="cancel")
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("location")
        .order_by("-colour_rank", "-effective_at")
    )
    if not user.is_group_level:
        home = Dealership.objects.filter(pk=user.dealership_id).values("city")
        alerts = alerts.filter(location__city__in=home)
    return list(alerts[:5])
