"""Building blocks every app's API uses, so that scoping, filtering, paging
and errors work one way only.

The REST_FRAMEWORK defaults (crm/settings/base.py) make every viewset use:

- ``StrictFilterBackend``: an unknown query parameter or a bad filter value
  is a 400 naming it, never silently ignored;
- ``StrictOrderingFilter``: an ``ordering`` outside the view's
  ``ordering_fields`` whitelist is a 400 naming the allowed ones;
- ``CursorPage``: cursor pagination (no COUNT over big tables), 50 rows a
  page, ``page_size`` up to 200.

A view reading query parameters of its own (``q``) lists them in
``extra_query_params``. Services raise Django's ``ValidationError``;
``service_errors_as_400`` turns it into DRF's 400 with the reason per field.
"""

import contextlib
import re
from collections.abc import Iterator

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, pagination, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from crm.models import Dealership
from crm.tenancy import scope_for_user

# --- Errors from services -------------------------------------------------------------


def drf_validation_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A service's ``ValidationError`` as DRF's: ``{field: [reasons]}``, with
    errors not tied to a field under ``non_field_errors``."""
    if hasattr(exc, "error_dict"):
        detail = {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    else:
        detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
    return serializers.ValidationError(detail)


@contextlib.contextmanager
def service_errors_as_400() -> Iterator[None]:
    """``with service_errors_as_400(): some_service(...)``: a refusal is a 400 with its reasons."""
    try:
        yield
    except DjangoValidationError as exc:
        raise drf_validation_error(exc) from exc


# --- Query parameters ----------------------------------------------------------------

# Parameters of the pagination and of DRF itself, allowed on every list.
COMMON_QUERY_PARAMS = frozenset({"cursor", "page_size", "format"})


def allowed_query_params(view, filterset=None) -> set[str]:
    """Every query parameter ``view`` understands: its filters, the paging
    and format parameters, ``ordering`` and ``search`` where it uses them,
    and its own ``extra_query_params``."""
    allowed = set(COMMON_QUERY_PARAMS)
    if filterset is not None:
        for name, field in filterset.form.fields.items():
            # A range is two parameters: ``opened_at_after`` and ``opened_at_before``.
            widget = field.widget
            if hasattr(widget, "suffixed"):
                allowed |= {widget.suffixed(name, suffix) for suffix in widget.suffixes}
            else:
                allowed.add(name)
    if getattr(view, "ordering_fields", None):
        allowed.add(api_settings.ORDERING_PARAM)
    if getattr(view, "search_fields", None):
        allowed.add(api_settings.SEARCH_PARAM)
    allowed |= set(getattr(view, "extra_query_params", ()))
    return allowed


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, but an unknown parameter is a 400 naming it
    (a typo must not return the whole unfiltered list), and so is a value
    the filter cannot read (django-filter's own ``raise_exception``)."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        unknown = sorted(set(request.query_params) - allowed_query_params(view, filterset))
        if unknown:
            raise serializers.ValidationError(
                {
                    name: [
                        _("Unknown query parameter “%(name)s”. Allowed: %(allowed)s.")
                        % {"name": name, "allowed": ", ".join(sorted(allowed_query_params(view, filterset)))}
                    ]
                    for name in unknown
                }
            )
        return super().filter_queryset(request, queryset, view)


class StrictOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` limited to the view's ``ordering_fields``; anything else
    is a 400 naming it and the allowed fields. ``pk`` is always appended as the
    tie-breaker, so that equal values come in a fixed order page after page."""

    def get_valid_fields(self, queryset, view, context=None):
        fields = getattr(view, "ordering_fields", None) or []
        # A whitelist only: no "__all__", no fallback to the serializer's fields.
        return [(item, item) if isinstance(item, str) else item for item in fields if item != "__all__"]

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params is None or not params.strip():
            return self.get_default_ordering(view)
        terms = [term.strip() for term in params.split(",")]
        valid = [name for name, _label in self.get_valid_fields(queryset, view)]
        wrong = [term for term in terms if term.removeprefix("-") not in valid]
        if wrong:
            raise serializers.ValidationError(
                {
                    self.ordering_param: [
                        _("Cannot order by “%(wrong)s”. Allowed: %(allowed)s (a leading “-” for descending).")
                        % {"wrong": ", ".join(wrong), "allowed": ", ".join(valid) or _("none")}
                    ]
                }
            )
        if not any(term.removeprefix("-") in ("pk", "id") for term in terms):
            terms.append("-pk" if terms[0].startswith("-") else "pk")
        return terms

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        fields = [name for name, _label in self.get_valid_fields(None, view)]
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "enum": [p for f in fields for p in (f, f"-{f}")]}
        return parameters


class CursorPage(pagination.CursorPagination):
    """Cursor pagination: stable under inserts and no ``COUNT(*)`` over a
    store's years of orders. ``page_size`` is capped at ``max_page_size``:
    asking for more gives the cap, not an error. A page size that is not a
    positive whole number is a 400."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,18}", raw) or int(raw) < 1:
            raise serializers.ValidationError(
                {
                    self.page_size_query_param: [
                        _("Give the page size as a whole number from 1 to %(max)s.") % {"max": self.max_page_size}
                    ]
                }
            )
        return min(int(raw), self.max_page_size)


def scoped_choices(model: type[Model]):
    """A filter's choices within the requesting user's scope (django-filter
    calls it with the request): a foreign id is "not a valid choice", the
    same answer as an id that never existed."""

    def choices(request) -> QuerySet:
        return scope_for_user(model._default_manager.all(), getattr(request, "user", None))

    return choices


class UpsertMixin:
    """``POST <list>/upsert/``: create or update by the resource's natural key
    (a DMS sending what it has, again and again): 201 when created, 200 when
    updated, through the same services as create and update.

    The serializer implements ``upsert(validated_data) -> (instance,
    created)`` with the upsert service; a view whose natural key is a unique
    field overrides ``upsert_instance(data)`` to return the known row, so
    that the serializer's uniqueness check accepts it."""

    def upsert_instance(self, data) -> Model | None:
        return None

    @action(detail=False, methods=["post"], url_path="upsert")
    def upsert(self, request, *args, **kwargs):
        instance = self.upsert_instance(request.data) if isinstance(request.data, dict) else None
        serializer = self.get_serializer(instance, data=request.data)
        serializer.is_valid(raise_exception=True)
        saved, created = serializer.upsert(serializer.validated_data)
        return Response(
            self.get_serializer(self.upsert_output(saved)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def upsert_output(self, instance: Model) -> Model:
        """The saved row as the response shows it (a view reading annotations refetches it)."""
        return instance


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
