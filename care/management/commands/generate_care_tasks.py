import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from care.engine.services import care_morning_run


class Command(BaseCommand):
    help = (
        "The morning run for a day (default today): the touches due, and for today their messages queued, "
        "as the 06:00 job does; safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today in the local time zone)")
        parser.add_argument("--kind", action="append", dest="kinds", help="only this kind (repeatable)")
        parser.add_argument(
            "--full-refresh",
            action="store_true",
            help="recompute every car's mileage figures (after repair history was edited or deleted)",
        )

    def handle(self, *args, date=None, kinds=None, full_refresh=False, **options):
        try:
            day = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}") from exc
        report = care_morning_run(day=day, kinds=kinds, full_refresh=full_refresh)
        for kind, count in sorted(report.created.items()):
            self.stdout.write(f"  {kind:<22} {count:>7}")
        self.stdout.write(
            f"{day}: created {report.total_created}, fulfilled {report.fulfilled}, expired {report.expired}, "
            f"superseded {report.superseded}, linked to visits {report.converted}, messages queued {report.queued}"
        )
        plan = report.plan
        self.stdout.write(
            f"plan: {plan.planned_today} calls today, {plan.planned_later} on the next working days, "
            f"{plan.overflow} with no room before expiry, {plan.covered} touches from advisors off today"
        )
