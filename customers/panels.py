"""Sections other apps add to the customer's page (the customer 360).

The customers app sits below care, loyalty and complaints and never imports
them; each of them registers a panel here in its ``AppConfig.ready``: a
template and a function that reads its context with a fixed number of
queries. The page renders them in ``order``."""

import dataclasses
from collections.abc import Callable

from customers.models import Customer


@dataclasses.dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable[..., dict]  # (customer=, user=) -> dict
    order: int = 50


_PANELS: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _PANELS[panel.name] = panel


def panels_for(*, customer: Customer, user) -> list[tuple[Panel, dict]]:
    return [(p, p.context(customer=customer, user=user)) for p in sorted(_PANELS.values(), key=lambda p: p.order)]
