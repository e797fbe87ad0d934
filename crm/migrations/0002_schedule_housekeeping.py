"""Beat schedules live in the database (django-celery-beat) so admins can edit
them; this migration creates the initial entries once."""

from django.db import migrations

SCHEDULES = [
    # Expired sessions pile up in the database backend: purge them nightly.
    {
        "name": "Purge expired sessions",
        "task": "crm.tasks.purge_expired_sessions_task",
        "cron": {"minute": "30", "hour": "3"},
    },
]


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for entry in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            **entry["cron"], day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
        )
        PeriodicTask.objects.get_or_create(name=entry["name"], defaults={"task": entry["task"], "crontab": crontab})


def delete_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[e["name"] for e in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
