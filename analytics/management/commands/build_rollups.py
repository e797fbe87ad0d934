import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.rollups import rollups_run


class Command(BaseCommand):
    help = (
        "Build the KPI rollups: recompute the store-days whose sources changed since the last run "
        "(everything with --full or on the first run); safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            help="The run's day, YYYY-MM-DD (default: today in the local time zone): "
            "the retention figures are as of it.",
        )
        parser.add_argument("--full", action="store_true", help="Rebuild every rollup from all the history.")

    def handle(self, *args, date=None, full=False, **options):
        try:
            day = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}") from exc
        result = rollups_run(day=day, full=full)
        kind = "full rebuild" if result.full else "incremental"
        self.stdout.write(
            f"{result.day} ({kind}): {result.store_days} store-days in {result.seconds:.2f} s; rows written: "
            f"{result.order_rows} orders, {result.store_rows} store, {result.care_rows} care, "
            f"{result.advisor_rows} advisors, {result.overdue_rows} overdue, {result.retention_rows} retention"
        )
