"""The holiday calendar now belongs to crm (crm/migrations/0003_holiday_calendar,
which took over and renamed the table). Care only forgets the model: no
database operation, the rows live on in crm_holiday."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0013_outbox_reasons"),
        ("crm", "0003_holiday_calendar"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Holiday")],
            database_operations=[],
        ),
    ]
