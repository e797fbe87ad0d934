"""One generator per care kind, registered by kind.

A generator turns a ``Run`` (rule, day, dealerships) into a *queryset* — or a
list of them, when one customer may get several touches at once (solar and
lunar birthday) — whose annotations describe the
touches due: ``t_dealership``, ``t_customer``, ``t_vehicle``, ``t_tier``,
``t_advisor``, ``t_event`` (the date the touch is about), ``t_occasion``, and
optionally ``t_subject``, ``t_amount``, ``t_repair_order``, ``t_appointment``.
The engine (care.services) adds contact and expiry dates, priority and
assignee, and inserts everything with one ``INSERT … SELECT``: no row of
candidates ever passes through Python.

Adding a kind is one module here that calls ``register``.
"""

from collections.abc import Callable
from importlib import import_module

from django.db.models import QuerySet

Generator = Callable[["Run"], QuerySet | list[QuerySet]]  # noqa: F821

_REGISTRY: dict[str, Generator] = {}

MODULES = [
    "maintenance",
    "mileage_milestone",
    "warranty_expiry",
    "insurance",
    "inspection",
    "birthday",
    "holiday",
    "new_car",
    "post_repair",
    "declined_service",
    "appointment_confirm",
    "appointment_no_show",
    "seasonal",
    "recall",
    "weather",
    "winback",
    "early_warning",
]


def register(kind: str) -> Callable[[Generator], Generator]:
    def decorator(func: Generator) -> Generator:
        _REGISTRY[kind] = func
        return func

    return decorator


def get_generator(kind: str) -> Generator | None:
    _load()
    return _REGISTRY.get(kind)


def registered_kinds() -> list[str]:
    _load()
    return sorted(_REGISTRY)


_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for name in MODULES:
        import_module(f"care.generators.{name}")
    _loaded = True
