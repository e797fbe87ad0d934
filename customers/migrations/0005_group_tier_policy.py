from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("customers", "TierPolicy").objects.get_or_create(dealership=None)


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_tiers_and_churn")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
