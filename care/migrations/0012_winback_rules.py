"""The default win-back and early-warning rules (seed 003, seeds 000/002), and
the two call outcomes of a win-back call. Admins edit them in Django admin."""

from django.db import migrations

GREETING = "{name}{title}您好，我是{dealership}的服务顾问{advisor}。"

RULES = [
    {
        "kind": "winback",
        "name": "流失客户回访",
        "channel": "call",
        "lead_days": 0,
        "expiry_days": 21,
        "priority": 60,
        "params": {"states": ["at_risk", "lost"]},
        "message_template": "",
        # Seed 003 §2B: why not back, repaired elsewhere?, what, where, why there.
        "call_script": GREETING + "您有一段时间没回店了，想了解一下您和爱车的近况，耽误您两分钟做个简短回访：\n"
        "① 请问是什么原因没有回店保养维修？（价格／维修质量（一次修复）／服务态度／承诺未兑现／"
        "距离或时间／保险公司或交警指定维修／搬家／车已卖／其他）\n"
        "② 这段时间爱车在别处保养或维修过吗？\n"
        "③ 做了哪些项目？\n"
        "④ 在哪里做的？\n"
        "⑤ 为什么选择在那里？\n"
        "感谢您的意见，我们会认真改进。如有本店回厂优惠（见本次回访原因），请向客户介绍，并邀请预约到店。",
    },
    {
        "kind": "early_warning",
        "name": "预警关怀回访",
        "channel": "call",
        "lead_days": 0,
        "expiry_days": 7,
        "priority": 75,
        "message_template": "",
        "call_script": GREETING + "想回访一下您最近用车和在本店的服务体验，"
        "有没有哪里让您不满意、需要我们改进的？有什么需要随时找我，我的电话是{advisor_phone}。",
    },
]

OUTCOMES = [
    # code, label, reached, action, task outcome, position (after migration 0009's, 0–90)
    ("winback_surveyed", "已完成流失调查", True, "close", "reached", 100),
    ("winback_returning", "客户愿意回厂（已预约）", True, "book", "booked", 110),
]


def create(apps, schema_editor):
    CareRule = apps.get_model("care", "CareRule")
    for rule in RULES:
        spec = dict(rule)
        kind, name = spec.pop("kind"), spec.pop("name")
        CareRule.objects.get_or_create(dealership=None, kind=kind, name=name, defaults=spec)
    OutcomeCode = apps.get_model("care", "OutcomeCode")
    for code, label, reached, action, outcome, position in OUTCOMES:
        OutcomeCode.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "reached": reached,
                "action": action,
                "task_outcome": outcome,
                "position": position,
            },
        )


def delete(apps, schema_editor):
    # Codes that contacts point at, and rules with touches, stay (both are PROTECTed).
    codes = [o[0] for o in OUTCOMES]
    used = apps.get_model("care", "Contact").objects.filter(outcome__code__in=codes).values("outcome_id")
    apps.get_model("care", "OutcomeCode").objects.filter(code__in=codes).exclude(pk__in=used).delete()
    apps.get_model("care", "CareRule").objects.filter(
        dealership=None, name__in=[r["name"] for r in RULES], tasks__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("care", "0011_winback"), ("customers", "0005_group_tier_policy")]
    operations = [migrations.RunPython(create, delete)]
