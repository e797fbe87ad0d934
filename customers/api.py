import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, routers, serializers, viewsets

from crm.api import (
    DealershipFromUserMixin,
    ScopedPrimaryKeyRelatedField,
    ScopedQuerysetMixin,
    UpsertMixin,
    scoped_choices,
    service_errors_as_400,
)
from crm.models import Dealership, User
from crm.validators import normalize_id_number, normalize_mobile, validate_id_number
from customers.models import ConsentChange, Customer
from customers.selectors import customer_search_q
from customers.services import customer_create, customer_update, customer_upsert_by_mobile


class CustomerSerializer(DealershipFromUserMixin, serializers.ModelSerializer):
    advisor = ScopedPrimaryKeyRelatedField(queryset=User.objects.people(), required=False, allow_null=True)
    id_number = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=18, validators=[validate_id_number]
    )
    id_number_masked = serializers.CharField(read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "dealership",
            "name",
            "phone",
            "id_number",
            "id_number_masked",
            "gender",
            "occupation",
            "city",
            "district",
            "address",
            "birthday",
            "lunar_birthday_month",
            "lunar_birthday_day",
            "lunar_birthday_leap",
            "email",
            "preferred_channel",
            "marketing_consent",
            "source",
            "advisor",
            "value_tier",
            "churn_state",
            "last_visit_date",
            "status",
        ]
        read_only_fields = ["value_tier", "churn_state", "last_visit_date"]

    def to_internal_value(self, data):
        # Normalize what people type before the model validators judge it.
        if isinstance(data, dict):  # anything else is refused by the serializer as "not an object"
            data = data.copy()
            if isinstance(data.get("phone"), str):
                data["phone"] = normalize_mobile(data["phone"])
            if isinstance(data.get("id_number"), str):
                data["id_number"] = normalize_id_number(data["id_number"])
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        dealership = self.validate_dealership_choice(attrs)
        if self.instance is not None and dealership.pk != self.instance.dealership_id:
            raise serializers.ValidationError({"dealership": _("A customer cannot move to another dealership.")})
        advisor = attrs.get("advisor")
        if advisor is not None and advisor.dealership_id not in (None, dealership.pk):
            raise serializers.ValidationError({"advisor": _("The advisor works at another dealership.")})
        month = attrs.get("lunar_birthday_month", getattr(self.instance, "lunar_birthday_month", None))
        day = attrs.get("lunar_birthday_day", getattr(self.instance, "lunar_birthday_day", None))
        if (month is None) != (day is None):
            raise serializers.ValidationError(
                {"lunar_birthday_day": _("Give both the month and the day of the lunar birthday, or neither.")}
            )
        return attrs

    @staticmethod
    def _fields(validated_data: dict) -> dict:
        fields = dict(validated_data)
        fields.pop("dealership", None)
        if "source" in fields:
            fields["customer_source"] = fields.pop("source")
        return fields

    def create(self, validated_data: dict) -> Customer:
        with service_errors_as_400():
            return customer_create(
                dealership=validated_data["dealership"],
                by=self.context["request"].user,
                source=ConsentChange.Source.API,
                **self._fields(validated_data),
            )

    def update(self, instance: Customer, validated_data: dict) -> Customer:
        with service_errors_as_400():
            return customer_update(
                customer=instance,
                by=self.context["request"].user,
                source=ConsentChange.Source.API,
                **self._fields(validated_data),
            )

    def upsert(self, validated_data: dict) -> tuple[Customer, bool]:
        fields = self._fields(validated_data)
        with service_errors_as_400():
            return customer_upsert_by_mobile(
                dealership=validated_data["dealership"],
                phone=fields.pop("phone"),
                by=self.context["request"].user,
                source=ConsentChange.Source.API,
                **fields,
            )


class CustomerFilter(django_filters.FilterSet):
    dealership = django_filters.ModelChoiceFilter(queryset=scoped_choices(Dealership))
    advisor = django_filters.ModelChoiceFilter(queryset=scoped_choices(User))
    value_tier = django_filters.MultipleChoiceFilter(choices=Customer.ValueTier.choices)
    churn_state = django_filters.MultipleChoiceFilter(choices=Customer.ChurnState.choices)
    last_visit_date = django_filters.DateFromToRangeFilter()
    created = django_filters.DateFromToRangeFilter(field_name="created_at")
    birthday = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Customer
        fields = [
            "dealership",
            "advisor",
            "value_tier",
            "churn_state",
            "gender",
            "occupation",
            "city",
            "status",
            "source",
            "marketing_consent",
            "last_visit_date",
            "created",
            "birthday",
        ]


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("q", str, description=_("Search in names, mobiles, plates and VINs."))]
    )
)
class CustomerViewSet(
    ScopedQuerysetMixin,
    UpsertMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Customers of the user's dealership. ``?q=`` searches name, mobile, plate
    and VIN. ``POST upsert/`` creates or updates the store's customer with the
    given mobile (201 created, 200 updated). A change of ``marketing_consent``
    is recorded as a consent change from the API."""

    queryset = Customer.objects.select_related("dealership", "advisor")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    ordering_fields = ["name", "value_tier", "created_at", "pk"]
    ordering = ["-pk"]
    extra_query_params = ["q"]

    def get_queryset(self):
        qs = super().get_queryset()
        q = self.request.query_params.get("q", "").strip()
        if q:
            qs = qs.filter(pk__in=Customer.objects.filter(customer_search_q(q)).values("pk"))
        return qs


router = routers.SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
urlpatterns = router.urls
