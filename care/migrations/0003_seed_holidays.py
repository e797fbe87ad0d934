"""Seed the holiday calendar (days off and adjusted working days, 调休) from the
chinesecalendar library, which follows the State Council's notices. Admins add
later years in Django admin when the next notice is published."""

from django.db import migrations

FIRST_YEAR = 2020


def seed(apps, schema_editor):
    from chinese_calendar import constants

    Holiday = apps.get_model("care", "Holiday")

    def chinese(english: str) -> str:
        try:
            return constants.Holiday(english).chinese
        except ValueError:
            return english

    rows = [
        Holiday(date=day, name=chinese(name), is_day_off=True)
        for day, name in constants.holidays.items()
        if day.year >= FIRST_YEAR
    ] + [
        Holiday(date=day, name=chinese(name), is_day_off=False)
        for day, name in constants.workdays.items()
        if day.year >= FIRST_YEAR
    ]
    Holiday.objects.bulk_create(rows, ignore_conflicts=True)


def unseed(apps, schema_editor):
    apps.get_model("care", "Holiday").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("care", "0002_recall_campaigns")]
    operations = [migrations.RunPython(seed, unseed)]
