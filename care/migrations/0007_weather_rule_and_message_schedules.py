"""Messages and weather for a fresh install: the default weather rule, the
message the day before a call for the kinds that want one, and the beat
entries for the sender (every minute) and the weather poll (every 3 hours)."""

from django.db import migrations

# The default rules now live in their kinds' specs (care/kinds/<kind>.py) and are
# installed after migrate by care.touches.services.care_default_rules_install;
# this migration kept only what is not a rule.

SENDER = "Send queued messages"
POLL = "Poll severe weather"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    # expires: a run the worker could not start within the minute is dropped;
    # the next one does its work.
    PeriodicTask.objects.get_or_create(
        name=SENDER,
        defaults={"task": "care.tasks.send_outbox_task", "interval": every_minute, "expire_seconds": 55},
    )
    every_3_hours, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="*/3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name=POLL, defaults={"task": "care.tasks.poll_weather_task", "crontab": every_3_hours}
    )


def delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[SENDER, POLL]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0006_messages_and_weather"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, delete)]
