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

# The default rules now live in their kinds' specs (care/kinds/<kind>.py) and are
# installed after migrate by care.touches.services.care_default_rules_install;
# this migration kept only what is not a rule.


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


def delete(apps, schema_editor):
    apps.get_model("care", "OutcomeCode").objects.filter(code__in=[o[0] for o in OUTCOMES]).delete()


class Migration(migrations.Migration):
    dependencies = [("care", "0008_contacts_and_outcomes")]
    operations = [migrations.RunPython(create, delete)]
