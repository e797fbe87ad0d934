from django.core.management.base import BaseCommand

from care.messaging.services import outbox_send


class Command(BaseCommand):
    help = "Queue due message touches and send what may go now (what the every-minute beat task does)."

    def add_arguments(self, parser):
        parser.add_argument("--max-seconds", type=float, default=50, help="stop claiming new batches after this")

    def handle(self, *args, max_seconds=50, **options):
        report = outbox_send(max_seconds=max_seconds)
        self.stdout.write(
            f"claimed {report.claimed}: sent {report.sent}, suppressed {report.suppressed}, "
            f"retrying {report.retrying}, failed {report.failed} ({report.batches} batches)"
        )
