from django.core.management.base import BaseCommand

from care.engine.services import weather_poll


class Command(BaseCommand):
    help = "Read severe-weather alerts and forecasts; new alerts become weather touches (the 3-hourly beat task)."

    def handle(self, *args, **options):
        report = weather_poll()
        for error in report.errors:
            self.stderr.write(error)
        self.stdout.write(
            f"{report.locations} locations: {report.new_alerts} new alerts, {report.cancelled} cancelled, "
            f"{report.touches} weather touches"
        )
