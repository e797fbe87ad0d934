"""Win-back calls (流失客户回访, seed 003): customers who stopped coming, and the
managers' win-back campaigns for a segment of them.

**Lapse touches.** One call per customer whose ``churn_state`` (set by the
nightly tier recompute) is at risk or lost, occasion
``winback:<churn_state>:<last_visit_date or "never">``: a customer gets one
call on becoming at risk and one more on becoming lost, never two for the same
lapse (a visit moves ``last_visit_date``, so the next lapse is a new occasion).
The touch is about the run day; the subject says how long the customer has
been away, from the store's tier policy (``6个月未回厂`` / ``12个月以上未回厂``),
plus ``（里程未到，电话确认）`` when the car has not driven a service interval
yet and the lapse must be confirmed by the call.

``params``: ``{"states": ["at_risk", "lost"]}`` (the default): which states
get lapse touches; an empty list leaves only the campaigns.

**Campaign touches.** Every ``WinbackCampaign`` of the rule's dealerships in
force on the run day (start ≤ day ≤ end) gives one call per customer of its
segment, occasion ``winback-campaign:<campaign pk>``, subject the offer. The
segment's keys are all optional; an absent key does not narrow it::

    {"models": ["帕萨特"], "brands": ["大众"], "min_age_years": 3, "max_age_years": 8,
     "tiers": "CD", "cities": ["上海"], "churn_states": ["lost"]}

Only at-risk and lost customers are in a segment (``churn_states`` narrows
that). ``models``, ``brands`` and the ages are about one car in use of the
customer (all must hold for the same car); ages are whole years from the
purchase date to the campaign start, so a car does not drift in or out while
the campaign runs. As for seasonal campaigns, the event date is clamped to
``end - expiry_days`` so that a touch never outlives its campaign's offer.

Mistakes never widen a call list: bad rule params create nothing, and a
campaign whose segment is wrong (an unknown key such as ``"citys"``) creates
nothing; both log a warning. ``clean_params`` and ``clean_campaign_segment``
report the same errors, for the admin forms.
"""

import datetime
import logging

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db.models import Case, CharField, DateField, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, Param, register
from care.winback.models import WinbackCampaign
from care.winback.segments import CAR_KEYS, LAPSED_STATES, clean_campaign_segment
from customers.models import Customer, TierPolicy
from vehicles.models import Vehicle

logger = logging.getLogger(__name__)

CONFIRM_BY_CALL = "（里程未到，电话确认）"


def clean_params(params) -> list[str]:
    """The churn states the rule calls about, or ValidationError listing every mistake."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationError(_("The parameters of a win-back rule are an object."))
    errors = [_("%(key)s: unknown; use states.") % {"key": key} for key in sorted(set(params) - {"states"})]
    states = params.get("states", LAPSED_STATES)
    if not isinstance(states, list) or not set(states) <= set(LAPSED_STATES):
        errors.append(_("states: a list of %(known)s.") % {"known": ", ".join(LAPSED_STATES)})
    if errors:
        raise ValidationError(errors)
    return [state for state in LAPSED_STATES if state in states]


def _date_value(day: datetime.date):
    return Cast(Value(day), DateField())


def _away_months(dealership_ids: tuple[int, ...]) -> dict[tuple[int, int], list[int]]:
    """The dealerships by (at-risk months, lost months) of their tier policy (a
    store's own, else the group's): a few rows, not one per customer."""
    policies = {
        dealership_id: (at_risk, lost)
        for dealership_id, at_risk, lost in TierPolicy.objects.filter(
            Q(dealership_id__in=dealership_ids) | Q(dealership__isnull=True)
        ).values_list("dealership_id", "at_risk_months", "lost_months")
    }
    fields = TierPolicy._meta
    group = policies.get(None, (fields.get_field("at_risk_months").default, fields.get_field("lost_months").default))
    by_months: dict[tuple[int, int], list[int]] = {}
    for dealership_id in dealership_ids:
        by_months.setdefault(policies.get(dealership_id, group), []).append(dealership_id)
    return by_months


def _lapse_subject(run: Run) -> Concat:
    whens = []
    for (at_risk, lost), ids in _away_months(run.dealership_ids).items():
        whens += [
            When(dealership_id__in=ids, churn_state=Customer.ChurnState.AT_RISK, then=Value(f"{at_risk}个月未回厂")),
            When(dealership_id__in=ids, churn_state=Customer.ChurnState.LOST, then=Value(f"{lost}个月以上未回厂")),
        ]
    away = Case(*whens, default=Value(""), output_field=CharField())
    confirm = Case(When(churn_confirm_by_call=True, then=Value(CONFIRM_BY_CALL)), default=Value(""))
    return Concat(away, confirm, output_field=CharField())


def _lapses(run: Run, states: list[str]) -> QuerySet[Customer]:
    never = Coalesce(Cast("last_visit_date", CharField()), Value("never"), output_field=CharField())
    return (
        run.customers()
        .filter(churn_state__in=states)
        .annotate(
            t_event=_date_value(run.day),
            t_occasion=occasion("winback", "churn_state", never),
            t_subject=_lapse_subject(run),
        )
    )


def _campaign_customers(run: Run, campaign: WinbackCampaign, segment: dict) -> QuerySet[Customer]:
    customers = run.customers().filter(
        dealership_id=campaign.dealership_id, churn_state__in=segment.get("churn_states", LAPSED_STATES)
    )
    if "tiers" in segment:
        customers = customers.filter(value_tier__in=list(segment["tiers"]))
    if "cities" in segment:
        customers = customers.filter(city__in=segment["cities"])
    if not any(key in segment for key in CAR_KEYS):
        return customers
    cars = Vehicle.objects.filter(customer=OuterRef("pk"), status=Vehicle.Status.ACTIVE)
    if "models" in segment:
        cars = cars.filter(model__name__in=segment["models"])
    if "brands" in segment:
        cars = cars.filter(model__brand__in=segment["brands"])
    # Age in whole years at the start: at least n years means bought on or
    # before start - n years; at most n years means bought after start - (n + 1) years.
    start = campaign.start_date
    if "min_age_years" in segment:
        cars = cars.filter(purchase_date__lte=start - relativedelta(years=segment["min_age_years"]))
    if "max_age_years" in segment:
        cars = cars.filter(purchase_date__gt=start - relativedelta(years=segment["max_age_years"] + 1))
    return customers.filter(Exists(cars))


def _campaigns(run: Run) -> list[QuerySet[Customer]]:
    result = []
    campaigns = WinbackCampaign.objects.filter(
        dealership_id__in=run.dealership_ids, start_date__lte=run.day, end_date__gte=run.day
    ).order_by("pk")
    for campaign in campaigns:  # a handful a month, never one per customer
        try:
            segment = clean_campaign_segment(campaign.segment)
        except ValidationError as exc:
            logger.warning("win-back campaign %s: invalid segment, nothing generated: %s", campaign.pk, exc.messages)
            continue
        event = min(run.day, campaign.end_date - datetime.timedelta(days=run.rule.expiry_days))
        result.append(
            _campaign_customers(run, campaign, segment).annotate(
                t_event=_date_value(event),
                t_occasion=Value(f"winback-campaign:{campaign.pk}", output_field=CharField()),
                t_subject=Value(campaign.offer.strip()[:200], output_field=CharField()),
            )
        )
    return result


def generate(run: Run) -> list[QuerySet[Customer]]:
    try:
        states = clean_params(run.params)
    except ValidationError as exc:
        logger.warning("care rule %s: invalid win-back parameters, nothing generated: %s", run.rule.pk, exc.messages)
        return []
    return ([_lapses(run, states)] if states else []) + _campaigns(run)


DEFAULT_RULES = (
    {
        "name": "流失客户回访",
        "lead_days": 0,
        "expiry_days": 21,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。您有一段时间没回店了，想了解一下您和爱车的近况，"
            "耽误您两分钟做个简短回访：\n① 请问是什么原因没有回店保养维修？"
            "（价格／维修质量（一次修复）"
            "／服务态度／承诺未兑现／距离或时间／保险公司或交警指定维修／搬家／车已卖／其他）"
            "\n② 这段时间爱车在别处保养或维修过吗？\n③ 做了哪些项目？\n④ 在哪里做的？"
            "\n⑤ 为什么选择在那里？\n感谢您的意见，我们会认真改进。"
            "如有本店回厂优惠（见本次回访原因），请向客户介绍，并邀请预约到店。"
        ),
        "priority": 60,
        "params": {
            "states": ["at_risk", "lost"],
        },
    },
)

SPEC = register(
    KindSpec(
        kind="winback",
        label=gettext_lazy("Win-back call"),
        generate=generate,
        marketing=True,
        clean_params=clean_params,
        params=(
            Param(
                "states",
                gettext_lazy("Churn states"),
                type="multichoice",
                default=LAPSED_STATES,
                choices=tuple(Customer.ChurnState.choices),
            ),
        ),
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
