"""The holiday calendar moves from care to crm, and each year's data is recorded.

Complaints (a sibling of care that may not import it) count working days too,
so the table now belongs to the lowest layer. No row is copied:

1. ``crm.Holiday`` takes over the existing ``care_holiday`` table in the
   migration state only (care/migrations/0014 removes ``care.Holiday`` from
   care's state, also without touching the database);
2. the table is renamed to ``crm_holiday`` (a rename keeps every row, and no
   foreign key points at it); on PostgreSQL its primary key, unique
   constraint and id sequence get the names a fresh ``crm_holiday`` would
   have, so that nothing named ``care_holiday…`` is left to collide with;
3. the content type follows the model, so admin history and any permission
   granted on it stay attached;
4. ``crm.HolidayYear`` records which years have official data: those that
   care/migrations/0003 seeded from chinesecalendar.
"""

from collections import defaultdict

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

OLD_TABLE, NEW_TABLE = "care_holiday", "crm_holiday"


def _rename_postgresql_names(schema_editor, old_prefix: str, new_prefix: str) -> None:
    """Rename the constraints, indexes and sequence of the (already renamed)
    table whose names still start with ``old_prefix``. SQLite names its
    automatic indexes after the table itself, so there is nothing to do there."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, NEW_TABLE)
        sequences = connection.introspection.get_sequences(cursor, NEW_TABLE)
    for name, info in constraints.items():
        if not name.startswith(old_prefix):
            continue
        new_name = new_prefix + name[len(old_prefix) :]
        if info["primary_key"] or info["unique"] or info["check"] or info["foreign_key"]:
            # Renaming a constraint renames the index behind it too.
            schema_editor.execute(
                f"ALTER TABLE {quote(NEW_TABLE)} RENAME CONSTRAINT {quote(name)} TO {quote(new_name)}"
            )
        else:
            schema_editor.execute(f"ALTER INDEX {quote(name)} RENAME TO {quote(new_name)}")
    for sequence in sequences:
        name = sequence.get("name") or ""
        if name.startswith(old_prefix):
            new_name = new_prefix + name[len(old_prefix) :]
            schema_editor.execute(f"ALTER SEQUENCE {quote(name)} RENAME TO {quote(new_name)}")


def rename_names_forwards(apps, schema_editor):
    _rename_postgresql_names(schema_editor, OLD_TABLE, NEW_TABLE)


def rename_names_backwards(apps, schema_editor):
    _rename_postgresql_names(schema_editor, NEW_TABLE, OLD_TABLE)


def _move_content_type(apps, schema_editor, from_label: str, to_label: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    # On a fresh database neither exists yet: post_migrate creates crm's.
    if not types.filter(app_label=to_label, model="holiday").exists():
        types.filter(app_label=from_label, model="holiday").update(app_label=to_label)


def move_content_type_forwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, "care", "crm")


def move_content_type_backwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, "crm", "care")


def record_seeded_years(apps, schema_editor):
    """A year is known when its rows are chinesecalendar's for that year (what
    care/migrations/0003 seeded) or were edited by an admin in a year the
    library covers. Rows typed in by hand for a year the library lacks may be
    partial: that year stays unknown until an admin confirms it in the year
    form, and the calendar warning asks for exactly that."""
    import chinese_calendar
    from chinese_calendar import constants

    db = schema_editor.connection.alias
    Holiday = apps.get_model("crm", "Holiday")
    HolidayYear = apps.get_model("crm", "HolidayYear")

    library = defaultdict(set)
    for day in constants.holidays:
        library[day.year].add((day, True))
    for day in constants.workdays:
        library[day.year].add((day, False))
    table = defaultdict(set)
    for day, is_day_off in Holiday.objects.using(db).values_list("date", "is_day_off"):
        table[day.year].add((day, is_day_off))

    now = django.utils.timezone.now()
    rows = []
    for year in sorted(table):
        if year not in library:
            continue
        if table[year] == library[year]:
            rows.append(
                HolidayYear(year=year, source="chinesecalendar", release=chinese_calendar.__version__, loaded_at=now)
            )
        else:
            rows.append(HolidayYear(year=year, source="admin", loaded_at=now))
    HolidayYear.objects.using(db).bulk_create(rows)


def forget_years(apps, schema_editor):
    apps.get_model("crm", "HolidayYear").objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("crm", "0002_schedule_housekeeping"),
        ("care", "0013_outbox_reasons"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Holiday",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("date", models.DateField(unique=True, verbose_name="date")),
                        ("name", models.CharField(max_length=50, verbose_name="name")),
                        (
                            "is_day_off",
                            models.BooleanField(
                                default=True, help_text="Unticked: an adjusted working day.", verbose_name="day off"
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "holiday calendar day",
                        "verbose_name_plural": "holiday calendar",
                        "ordering": ["date"],
                        "db_table": OLD_TABLE,
                    },
                ),
            ],
            database_operations=[],
        ),
        # db_table back to the default (crm_holiday): renames the table.
        migrations.AlterModelTable(name="holiday", table=None),
        migrations.RunPython(rename_names_forwards, rename_names_backwards),
        migrations.RunPython(move_content_type_forwards, move_content_type_backwards),
        migrations.CreateModel(
            name="HolidayYear",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "year",
                    models.PositiveSmallIntegerField(
                        unique=True,
                        validators=[
                            django.core.validators.MinValueValidator(2000),
                            django.core.validators.MaxValueValidator(2100),
                        ],
                        verbose_name="year",
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("chinesecalendar", "chinesecalendar library"),
                            ("admin", "Entered in administration"),
                        ],
                        max_length=20,
                        verbose_name="source",
                    ),
                ),
                (
                    "release",
                    models.CharField(
                        blank=True,
                        help_text="The chinesecalendar version the days came from.",
                        max_length=20,
                        verbose_name="library release",
                    ),
                ),
                ("loaded_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="loaded at")),
                (
                    "loaded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="loaded by",
                    ),
                ),
            ],
            options={
                "verbose_name": "holiday year",
                "verbose_name_plural": "holiday years",
                "ordering": ["-year"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("year__gte", 2000), ("year__lte", 2100)), name="holidayyear_year_in_range"
                    )
                ],
            },
        ),
        migrations.RunPython(record_seeded_years, forget_years),
    ]
