"""The rollups night, the survey invitations and the managers' weekly digest in
django-celery-beat, editable in Django admin."""

from django.db import migrations

# (name, task, crontab fields)
SCHEDULES = [
    # 03:15: after the tiers and the club night (02:30) have written their day.
    ("Build the KPI rollups", "analytics.tasks.build_rollups_task", {"minute": "15", "hour": "3", "day_of_week": "*"}),
    # 10:00: the day after the visit, inside the SMS sending hours.
    (
        "Send survey invitations",
        "analytics.tasks.send_survey_invitations_task",
        {"minute": "0", "hour": "10", "day_of_week": "*"},
    ),
    # Monday 08:00: last week's figures in each store manager's mailbox.
    ("Weekly digest to store managers", "analytics.tasks.weekly_digest_task", {"minute": "0", "hour": "8", "day_of_week": "1"}),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, fields in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            day_of_month="*", month_of_year="*", timezone="Asia/Shanghai", **fields
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_surveys_campaigns_rollups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, delete)]
