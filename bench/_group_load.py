"""Bulk loading for ``bench/fill_group.py``: what the big tables' indexes and
constraints are (read from the catalogue, so a migration that adds one is
rebuilt too), dropping them before the load, COPYing the workers' files, and
rebuilding everything after it on a few sessions at once.

PostgreSQL only (psycopg 3). The sessions are plain psycopg connections run by
threads: the work is in the server, the threads only wait.
"""

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

# Per session: room for the index sorts and the foreign keys' hash joins in
# memory, and no parallel workers of its own (the sessions already use the cores).
SESSION_SETTINGS = (
    "SET maintenance_work_mem = '1GB'",
    "SET work_mem = '256MB'",
    "SET max_parallel_maintenance_workers = 0",
    "SET max_parallel_workers_per_gather = 0",
    "SET synchronous_commit = off",
)


def connect(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    for statement in SESSION_SETTINGS:
        conn.execute(statement)
    return conn


@dataclasses.dataclass
class Schema:
    """The indexes and constraints of ``tables`` (and the foreign keys pointing at them)."""

    tables: list[str]
    # (table, name, definition): unique and primary key constraints keep their index definition apart.
    keys: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)  # table, name, kind, index def
    checks: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    foreign: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    others: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # exclusion constraints
    indexes: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    @classmethod
    def read(cls, conn: psycopg.Connection, tables: list[str]) -> "Schema":
        schema = cls(tables=tables)
        rows = conn.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid),
                   CASE WHEN c.conindid <> 0 THEN pg_get_indexdef(c.conindid) END, c.condeferrable
            FROM pg_constraint c
            WHERE (c.conrelid = ANY(%(t)s::regclass[]) OR (c.contype = 'f' AND c.confrelid = ANY(%(t)s::regclass[])))
              AND c.contype IN ('p', 'u', 'c', 'f', 'x')
            ORDER BY 1, 2
            """,
            {"t": tables},
        ).fetchall()
        for table, name, kind, definition, index_def, deferrable in rows:
            if kind in ("p", "u") and not deferrable:
                schema.keys.append((table, name, kind, index_def))
            elif kind == "c":
                schema.checks.append((table, name, definition))
            elif kind == "f":
                schema.foreign.append((table, name, definition))
            else:
                schema.others.append((table, name, definition))
        rows = conn.execute(
            """
            SELECT i.indrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = ANY(%(t)s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            ORDER BY 1, 2
            """,
            {"t": tables},
        ).fetchall()
        schema.indexes = [tuple(r) for r in rows]
        return schema

    def drop(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            for table, name, _ in self.foreign:
                conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for table, name, _ in self.checks + self.others:
                conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for table, name, _kind, _ in self.keys:
                conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for _table, name, _ in self.indexes:
                conn.execute(f'DROP INDEX "{name}"')

    def count(self) -> dict[str, int]:
        return {
            "keys": len(self.keys),
            "checks": len(self.checks),
            "foreign keys": len(self.foreign),
            "indexes": len(self.indexes) + len(self.others),
        }


# --- Running statements on several sessions -------------------------------------------


@dataclasses.dataclass
class Task:
    name: str
    run: Callable[[psycopg.Connection], object]
    requires: tuple[str, ...] = ()
    weight: float = 0  # bigger first among the ready ones
    seconds: float = 0.0
    result: object = None


class Pool:
    """Runs tasks on ``size`` sessions, each as soon as the tasks it requires are done."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = size

    def run(self, tasks: list[Task]) -> dict[str, Task]:
        pending = list(tasks)
        done: dict[str, Task] = {}
        names = {t.name for t in tasks}
        for task in tasks:
            unknown = set(task.requires) - names
            if unknown:
                raise ValueError(f"{task.name} requires unknown tasks {unknown}")
        lock = threading.Condition()
        errors: list[BaseException] = []

        def ready() -> Task | None:
            candidates = [t for t in pending if all(r in done for r in t.requires)]
            if not candidates:
                return None
            best = max(candidates, key=lambda t: t.weight)
            pending.remove(best)
            return best

        def worker() -> None:
            conn = connect(self.url)
            try:
                while True:
                    with lock:
                        while True:
                            if errors or not pending:
                                return
                            task = ready()
                            if task is not None:
                                break
                            lock.wait()
                    started = time.perf_counter()
                    try:
                        task.result = task.run(conn)
                    except BaseException as exc:
                        with lock:
                            errors.append(RuntimeError(f"{task.name}: {exc}"))
                            lock.notify_all()
                        return
                    task.seconds = time.perf_counter() - started
                    with lock:
                        done[task.name] = task
                        lock.notify_all()
            finally:
                conn.close()

        threads = [threading.Thread(target=worker) for _ in range(self.size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return done


def sql(statement: str) -> Callable[[psycopg.Connection], None]:
    def run(conn: psycopg.Connection) -> None:
        conn.execute(statement)

    return run


def copy_files(table: str, columns: list[str], paths: list[Path]) -> Callable[[psycopg.Connection], int]:
    """TRUNCATE and COPY ... FREEZE in one transaction: the rows arrive frozen
    and all-visible, so the first reads after the load neither rewrite every
    page for its hint bits nor wait for a vacuum before index-only scans."""

    def run(conn: psycopg.Connection) -> int:
        size = 0
        with conn.transaction():
            conn.execute(f"TRUNCATE {table}")
            with conn.cursor() as cursor:
                for path in paths:
                    with (
                        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FREEZE)") as copy,
                        open(path, "rb") as handle,
                    ):
                        while chunk := handle.read(1 << 20):
                            copy.write(chunk)
                            size += len(chunk)
        return size

    return run


def rebuild_tasks(
    schema: Schema, loaded: dict[str, str], sizes: dict[str, float], *, late: tuple[str, ...] = ()
) -> list[Task]:
    """The rebuild as tasks with the least waiting between them.

    Per table: its checks (one ALTER TABLE, one scan; its indexes wait for it,
    since the ALTER locks the table), then its keys and indexes (plain CREATE
    [UNIQUE] INDEX, which run beside each other), then the keys attached as
    constraints (USING INDEX), then its foreign keys, added NOT VALID and
    validated (a validation only share-locks the table it points to), as soon
    as the tables they point to have their keys, then ANALYZE. So the smaller
    tables are finished while the repair orders are still being copied.

    ``loaded`` maps a table to the task that loads it; ``late`` are tasks
    (rows written into the other tables) every foreign key of a table outside
    ``schema.tables`` waits for."""
    tasks: list[Task] = []
    attached: dict[str, str] = {}
    tables = list(dict.fromkeys([*schema.tables, *(t for t, _n, _d in schema.foreign)]))
    for table in schema.tables:
        requires = (loaded[table],) if table in loaded else ()
        checks = [(n, d) for t, n, d in schema.checks if t == table]
        if checks:
            statement = f"ALTER TABLE {table} " + ", ".join(f'ADD CONSTRAINT "{n}" {d}' for n, d in checks)
            tasks.append(Task(f"checks {table}", sql(statement), requires, weight=sizes.get(table, 0) + 1))
            requires = (f"checks {table}",)
        built = []
        for _t, name, _kind, index_def in [k for k in schema.keys if k[0] == table]:
            tasks.append(Task(f"index {name}", sql(index_def), requires, weight=sizes.get(table, 0)))
            built.append(f"index {name}")
        for _t, name, index_def in [i for i in schema.indexes if i[0] == table]:
            tasks.append(Task(f"index {name}", sql(index_def), requires, weight=sizes.get(table, 0)))
            built.append(f"index {name}")
        statements = []
        for _t, name, kind, _ in [k for k in schema.keys if k[0] == table]:
            word = "PRIMARY KEY" if kind == "p" else "UNIQUE"
            statements.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {word} USING INDEX "{name}"')
        for _t, name, definition in [o for o in schema.others if o[0] == table]:
            statements.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        tasks.append(Task(f"attach {table}", _statements(statements), (*requires, *built), weight=1e13))
        attached[table] = f"attach {table}"
    for table in tables:
        foreign = [(n, d) for t, n, d in schema.foreign if t == table]
        if not foreign:
            continue
        requires = {attached[table]} if table in attached else set(late)
        for _n, definition in foreign:
            target = definition.split("REFERENCES ", 1)[1].split("(", 1)[0].strip()
            if target in attached:
                requires.add(attached[target])
        statements = [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d} NOT VALID' for n, d in foreign]
        statements += [f'ALTER TABLE {table} VALIDATE CONSTRAINT "{n}"' for n, _d in foreign]
        tasks.append(
            Task(f"foreign keys {table}", _statements(statements), tuple(requires), weight=sizes.get(table, 0) * 2)
        )
    for table in tables:
        after = f"foreign keys {table}" if any(t == table for t, _n, _d in schema.foreign) else attached[table]
        tasks.append(Task(f"analyze {table}", sql(f"ANALYZE {table}"), (after,), weight=-1))
    return tasks


def _statements(statements: list[str]) -> Callable[[psycopg.Connection], None]:
    def run(conn: psycopg.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run
