import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import tiers_recompute


class Command(BaseCommand):
    help = "Recompute every customer's value tier and churn state as of a day (default today); safe to repeat."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today in the local time zone)")

    def handle(self, *args, date=None, **options):
        try:
            day = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}") from exc
        report = tiers_recompute(day=day)
        self.stdout.write(
            f"{day}: {report.customers} customers, {report.tier_changes} tier changes, "
            f"{report.churn_changes} churn changes ({report.recoveries} recovered), {report.watched} put on watch"
        )
