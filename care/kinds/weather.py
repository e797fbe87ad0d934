"""Severe weather: a safety note for the consenting customers of the city (or
district) an alert is for, once per alert.

Alerts come from ``care.weather.services.weather_poll`` (official warnings and
sudden changes read from the forecast). The rule's params choose what is worth
a message::

    {"events": ["rainstorm", "typhoon", "cold_wave", "heat", "snow", "fog"],
     "min_colour": "yellow",
     "tips": {"rainstorm": "…", "other": "…"}}

An update of an alert already acted on is acted on again only when its colour
is higher (yellow → orange); a cancelled alert is not acted on.
"""

import datetime

from django.db.models import CharField, DateField, F, Q, Value
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy

from care.kinds.base import Run
from care.registry import KindSpec, Param, register
from care.weather.base import COLOUR_LABELS, COLOURS, EVENT_LABELS, EVENTS, colour_rank
from care.weather.models import WeatherAlert

DEFAULT_EVENTS = ["rainstorm", "typhoon", "cold_wave", "heat", "snow", "fog"]


def alerts_to_act_on(run: Run):
    params = run.params
    # A sudden change read from the forecast is announced the day before it comes.
    tomorrow = run.day + datetime.timedelta(days=1)
    return (
        WeatherAlert.objects.filter(
            status=WeatherAlert.Status.ACTIVE,
            event__in=params.get("events", DEFAULT_EVENTS),
            colour_rank__gte=colour_rank(params.get("min_colour", "yellow")),
            effective_at__date__lte=tomorrow,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__date__gte=run.day))
        .filter(Q(replaces__isnull=True) | Q(colour_rank__gt=F("replaces__colour_rank")))
        .exclude(message_type="cancel")
        .select_related("location")
        .order_by("pk")
    )


def tip_for(run: Run, alert: WeatherAlert) -> str:
    tips = run.params.get("tips", {})
    tip = tips.get(alert.event) or tips.get("other") or ""
    return f"{alert.headline}。{tip}"[:200] if tip else alert.headline[:200]


def generate(run: Run):
    touches = []
    for alert in alerts_to_act_on(run):
        customers = run.customers().filter(marketing_consent=True, city=alert.location.city)
        if alert.location.district:
            customers = customers.filter(district=alert.location.district)
        touches.append(
            customers.annotate(
                t_event=Cast(Value(run.day), DateField()),
                t_occasion=Value(f"weather:{alert.pk}", output_field=CharField()),
                t_subject=Value(tip_for(run, alert), output_field=CharField()),
            )
        )
    return touches


EVENT_CHOICES = tuple((event, EVENT_LABELS[event]) for event in EVENTS)
COLOUR_CHOICES = tuple((colour, COLOUR_LABELS[colour]) for colour in COLOURS)


DEFAULT_RULES = (
    {
        "name": "恶劣天气关怀",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 1,
        "message_template": "【{dealership}】{name}{title}，{item}如遇车辆故障请拨打24小时救援电话{rescue_phone}。",
        "priority": 45,
        "params": {
            "events": ["rainstorm", "typhoon", "cold_wave", "heat", "snow", "fog"],
            "min_colour": "yellow",
            "tips": {
                "rainstorm": "雨天请减速慢行、开启近光灯，避开积水路段和下穿隧道；车辆涉水熄火后切勿再次启动。",
                "typhoon": "请将爱车停放在地势较高处，远离广告牌、大树和围墙，非必要不出行。",
                "cold_wave": "气温骤降，出行前请检查胎压和电瓶，清除车窗冰霜后再上路，注意防冻液是否充足。",
                "heat": "高温天气请勿将打火机、充电宝等物品留在车内，启动后先通风再开空调，注意检查冷却液和胎压。",
                "snow": "雪天路滑，请降低车速、加大车距、轻踩刹车，必要时使用防滑链。",
                "fog": "雾天请开启雾灯和近光灯，降低车速、保持车距，切勿急刹车。",
                "other": "恶劣天气出行请注意安全，减速慢行。",
            },
        },
    },
)

SPEC = register(
    KindSpec(
        kind="weather",
        label=gettext_lazy("Severe weather"),
        generate=generate,
        marketing=True,
        params=(
            Param("events", gettext_lazy("Events"), type="multichoice", default=DEFAULT_EVENTS, choices=EVENT_CHOICES),
            Param("min_colour", gettext_lazy("From colour"), type="choice", default="yellow", choices=COLOUR_CHOICES),
            Param("tips", gettext_lazy("Tips per event"), type="json", default={}),
        ),
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
