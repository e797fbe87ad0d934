"""``CustomerStats`` is a working table the nightly recompute rewrites from
scratch: on PostgreSQL it skips the write-ahead log (a crash empties it; the
next recompute fills it again), which halves the recompute's writes."""

from django.db import migrations


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE analytics_customerstats SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE analytics_customerstats SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_schedule_recompute")]
    operations = [migrations.RunPython(unlogged, logged)]
