from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, routers, serializers, viewsets

from crm.api import DealershipFromUserMixin, ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin
from crm.models import User
from crm.validators import normalize_id_number, normalize_mobile, validate_id_number
from customers.models import Customer
from customers.selectors import customer_search_q


class CustomerSerializer(DealershipFromUserMixin, serializers.ModelSerializer):
    advisor = ScopedPrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)
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
        if hasattr(data, "copy"):
            data = data.copy()
            if isinstance(data.get("phone"), str):
                data["phone"] = normalize_mobile(data["phone"])
            if isinstance(data.get("id_number"), str):
                data["id_number"] = normalize_id_number(data["id_number"])
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        dealership = self.validate_dealership_choice(attrs)
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


class CustomerViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Customers of the user's dealership. ``?q=`` searches name, mobile, plate and VIN."""

    queryset = Customer.objects.select_related("dealership", "advisor").order_by("pk")
    serializer_class = CustomerSerializer
    filterset_fields = ["value_tier", "churn_state", "advisor", "dealership", "gender", "occupation", "city"]
    ordering_fields = ["name", "last_visit_date", "value_tier", "pk"]
    search_fields = []

    def get_queryset(self):
        qs = super().get_queryset()
        q = self.request.query_params.get("q", "").strip()
        if q:
            qs = qs.filter(pk__in=Customer.objects.filter(customer_search_q(q)).values("pk"))
        return qs


router = routers.SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
urlpatterns = router.urls
