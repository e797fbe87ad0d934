"""Running independent statements on several connections at once.

Other connections see this one's rows only outside a transaction, and SQLite
has one writer: there, work runs one piece after another."""

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def parallel_allowed(workers: int) -> bool:
    return workers > 1 and connection.vendor != "sqlite" and not connection.in_atomic_block


def on_own_connection(func: Callable, *args):
    """Call ``func`` in a worker thread, closing the thread's own connection afterwards."""
    try:
        return func(*args)
    finally:
        connection.close()


def map_on_connections(func: Callable, items: Iterable[tuple], workers: int) -> list:
    """``func(*item)`` for each item: ``workers`` at a time on their own
    connections where allowed, else one after another, in order."""
    items = list(items)
    if not parallel_allowed(workers) or len(items) < 2:
        return [func(*item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda item: on_own_connection(func, *item), items))
