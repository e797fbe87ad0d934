"""The complaint categories a fresh install starts with (admins edit the list)."""

from django.db import migrations

CATEGORIES = [
    ("attitude", "服务态度"),
    ("repair_quality", "维修质量"),
    ("repeat_repair", "重复维修"),
    ("price", "价格/收费"),
    ("waiting_time", "等待时间"),
    ("parts", "配件"),
    ("broken_promise", "承诺未兑现"),
    ("environment", "环境设施"),
    ("other", "其他"),
]


def create(apps, schema_editor):
    Category = apps.get_model("complaints", "ComplaintCategory")
    for position, (code, label) in enumerate(CATEGORIES):
        Category.objects.get_or_create(code=code, defaults={"label": label, "position": position * 10})


def delete(apps, schema_editor):
    apps.get_model("complaints", "ComplaintCategory").objects.filter(
        code__in=[c for c, _ in CATEGORIES], complaints__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_cases_and_steps")]
    operations = [migrations.RunPython(create, delete)]
