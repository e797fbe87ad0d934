"""The one way to scope reads by dealership.

Every model that pages, the admin or the API read declares
``dealership_path``: the lookup from the model to its ``Dealership`` (``"pk"``
for Dealership itself, ``"dealership"``, ``"customer__dealership"`` …).
Pages, admin and API all call ``scope_for_user``; an object outside the scope
is therefore simply not found, which is a 404 everywhere.
"""

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

M = TypeVar("M", bound=Model)


def dealership_lookup(model: type[Model]) -> str:
    path = getattr(model, "dealership_path", None)
    if path is None:
        raise TypeError(f"{model.__name__} declares no dealership_path; it cannot be scoped.")
    # "customer__dealership_id" filters on the customer's column: one join, no more.
    return "pk" if path == "pk" else f"{path}_id"


def scope_for_user(queryset: QuerySet[M], user) -> QuerySet[M]:
    """Rows of ``queryset`` that ``user`` may see: all for group level, own store otherwise."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if user.is_group_level:
        return queryset
    if user.dealership_id is None:
        return queryset.none()
    return queryset.filter(**{dealership_lookup(queryset.model): user.dealership_id})


def get_for_user_or_404(queryset: QuerySet[M], user, **lookup) -> M:
    """Fetch one object in the user's scope; anything else, existing or not, is a 404."""
    return get_object_or_404(scope_for_user(queryset, user), **lookup)
