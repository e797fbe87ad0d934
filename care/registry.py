"""The care kinds: each one declared once, by a ``KindSpec`` in its module of
``care.kinds``, and read from here by the models' choices, the rule form, the
engine, the messaging checks and the workspace.

This module imports no model and no kind: the kinds' modules are loaded the
first time anybody asks (by name, so the layers stay as they are: the models
at the bottom use ``kind_choices`` without importing a generator).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.utils.functional import Promise

# The kinds that ship with the CRM; a deployment may add its own module with
# ``CRM_CARE_EXTRA_KIND_MODULES`` (or call ``register`` from its own app).
KIND_MODULES = [
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
    "complaint_verification",
    "complaint_receipt",
    "membership_welcome",
    "membership_renewal",
    "referral_thanks",
    "club_event_invite",
    "survey_invite",
    "detractor_followup",
    "campaign",
]

# What every generator's rows must carry, and what the engine fills when a
# generator leaves the optional ones out (see ``care.engine.services``).
REQUIRED_COLUMNS = ("t_dealership", "t_customer", "t_vehicle", "t_tier", "t_advisor", "t_event", "t_occasion")
OPTIONAL_COLUMNS = ("t_subject", "t_amount", "t_repair_order", "t_appointment", "t_complaint")


@dataclasses.dataclass(frozen=True)
class Param:
    """One kind-specific parameter of a rule, shown as a real field in admin.

    ``type``: "int", "date", "bool", "str", "choice", "multichoice", "int_list"
    or "str_list". ``choices`` for the choice types; ``default`` is what a new
    rule starts with.
    """

    name: str
    label: str | Promise
    type: str = "int"
    default: Any = None
    required: bool = False
    choices: tuple[tuple[str, str | Promise], ...] = ()
    help_text: str | Promise = ""
    min_value: int | None = None


@dataclasses.dataclass(frozen=True)
class KindSpec:
    """Everything the code knows about one kind of care touch.

    - ``generate(run)``: a queryset (or a list of them) of the touches due,
      with the columns in ``REQUIRED_COLUMNS`` (see ``care.kinds.base``).
    - ``fulfilled(open_touches, day)``: the subset of the kind's open touches
      whose purpose was met (a visit, a renewal, a new inspection date…);
      they close with ``fulfilled_status``/``fulfilled_outcome``.
    - ``clean_params(params)``: raises ValidationError with what is wrong.
    - ``params``: the parameters the admin form shows as fields.
    - ``default_rules``: the group rules a fresh install starts with.
    - ``context(touches)``: the kind's own placeholders for a list of its
      touches, ``{touch id: {placeholder: value}}``, in a fixed number of
      queries whatever the number of touches (see ``care.touches.selectors``).
    - ``appointment_kind``: the kind of repair order a call books.
    - ``scans_every_car``: long rules run first when rules run in parallel.
    """

    kind: str
    label: str | Promise
    marketing: bool = False
    generate: Callable | None = None
    fulfilled: Callable | None = None
    fulfilled_status: str = "done"
    fulfilled_outcome: str = "fulfilled"
    clean_params: Callable[[dict], Any] | None = None
    params: tuple[Param, ...] = ()
    default_rules: tuple[dict, ...] = ()
    context: Callable[[list], dict[int, dict]] | None = None
    appointment_kind: str = "maintenance"
    scans_every_car: int = 9
    module: str = ""

    @property
    def message_only(self) -> bool:
        """Worked by messages alone (its default rules send no call): not an advisor's call."""
        return bool(self.default_rules) and all(rule.get("channel", "call") != "call" for rule in self.default_rules)


_REGISTRY: dict[str, KindSpec] = {}
_loaded = False


def register(spec: KindSpec) -> KindSpec:
    """Declare a kind (its module calls this at import). Registering a kind
    again replaces it, so a module reloaded in tests is not an error."""
    _REGISTRY[spec.kind] = spec
    return spec


def unregister(kind: str) -> None:
    _REGISTRY.pop(kind, None)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from django.conf import settings

    for name in KIND_MODULES:
        import_module(f"care.kinds.{name}")
    for path in getattr(settings, "CRM_CARE_EXTRA_KIND_MODULES", []):
        import_module(path)


def specs() -> list[KindSpec]:
    _load()
    return list(_REGISTRY.values())


def spec_for(kind: str) -> KindSpec | None:
    _load()
    return _REGISTRY.get(kind)


def kind_choices() -> list[tuple[str, str | Promise]]:
    """The models' and forms' choices for a kind field (Django evaluates it lazily)."""
    return [(spec.kind, spec.label) for spec in specs()]


def marketing_kinds() -> frozenset[str]:
    """Kinds whose messages are marketing: they need the customer's consent and
    count against the frequency cap. The others are about the customer's own car."""
    return frozenset(spec.kind for spec in specs() if spec.marketing)


class _Kinds:
    """``CareKind.MAINTENANCE`` → ``"maintenance"``: the kind names, read from the
    registry, so a misspelt or unregistered kind is an AttributeError at once."""

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        kind = name.lower()
        if spec_for(kind) is None:
            raise AttributeError(f"no care kind {kind!r} is registered")
        return kind

    @property
    def choices(self) -> list[tuple[str, str | Promise]]:
        return kind_choices()

    @property
    def values(self) -> list[str]:
        return [spec.kind for spec in specs()]


CareKind = _Kinds()
