import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loyalty.services import loyalty_nightly


class Command(BaseCommand):
    help = "The night's club work: buyers join, referrals confirm, points earned and corrected, upgrades, lapses."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today)")

    def handle(self, *args, **options):
        try:
            day = datetime.date.fromisoformat(options["date"]) if options["date"] else timezone.localdate()
        except ValueError as error:
            raise CommandError(f"--date: {error}") from error
        report = loyalty_nightly(day=day)
        earned = ", ".join(f"{kind} {n}" for kind, n in sorted(report.earned.items()))
        self.stdout.write(
            f"{day}: joined {report.joined}, referrals confirmed {report.confirmed}, earned [{earned}], "
            f"reversed {report.reversed}, upgraded {report.upgraded}, lapsed {report.lapsed}"
        )
