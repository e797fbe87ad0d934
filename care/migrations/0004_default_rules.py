"""Default care rules for a fresh install: one group-wide rule per kind, with
Chinese scripts. Admins edit them, or add a dealership's own rule of the same
kind and name to override one store, in Django admin."""

from django.db import migrations

# The default rules now live in their kinds' specs (care/kinds/<kind>.py) and are
# installed after migrate by care.touches.services.care_default_rules_install;
# this migration kept only what is not a rule.


class Migration(migrations.Migration):
    dependencies = [("care", "0003_seed_holidays")]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
