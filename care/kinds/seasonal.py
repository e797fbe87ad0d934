"""A seasonal campaign defined by an admin entirely in the rule's params::

    {"start": "2026-12-01", "end": "2027-01-15", "item": "冬季关怀免费检测",
     "segment": {"usage": ["private"], "energy": ["electric"], "min_age_years": 0,
                 "max_age_years": 99, "cities": ["上海"], "brands": ["大众"]}}

Every segment key is optional; an absent key does not narrow the segment.
``cities`` are the customers' cities; ages are whole years from the purchase
date to the campaign start, so a car does not drift in or out of the segment
while the campaign runs.

One touch per eligible car (occasion ``seasonal:<rule pk>:<start>``, subject
the item), about the campaign start. Nothing is created on days outside
[start, end]. The engine lets a touch live until event + ``expiry_days``; so
that it never outlives the campaign, the event date is clamped to
``end - expiry_days`` when the campaign is shorter than the expiry (the
occasion keeps the real start, so the clamp never duplicates touches).

Params an admin got wrong (bad dates, an unknown segment key such as
``"citys"`` that would otherwise silently widen the segment to everyone) make
the generator create nothing and log a warning; ``clean_params`` reports the
same errors, for ``CareRule.clean`` to call.
"""

import dataclasses
import datetime
import logging

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, CharField, DateField, Value
from django.db.models.functions import Cast
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from care.kinds.base import Run
from care.registry import KindSpec, Param, register
from vehicles.models import Vehicle, VehicleModel

logger = logging.getLogger(__name__)

_LIST_KEYS = {
    "usage": Vehicle.Usage.values,
    "energy": VehicleModel.Energy.values,
    "cities": None,  # free text
    "brands": None,
}
_AGE_KEYS = ("min_age_years", "max_age_years")
SEGMENT_KEYS = frozenset(_LIST_KEYS) | frozenset(_AGE_KEYS)


@dataclasses.dataclass(frozen=True)
class Campaign:
    start: datetime.date
    end: datetime.date
    item: str
    segment: dict


def _date(params: dict, key: str, errors: list[str]) -> datetime.date | None:
    value = params.get(key)
    if not isinstance(value, str):
        errors.append(_("%(key)s: a date such as 2026-12-01 is required.") % {"key": key})
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        errors.append(_("%(key)s: “%(value)s” is not a date such as 2026-12-01.") % {"key": key, "value": value})
        return None


def clean_params(params) -> Campaign:
    """The campaign the params describe, or ValidationError listing every mistake."""
    if not isinstance(params, dict):
        raise ValidationError(_("The parameters of a seasonal campaign are an object."))
    errors: list[str] = []
    start, end = _date(params, "start", errors), _date(params, "end", errors)
    if start and end and end < start:
        errors.append(_("end: the campaign cannot end before it starts."))
    item = params.get("item")
    if not isinstance(item, str) or not item.strip():
        errors.append(_("item: the campaign's name (what is offered) is required."))
    elif len(item) > 200:
        errors.append(_("item: at most 200 characters."))  # CareTask.subject's length
    segment = params.get("segment", {})
    if segment is None:
        segment = {}
    if not isinstance(segment, dict):
        errors.append(_('segment: an object such as {"usage": ["private"]}.'))
        segment = {}
    for key in sorted(set(segment) - SEGMENT_KEYS):
        errors.append(
            _("segment.%(key)s: unknown; use %(known)s.") % {"key": key, "known": ", ".join(sorted(SEGMENT_KEYS))}
        )
    for key, choices in _LIST_KEYS.items():
        if key not in segment:
            continue
        values = segment[key]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            errors.append(_("segment.%(key)s: a non-empty list of names.") % {"key": key})
        elif choices is not None and not set(values) <= set(choices):
            errors.append(_("segment.%(key)s: use %(known)s.") % {"key": key, "known": ", ".join(choices)})
    for key in _AGE_KEYS:
        value = segment.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors.append(_("segment.%(key)s: a whole number of years ≥ 0.") % {"key": key})
    low, high = segment.get("min_age_years"), segment.get("max_age_years")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.append(_("segment: min_age_years is above max_age_years."))
    if errors:
        raise ValidationError(errors)
    return Campaign(start=start, end=end, item=item.strip(), segment=segment)


def _segment(cars, campaign: Campaign):
    segment = campaign.segment
    if "usage" in segment:
        cars = cars.filter(usage__in=segment["usage"])
    if "energy" in segment:
        cars = cars.filter(model__energy__in=segment["energy"])
    if "brands" in segment:
        cars = cars.filter(model__brand__in=segment["brands"])
    if "cities" in segment:
        cars = cars.filter(customer__city__in=segment["cities"])
    # Age in whole years at the start: at least n years means bought on or
    # before start - n years; at most n years means bought after start - (n + 1) years.
    if "min_age_years" in segment:
        cars = cars.filter(purchase_date__lte=campaign.start - relativedelta(years=segment["min_age_years"]))
    if "max_age_years" in segment:
        cars = cars.filter(purchase_date__gt=campaign.start - relativedelta(years=segment["max_age_years"] + 1))
    return cars


def _date_value(day: datetime.date | None):
    return Cast(Value(day), DateField())


def generate(run: Run):
    cars = run.vehicles()
    try:
        campaign = clean_params(run.params)
    except ValidationError as exc:
        logger.warning("care rule %s: invalid seasonal campaign, nothing generated: %s", run.rule.pk, exc.messages)
        campaign = None
    if campaign is None or not campaign.start <= run.day <= campaign.end:
        # The engine still annotates t_event, so the columns are there; WHERE
        # false, not .none(): the engine compiles the queryset to SQL.
        return cars.annotate(t_event=_date_value(None), t_occasion=Value("", output_field=CharField())).filter(
            Value(False, output_field=BooleanField())
        )
    event = min(campaign.start, campaign.end - datetime.timedelta(days=run.rule.expiry_days))
    return _segment(cars, campaign).annotate(
        t_event=_date_value(event),
        t_occasion=Value(f"seasonal:{run.rule.pk}:{campaign.start.isoformat()}", output_field=CharField()),
        t_subject=Value(campaign.item, output_field=CharField()),
    )


DEFAULT_RULES = (
    {
        "name": "冬季关怀检测",
        "enabled": False,
        "lead_days": 0,
        "expiry_days": 30,
        "message_day_before": True,
        "message_template": (
            "【{dealership}】{name}{title}，{item}活动进行中，防冻液、电瓶、轮胎免费检测，欢迎预约{booking_phone}。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。我们正在做{item}活动，免费检测防冻液、电瓶和轮胎，您看哪天方便过来？"
        ),
        "priority": 45,
        "params": {
            "start": "2026-12-01",
            "end": "2027-01-15",
            "item": "冬季关怀免费检测",
            "segment": {},
        },
    },
)

SPEC = register(
    KindSpec(
        kind="seasonal",
        label=gettext_lazy("Seasonal campaign"),
        generate=generate,
        marketing=True,
        clean_params=clean_params,
        params=(
            Param("start", gettext_lazy("Campaign starts"), type="date", required=True),
            Param("end", gettext_lazy("Campaign ends"), type="date", required=True),
            Param("item", gettext_lazy("What is offered"), type="str", required=True),
            Param(
                "segment",
                gettext_lazy("Segment"),
                type="json",
                default={},
                help_text=gettext_lazy(
                    'Optional keys: "usage", "energy", "cities", "brands", "min_age_years", "max_age_years".'
                ),
            ),
        ),
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
