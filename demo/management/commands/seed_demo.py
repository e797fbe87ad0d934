import argparse
import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from demo import data
from demo.services import demo_data_exists, demo_reset, seed_demo


def _iso_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Fill the database with a demo dealer group: three stores, their staff, customers, cars and "
        "years of repair history. The same --seed and --today always give the same data."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--customers", type=int, default=500, help="How many customers (default 500).")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the random generator (default 1).")
        parser.add_argument(
            "--today", type=_iso_date, default=None, help="Date the history runs up to (default: the local date)."
        )
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already holds dealerships."
        )
        existing.add_argument(
            "--reset", action="store_true", help="Delete the existing business data first, then seed."
        )

    def handle(self, *args, customers: int, seed: int, today, if_empty: bool, reset: bool, **options) -> None:
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        if not reset and demo_data_exists():
            if if_empty:
                self.stdout.write("Demo data: the database already holds dealerships; nothing to do.")
                return
            raise CommandError(
                "The database already holds dealerships or demo users. "
                "Pass --reset to delete the business data and seed again."
            )
        started = time.perf_counter()
        # One transaction for both: if seeding fails, the old data is still there.
        with transaction.atomic():
            if reset:
                demo_reset()
            summary = seed_demo(customers=customers, seed=seed, today=today or timezone.localdate())
        seconds = time.perf_counter() - started
        counts = ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in summary.as_dict().items())
        self.stdout.write(self.style.SUCCESS(f"Seeded demo data in {seconds:.1f} s: {counts}."))
        self.stdout.write(f"Logins (password {data.DEMO_PASSWORD}):")
        first_store = data.STORES[0].name
        self.stdout.write(f"  advisor   service advisor, {first_store}")
        self.stdout.write(f"  manager   manager, {first_store}")
        self.stdout.write("  admin     group administrator (Django admin)")
