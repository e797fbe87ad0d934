"""Staff notifications shown on the complaints board (the escalations the
15-minute sweep writes): marking them read. ``crm.Notification`` is crm's
model; this is the one write the board makes to it."""

from collections.abc import Iterable

from django.utils import timezone

from crm.models import Notification, User


def notifications_mark_read(*, user: User, ids: Iterable[int]) -> int:
    """Mark these notifications of ``user`` read (someone else's ids are left
    alone, already read ones keep their time). Returns how many changed."""
    ids = [int(i) for i in ids]
    if not ids:
        return 0
    return Notification.objects.filter(user=user, pk__in=ids, read_at__isnull=True).update(read_at=timezone.now())
