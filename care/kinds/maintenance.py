"""Maintenance due by time or by mileage, whichever comes first.

Time: the model's months since the last maintenance (first maintenance: since
delivery). Mileage: the km still to go, divided by the car's km per day
(``Vehicle.km_per_day`` from its odometer history; ``CRM_DEFAULT_KM_PER_DAY``
where the history is thin), counted from the latest reading.
"""

from django.db.models import Case, CharField, DateField, F, IntegerField, Value, When
from django.db.models.functions import Cast, Coalesce, Least
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, km_reached_on, occasion, visited_with
from care.registry import KindSpec, register
from crm.sql import AddMonths
from service.models import RepairOrder


def generate(run: Run):
    months = Case(
        When(last_maintenance_date__isnull=True, then=F("model__first_maintenance_months")),
        default=F("model__maintenance_interval_months"),
        output_field=IntegerField(),
    )
    due_km = Case(
        When(last_maintenance_date__isnull=True, then=F("model__first_maintenance_km")),
        default=F("last_maintenance_mileage") + F("model__maintenance_interval_km"),
        output_field=IntegerField(),
    )
    return (
        run.vehicles()
        .annotate(
            t_due_km=due_km,
            t_time_due=AddMonths(Coalesce("last_maintenance_date", "purchase_date"), months),
            t_km_due=km_reached_on(F("t_due_km")),
        )
        .annotate(
            # A car standing still has no km date: time alone decides.
            t_event=Least("t_time_due", Coalesce("t_km_due", "t_time_due"), output_field=DateField()),
            # One occasion per service cycle: a new maintenance starts a new one.
            t_occasion=occasion("maintenance", Coalesce(Cast("last_maintenance_date", CharField()), Value("first"))),
        )
    )


DEFAULT_RULES = (
    {
        "name": "定期保养提醒",
        "expiry_days": 30,
        "message_day_before": True,
        "message_template": (
            "【{dealership}】{name}{title}，您的爱车{plate}"
            "预计{due_date}前后需要保养，欢迎致电{booking_phone}预约，"
            "顾问{advisor}为您服务。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。您的{model}（{plate}）按时间和里程预计{due_date}前后需要保养，"
            "目前里程约{mileage}公里。请问您这周哪天方便？我帮您预约工位。"
        ),
        "priority": 70,
    },
)

SPEC = register(
    KindSpec(
        kind="maintenance",
        label=gettext_lazy("Maintenance due"),
        generate=generate,
        fulfilled=visited_with(RepairOrder.Kind.MAINTENANCE),
        scans_every_car=1,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
