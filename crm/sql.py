"""Date arithmetic that PostgreSQL and SQLite agree on, for set-based generators.

Months clamp to the end of a shorter month (2026-01-31 + 1 month =
2026-02-28), like ``dateutil.relativedelta``; day offsets are whole days
(fractions are dropped).
"""

from django.db.models import DateField, Func, IntegerField


class AddMonths(Func):
    output_field = DateField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        months_sql, months_params = compiler.compile(self.source_expressions[1])
        return f"(({date_sql}) + make_interval(months => ({months_sql})::int))::date", (*date_params, *months_params)

    def as_sqlite(self, compiler, connection, **extra):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        months_sql, months_params = compiler.compile(self.source_expressions[1])
        # First of the month + n months + (day - 1) days, but never past the
        # last day of the target month; ISO date strings compare as dates.
        sql = (
            f"min(date({date_sql}, 'start of month', '+' || ({months_sql}) || ' months', "
            f"'+' || (CAST(strftime('%%d', {date_sql}) AS INTEGER) - 1) || ' days'), "
            f"date({date_sql}, 'start of month', '+' || (({months_sql}) + 1) || ' months', '-1 day'))"
        )
        return sql, (*date_params, *months_params, *date_params, *date_params, *months_params)


class AddDays(Func):
    output_field = DateField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        days_sql, days_params = compiler.compile(self.source_expressions[1])
        return f"(({date_sql}) + (floor({days_sql}))::int)", (*date_params, *days_params)

    def as_sqlite(self, compiler, connection, **extra):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        days_sql, days_params = compiler.compile(self.source_expressions[1])
        return f"date({date_sql}, CAST(CAST(floor({days_sql}) AS INTEGER) AS TEXT) || ' days')", (
            *date_params,
            *days_params,
        )


class DaysBetween(Func):
    """Whole days from the second date to the first (``later - earlier``)."""

    output_field = IntegerField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra):
        a_sql, a_params = compiler.compile(self.source_expressions[0])
        b_sql, b_params = compiler.compile(self.source_expressions[1])
        return f"(({a_sql})::date - ({b_sql})::date)", (*a_params, *b_params)

    def as_sqlite(self, compiler, connection, **extra):
        a_sql, a_params = compiler.compile(self.source_expressions[0])
        b_sql, b_params = compiler.compile(self.source_expressions[1])
        return f"CAST(julianday({a_sql}) - julianday({b_sql}) AS INTEGER)", (*a_params, *b_params)


def insert_select(model, rows, columns: dict[str, str], *, ignore_conflicts: bool = True) -> int:
    """``INSERT INTO model (columns) SELECT …`` from ``rows``: a queryset whose
    annotations are named in ``columns`` ({target column: annotation}); they are
    selected by name, so their order in the SQL does not matter. One statement
    whatever the number of rows; with ``ignore_conflicts`` a row a unique
    constraint refuses is skipped (what makes a rerun earn nothing twice).
    Returns how many rows went in."""
    from django.core.exceptions import EmptyResultSet
    from django.db import connections

    rows = rows.values(*columns.values())
    try:
        select_sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    except EmptyResultSet:
        return 0
    connection = connections[rows.db]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    cols = ", ".join(quote(c) for c in columns)
    picked = ", ".join(f"src.{quote(alias)}" for alias in columns.values())
    body = f"SELECT {picked} FROM ({select_sql}) AS src"
    if connection.vendor == "sqlite":
        verb = "INSERT OR IGNORE INTO" if ignore_conflicts else "INSERT INTO"
        sql = f"{verb} {table} ({cols}) {body}"
    else:
        sql = f"INSERT INTO {table} ({cols}) {body}{' ON CONFLICT DO NOTHING' if ignore_conflicts else ''}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)
