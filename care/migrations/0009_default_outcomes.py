"""The call outcomes a fresh install starts with (admins edit them), and the
default rule for missed appointments."""

from django.db import migrations

OUTCOMES = [
    # code, label, reached, action, task outcome, extra
    ("booked", "已预约到店", True, "book", "booked", {}),
    ("later", "稍后再来（约定回访日）", True, "snooze", "reached", {}),
    ("declined", "暂不需要", True, "close", "declined", {"asks": ["reason"]}),
    ("done_elsewhere", "已在别处做过", True, "close", "done_elsewhere", {"asks": ["where", "why"]}),
    ("insured_elsewhere", "已在别处续保", True, "close", "insured_elsewhere", {"asks": ["insurer", "reason"]}),
    ("reached", "已沟通，无需跟进", True, "close", "reached", {}),
    ("not_reached", "未接通", False, "retry", "unreachable", {"max_attempts": 3}),
    ("wrong_number", "号码错误", False, "close", "wrong_number", {"flags_phone": True}),
    ("car_sold", "车辆已卖出", True, "close", "car_sold", {"vehicle_status": "sold"}),
    ("moved", "已搬离本地", True, "close", "moved", {"customer_status": "moved"}),
]

NO_SHOW_RULE = {
    "kind": "appointment_no_show",
    "name": "爽约回访",
    "channel": "call",
    "lead_days": 0,
    "expiry_days": 7,
    "priority": 85,
    "message_template": "",
    "call_script": "{name}{title}您好，我是{dealership}的服务顾问{advisor}。您预约的到店时间已过，"
    "是临时有事吗？我帮您重新约个方便的时间好吗？",
}


def create(apps, schema_editor):
    OutcomeCode = apps.get_model("care", "OutcomeCode")
    for position, (code, label, reached, action, outcome, extra) in enumerate(OUTCOMES):
        OutcomeCode.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "reached": reached,
                "action": action,
                "task_outcome": outcome,
                "position": position * 10,
                **extra,
            },
        )
    CareRule = apps.get_model("care", "CareRule")
    spec = dict(NO_SHOW_RULE)
    kind, name = spec.pop("kind"), spec.pop("name")
    CareRule.objects.get_or_create(dealership=None, kind=kind, name=name, defaults=spec)


def delete(apps, schema_editor):
    apps.get_model("care", "OutcomeCode").objects.filter(code__in=[o[0] for o in OUTCOMES]).delete()
    apps.get_model("care", "CareRule").objects.filter(
        dealership=None, name=NO_SHOW_RULE["name"], tasks__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("care", "0008_contacts_and_outcomes")]
    operations = [migrations.RunPython(create, delete)]
