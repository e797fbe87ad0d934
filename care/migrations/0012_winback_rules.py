"""The default win-back and early-warning rules (seed 003, seeds 000/002), and
the two call outcomes of a win-back call. Admins edit them in Django admin."""

from django.db import migrations

# The default rules now live in their kinds' specs (care/kinds/<kind>.py) and are
# installed after migrate by care.touches.services.care_default_rules_install;
# this migration kept only what is not a rule.

OUTCOMES = [
    # code, label, reached, action, task outcome, position (after migration 0009's, 0–90)
    ("winback_surveyed", "已完成流失调查", True, "close", "reached", 100),
    ("winback_returning", "客户愿意回厂（已预约）", True, "book", "booked", 110),
]


def create(apps, schema_editor):
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


class Migration(migrations.Migration):
    dependencies = [("care", "0011_winback"), ("customers", "0005_group_tier_policy")]
    operations = [migrations.RunPython(create, delete)]
