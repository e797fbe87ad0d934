"""What every benchmark starts from: an empty database of its own (a fresh
PostgreSQL database, or a temporary SQLite file), migrated."""

import os
import tempfile
from pathlib import Path

SERVER = "postgresql://postgres@127.0.0.1:5432"


def fresh_database(name: str, *, sqlite: bool) -> None:
    """Point Django at an empty database called ``name`` (dropped and created).
    Call before ``start_django``; nothing of Django is imported yet."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
    os.environ["CRM_LOG_LEVEL"] = "WARNING"
    if sqlite:
        path = Path(tempfile.mkdtemp(prefix=f"{name}-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"


def start_django() -> None:
    """Set Django up on that database and migrate it."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
