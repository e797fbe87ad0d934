import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from care.services import care_tasks_generate


class Command(BaseCommand):
    help = "Generate the care touches due on a day (default today); safe to run again."

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
        report = care_tasks_generate(day=day, kinds=kinds, full_refresh=full_refresh)
        for kind, count in sorted(report.created.items()):
            self.stdout.write(f"  {kind:<22} {count:>7}")
        self.stdout.write(
            f"{day}: created {report.total_created}, fulfilled {report.fulfilled}, expired {report.expired}, "
            f"superseded {report.superseded}, linked to visits {report.converted}"
        )
