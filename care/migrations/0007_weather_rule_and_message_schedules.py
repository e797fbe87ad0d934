"""Messages and weather for a fresh install: the default weather rule, the
message the day before a call for the kinds that want one, and the beat
entries for the sender (every minute) and the weather poll (every 3 hours)."""

from django.db import migrations

SIGN = "【{dealership}】"

WEATHER_RULE = {
    "kind": "weather",
    "name": "恶劣天气关怀",
    "channel": "sms",
    "lead_days": 0,
    "expiry_days": 1,
    "priority": 45,
    "message_template": SIGN + "{name}{title}，{item}如遇车辆故障请拨打24小时救援电话{rescue_phone}。",
    "call_script": "",
    "params": {
        "events": ["rainstorm", "typhoon", "cold_wave", "heat", "snow", "fog"],
        "min_colour": "yellow",
        "tips": {
            "rainstorm": "雨天请减速慢行、开启近光灯，避开积水路段和下穿隧道；车辆涉水熄火后切勿再次启动。",
            "typhoon": "请将爱车停放在地势较高处，远离广告牌、大树和围墙，非必要不出行。",
            "cold_wave": "气温骤降，出行前请检查胎压和电瓶，清除车窗冰霜后再上路，注意防冻液是否充足。",
            "heat": "高温天气请勿将打火机、充电宝等物品留在车内，启动后先通风再开空调，注意检查冷却液和胎压。",
            "snow": "雪天路滑，请降低车速、加大车距、轻踩刹车，必要时使用防滑链。",
            "fog": "雾天请开启雾灯和近光灯，降低车速、保持车距，切勿急刹车。",
            "other": "恶劣天气出行请注意安全，减速慢行。",
        },
    },
}

MESSAGE_DAY_BEFORE = ["maintenance", "warranty_expiry", "insurance", "inspection", "seasonal"]

SENDER = "Send queued messages"
POLL = "Poll severe weather"


def create(apps, schema_editor):
    CareRule = apps.get_model("care", "CareRule")
    spec = dict(WEATHER_RULE)
    kind, name = spec.pop("kind"), spec.pop("name")
    CareRule.objects.get_or_create(dealership=None, kind=kind, name=name, defaults=spec)
    CareRule.objects.filter(dealership=None, kind__in=MESSAGE_DAY_BEFORE, channel="call").exclude(
        message_template=""
    ).update(message_day_before=True)

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
    apps.get_model("care", "CareRule").objects.filter(
        dealership=None, name=WEATHER_RULE["name"], tasks__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0006_messages_and_weather"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, delete)]
