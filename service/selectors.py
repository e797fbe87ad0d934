import dataclasses
import datetime

from django.db.models import QuerySet
from django.utils import timezone

from crm.models import Dealership, User
from crm.tenancy import get_for_user_or_404, scope_for_user
from service.models import Appointment

# What the appointments page shows of each row, in one query.
_APPOINTMENT_RELATED = ["customer", "vehicle", "advisor", "dealership", "repair_order"]


@dataclasses.dataclass
class AppointmentGroup:
    """One advisor's appointments of the day at one store (``advisor`` None: nobody's yet)."""

    dealership: Dealership
    advisor: User | None
    appointments: list[Appointment]
    own: bool = False


def local_day_range(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The instants at which the local ``day`` and the day after begin: a range
    on ``scheduled_at`` the index answers, where a date computed per row would not."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))
    return start, end


def appointment_day_list(*, user, day: datetime.date, dealership_id: int | None = None) -> QuerySet[Appointment]:
    """The appointments of ``day`` the user may see, in time order: the user's
    store, or every store (or the chosen one) for group-level users."""
    start, end = local_day_range(day)
    qs = scope_for_user(Appointment.objects.all(), user).filter(scheduled_at__gte=start, scheduled_at__lt=end)
    if dealership_id is not None:
        qs = qs.filter(dealership_id=dealership_id)
    return qs.select_related(*_APPOINTMENT_RELATED).order_by("scheduled_at", "pk")


def appointment_groups(*, appointments: list[Appointment], user) -> list[AppointmentGroup]:
    """Group the day's appointments by store and advisor: the user's own first,
    then each store's advisors by name, the unassigned last. Times keep their
    order within a group."""
    groups: dict[tuple[int, int | None], AppointmentGroup] = {}
    for appointment in appointments:
        key = (appointment.dealership_id, appointment.advisor_id)
        if key not in groups:
            groups[key] = AppointmentGroup(
                dealership=appointment.dealership,
                advisor=appointment.advisor,
                appointments=[],
                own=appointment.advisor_id is not None and appointment.advisor_id == user.pk,
            )
        groups[key].appointments.append(appointment)

    def order(group: AppointmentGroup) -> tuple:
        advisor = group.advisor
        return (
            not group.own,
            group.dealership.name,
            group.dealership.pk,
            advisor is None,
            advisor.display_name if advisor else "",
            advisor.pk if advisor else 0,
        )

    return sorted(groups.values(), key=order)


def appointment_get_for_user(*, user, pk: int) -> Appointment:
    """One appointment in the user's scope, with what its row shows; anything else is a 404."""
    return get_for_user_or_404(Appointment.objects.select_related(*_APPOINTMENT_RELATED), user, pk=pk)
