"""The beat entry that turns missed appointments into no-shows and their calls."""

from django.db import migrations

NO_SHOWS = "Mark appointment no-shows"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15_minutes, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    # Every 15 minutes: a no-show is called within a quarter of an hour of
    # CRM_NO_SHOW_AFTER_MINUTES. expires: a run the worker could not start
    # before the next one is dropped; the next one does its work.
    PeriodicTask.objects.get_or_create(
        name=NO_SHOWS,
        defaults={"task": "care.tasks.mark_no_shows_task", "interval": every_15_minutes, "expire_seconds": 840},
    )


def delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NO_SHOWS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0009_default_outcomes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, delete)]
