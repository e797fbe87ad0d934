"""The nightly purge of the API's stored POST answers (``crm.idempotency``)."""

from django.db import migrations

SCHEDULES = [
    {
        "name": "Purge the API's idempotency records",
        "task": "crm.tasks.purge_idempotency_records_task",
        "cron": {"minute": "40", "hour": "3"},
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
        ("crm", "0007_user_people"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
