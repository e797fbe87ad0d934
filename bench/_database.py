"""The database a benchmark runs on: a fresh PostgreSQL database, or a
temporary SQLite file. Set before ``django.setup()``."""

import os
import tempfile
from pathlib import Path

SERVER = "postgresql://postgres@127.0.0.1:5432"


def fresh_database(name: str, *, sqlite: bool) -> None:
    """Point ``DATABASE_URL`` at an empty database called ``name`` (dropped and created)."""
    if sqlite:
        path = Path(tempfile.mkdtemp(prefix=f"{name}-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
