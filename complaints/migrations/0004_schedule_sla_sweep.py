"""The beat entry that keeps complaint SLAs: due soon, breached, escalated."""

from django.db import migrations

SWEEP = "Complaint SLA sweep"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15_minutes, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    # expires: a run the worker could not start before the next one is dropped;
    # the next one does its work (the sweep is selected by state).
    PeriodicTask.objects.get_or_create(
        name=SWEEP,
        defaults={"task": "complaints.tasks.complaints_sla_sweep_task", "interval": every_15_minutes, "expire_seconds": 840},
    )


def delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0003_sla_clocks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, delete)]
