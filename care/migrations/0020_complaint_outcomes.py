"""The call outcomes of the loop with complaints (issue 11): the customer's
satisfaction on a verification call, and "dissatisfied", which reopens the
case of a verification call and opens one from a post-repair call
(care.workspace.complaints). Installed like the defaults of 0009: a code an
admin already made is left as it is."""

from django.db import migrations, models

OUTCOMES = [
    # code, label, position, extra
    ("satisfied", "客户满意（问题已解决）", 52, {"asks": ["satisfaction"]}),
    ("dissatisfied", "客户不满意", 54, {"asks": ["satisfaction"], "dissatisfied": True}),
]


def create(apps, schema_editor):
    OutcomeCode = apps.get_model("care", "OutcomeCode")
    for code, label, position, extra in OUTCOMES:
        OutcomeCode.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "reached": True,
                "action": "close",
                "task_outcome": "reached",
                "position": position,
                **extra,
            },
        )


def delete(apps, schema_editor):
    apps.get_model("care", "OutcomeCode").objects.filter(code__in=[o[0] for o in OUTCOMES]).delete()


class Migration(migrations.Migration):
    dependencies = [("care", "0019_complaint_loop")]
    operations = [
        migrations.AlterField(
            model_name="outcomecode",
            name="asks",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text=(
                    'Extra fields the advisor fills in, e.g. ["where", "why"]. Known: reason, where, why, insurer, '
                    "satisfaction (the customer's score, 1–5)."
                ),
                verbose_name="details asked",
            ),
        ),
        migrations.RunPython(create, delete),
    ]
