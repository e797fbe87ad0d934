"""Building blocks every app's API uses, so that scoping works one way only."""

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.models import Dealership
from crm.tenancy import scope_for_user


class ScopedQuerysetMixin:
    """``queryset`` narrowed to the requesting user's dealership: a foreign object is a 404."""

    def get_queryset(self) -> QuerySet:
        return scope_for_user(super().get_queryset(), self.request.user)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to another row, accepted only inside the user's scope.

    A pk from another dealership reads as "does not exist", the same answer as
    a pk that never existed, so the API leaks nothing.
    """

    def get_queryset(self) -> QuerySet:
        return scope_for_user(super().get_queryset(), self.context["request"].user)


class DealershipFromUserMixin(serializers.Serializer):
    """Store-level users create rows in their own dealership; group-level users name one."""

    dealership = ScopedPrimaryKeyRelatedField(queryset=Dealership.objects.all(), required=False)

    def validate_dealership_choice(self, attrs: dict) -> Model:
        user = self.context["request"].user
        dealership = attrs.get("dealership") or (self.instance.dealership if self.instance else None)
        if dealership is None:
            dealership = user.dealership
        if dealership is None:
            raise serializers.ValidationError(
                {"dealership": _("Group-level users must name the dealership.")}, code="required"
            )
        attrs["dealership"] = dealership
        return dealership
