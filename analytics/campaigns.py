"""Campaigns measured against a holdout (★): create one, draw its customers.

A campaign (``analytics.Campaign``) names an audience: a segment (seasonal:
customers of chosen tiers who are still coming; win-back: at-risk and lost
customers; recall: the owners of the cars on a manufacturer's recall list) or
a list the manager uploaded (``analytics.campaigns_lists``). Drawing it puts
every customer of the audience in ``CampaignMember`` with one
``INSERT … SELECT``; whether a member is in the holdout is decided in that
statement by a hash of (campaign id, customer id) (``holdout_bucket``), so a
rerun, or a second draw that finds new customers in the segment, puts nobody
in twice and every customer in the same group as before. Then one care touch
is made per treated member (never for the holdout) by care's own engine
(``care.kinds.campaign``), and each member row is linked to its touch with
one ``UPDATE``.

Consent, chosen here: seasonal, win-back and list campaigns are marketing,
so their audience is the customers who agreed to marketing messages (the
holdout is drawn from the same people, or the comparison would be unfair);
a recall campaign is a safety message about the customer's own car and needs
no consent. Every audience leaves out customers who are not active (moved,
deceased) and those who turned off the campaign's kind of care or all care.

A recall campaign's holdout still gets the manufacturer's recall touch (the
``recall`` kind, made by the morning run for every car on the list): the
campaign measures the store's extra push, never withholds a safety notice.

The results (return rate, revenue, lift, ROI, confidence interval) are in
``analytics.campaigns_results``.
"""

import dataclasses
import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.lookups import LessThan
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import Campaign, CampaignMember
from care.engine.services import care_touches_make_now, effective_rules
from care.kinds import campaign as campaign_kind
from care.models import CareOptOut, CareRule, CareTask, RecallCampaign, RecallVehicle
from crm.models import Dealership
from crm.sql import insert_select
from customers.models import Customer
from vehicles.models import Vehicle

Kind = Campaign.Kind
ChurnState = Customer.ChurnState

TIERS = [tier for tier, _label in Customer.ValueTier.choices]
LAPSED = [ChurnState.AT_RISK, ChurnState.LOST]
# The campaign kinds whose touch is a marketing message (see the module docstring).
MARKETING_KINDS = frozenset({Kind.SEASONAL, Kind.WINBACK, Kind.LIST})
MAX_HOLDOUT_SHARE = Decimal("0.5")

# --- The holdout hash ---------------------------------------------------------------------
# A few rounds of multiply-and-reduce modulo the prime 2^31 − 1, one of them
# a square (so consecutive customer ids do not fall into a regular pattern),
# then the last four digits: a bucket 0–9999, the same in Python, SQLite and
# PostgreSQL. Every intermediate stays below (2^31 − 1)², about 4.6e18, inside
# a signed 64-bit integer: no overflow on PostgreSQL, no silent switch to
# floating point on SQLite.
_PRIME = 2_147_483_647
_MULTIPLIER = 48_271
_CAMPAIGN_MULTIPLIER = 69_621
BUCKETS = 10_000


def holdout_bucket(campaign_id: int, customer_id: int) -> int:
    """The customer's bucket (0–9999) in the campaign, as ``_bucket_sql`` computes it."""
    x = customer_id % _PRIME * _MULTIPLIER % _PRIME
    x = (x + campaign_id % _PRIME * _CAMPAIGN_MULTIPLIER % _PRIME) % _PRIME
    x = x * x % _PRIME
    return (x * _MULTIPLIER + campaign_id % _PRIME) % _PRIME % BUCKETS


def holdout_threshold(share: Decimal) -> int:
    """Buckets below this are the holdout: a share of 0.10 is buckets 0–999."""
    return int(Decimal(share) * BUCKETS)


def _bucket_sql(campaign_id: int, customer: str = "pk"):
    def big(expression):
        return ExpressionWrapper(expression, output_field=BigIntegerField())

    x = big(F(customer) % _PRIME * _MULTIPLIER % _PRIME)
    x = big((x + campaign_id % _PRIME * _CAMPAIGN_MULTIPLIER % _PRIME) % _PRIME)
    x = big(x * x % _PRIME)
    return big((x * _MULTIPLIER + campaign_id % _PRIME) % _PRIME % BUCKETS)


def _in_holdout_sql(campaign: Campaign, customer: str = "pk") -> Case:
    threshold = holdout_threshold(campaign.holdout_share)
    return Case(
        When(LessThan(_bucket_sql(campaign.pk, customer), Value(threshold)), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


# --- Creating a campaign ------------------------------------------------------------------


def care_kind_of(kind: str) -> str:
    """The care kind of a campaign's touches: a marketing touch, or a service message (recall)."""
    return campaign_kind.MARKETING if kind in MARKETING_KINDS else campaign_kind.SERVICE


def _choices(value, allowed: list[str], *, field: str, errors: dict, default: list[str]) -> list[str]:
    if value is None:
        return list(default)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors[field] = [_("Choose from the list.")]
        return []
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        errors[field] = [_("Unknown: %(values)s.") % {"values": ", ".join(unknown)}]
        return []
    if not value:
        errors[field] = [_("Choose at least one.")]
        return []
    return [v for v in allowed if v in value]


def _clean_audience(*, dealership: Dealership, kind: str, audience) -> dict:
    """The audience the campaign keeps, or ValidationError naming each mistake by field."""
    if audience is None:
        audience = {}
    if not isinstance(audience, dict):
        raise ValidationError({"audience": [_('The audience is an object such as {"tiers": ["A"]}.')]})
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    if kind in (Kind.SEASONAL, Kind.WINBACK):
        cleaned["tiers"] = _choices(audience.get("tiers"), TIERS, field="tiers", errors=errors, default=TIERS)
        states = [ChurnState.ACTIVE] if kind == Kind.SEASONAL else LAPSED
        allowed = list(ChurnState.values) if kind == Kind.SEASONAL else LAPSED
        cleaned["churn_states"] = _choices(
            audience.get("churn_states"), allowed, field="churn_states", errors=errors, default=states
        )
    elif kind == Kind.RECALL:
        recall = audience.get("recall_campaign")
        found = (
            RecallCampaign.objects.filter(Q(dealership__isnull=True) | Q(dealership=dealership), pk=recall).first()
            if isinstance(recall, int) and not isinstance(recall, bool)
            else None
        )
        if found is None:
            errors["recall_campaign"] = [_("Choose a recall campaign of this store or of the whole group.")]
        else:
            cleaned["recall_campaign"] = found.pk
    elif kind == Kind.LIST:
        ids = audience.get("customer_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            errors["upload"] = [_("The list matched no customer of the store.")]
        else:
            ids = sorted(set(ids))
            theirs = Customer.objects.filter(dealership=dealership, pk__in=ids).count()
            if theirs != len(ids):
                errors["upload"] = [_("The list holds customers of another store.")]
            cleaned = {**audience, "customer_ids": ids}
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_money(value, *, field: str, errors: dict) -> Decimal:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        errors[field] = [_("Enter an amount in yuan, such as 5000 or 5000.50.")]
        return Decimal(0)
    if not amount.is_finite() or amount < 0:
        errors[field] = [_("The cost cannot be negative.")]
    elif amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e10"):
        errors[field] = [_("At most 2 decimals and under 10,000,000,000 yuan.")]
    return amount


@transaction.atomic
def campaign_create(
    *,
    dealership: Dealership,
    name: str,
    kind: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
    cost: Decimal,
    holdout_share: Decimal,
    audience: dict,
    by,
) -> Campaign:
    """A new campaign of ``dealership`` (nobody drawn yet), with the care rule
    its touches will use; ValidationError (by field) for what is wrong."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the campaign a name.")]
    elif len(name) > Campaign._meta.get_field("name").max_length:
        errors["name"] = [_("At most 100 characters.")]
    if kind not in Kind.values:
        errors["kind"] = [_("Choose the kind of campaign.")]
    if not isinstance(starts_on, datetime.date):
        errors["starts_on"] = [_("Enter the first day of the campaign.")]
    if not isinstance(ends_on, datetime.date):
        errors["ends_on"] = [_("Enter the last day of the campaign.")]
    elif isinstance(starts_on, datetime.date) and ends_on < starts_on:
        errors["ends_on"] = [_("The campaign cannot end before it starts.")]
    cost = _clean_money(cost, field="cost", errors=errors)
    try:
        share = Decimal(holdout_share)
    except (InvalidOperation, TypeError, ValueError):
        share = Decimal(-1)
    if not share.is_finite() or not 0 <= share <= MAX_HOLDOUT_SHARE or share != share.quantize(Decimal("0.01")):
        errors["holdout_share"] = [_("The holdout is a whole percentage from 0 to 50.")]
    if kind in Kind.values:
        try:
            audience = _clean_audience(dealership=dealership, kind=kind, audience=audience)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    rule = campaign_kind.campaign_rule_for(dealership=dealership, kind=care_kind_of(kind))
    campaign = Campaign(
        dealership=dealership,
        name=name,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        cost=cost,
        holdout_share=share,
        audience=audience,
        rule=rule,
        created_by=by,
    )
    # ``created_by`` may be empty (a system's campaign): the model allows NULL, not blank.
    campaign.full_clean(exclude=["created_by"])
    campaign.save()
    return campaign


# --- Drawing the customers ----------------------------------------------------------------


def campaign_audience(*, campaign: Campaign, rule: CareRule | None = None) -> QuerySet[Customer]:
    """The customers the campaign is for today (see the module docstring)."""
    audience = campaign.audience or {}
    customers = Customer.objects.filter(dealership_id=campaign.dealership_id, status=Customer.Status.ACTIVE)
    if campaign.kind in MARKETING_KINDS:
        customers = customers.filter(marketing_consent=True)
    if campaign.kind in (Kind.SEASONAL, Kind.WINBACK):
        customers = customers.filter(
            value_tier__in=audience.get("tiers") or TIERS,
            churn_state__in=audience.get("churn_states") or (LAPSED if campaign.kind == Kind.WINBACK else []),
        )
    elif campaign.kind == Kind.RECALL:
        on_the_list = RecallVehicle.objects.filter(
            campaign_id=audience.get("recall_campaign"), completed_on__isnull=True
        ).values("vin")
        customers = customers.filter(
            Exists(Vehicle.objects.filter(customer=OuterRef("pk"), status=Vehicle.Status.ACTIVE, vin__in=on_the_list))
        )
    else:
        customers = customers.filter(pk__in=audience.get("customer_ids") or [])
    kind = rule.kind if rule else care_kind_of(campaign.kind)
    channels = [rule.channel, ""] if rule else None
    opted_out = CareOptOut.objects.filter(customer=OuterRef("pk"), kind__in=[kind, ""])
    if channels:
        opted_out = opted_out.filter(channel__in=channels)
    return customers.exclude(Exists(opted_out)).order_by()


@dataclasses.dataclass
class DrawReport:
    added: int  # members new in this draw
    members: int
    holdout: int
    touches: int  # touches made in this draw
    linked: int  # members linked to their touch (all of them, not only this draw's)


def _rule_governs(rule: CareRule, dealership_id: int) -> bool:
    return any(r.pk == rule.pk and dealership_id in ids for r, ids in effective_rules(kinds=[rule.kind]))


def _touch_event(campaign: Campaign, rule: CareRule, day: datetime.date) -> datetime.date:
    """About the start (not before today); moved earlier when the rule's expiry
    would outlive the campaign, as the seasonal kind does."""
    latest = campaign.ends_on - datetime.timedelta(days=rule.expiry_days)
    return max(day, min(campaign.starts_on, latest))


def campaign_draw(*, campaign: Campaign, now: datetime.datetime | None = None) -> DrawReport:
    """Put the audience in the campaign (treated or holdout, by the hash) and
    make one care touch per treated member. Safe to run again: nobody is
    added twice, nobody changes group, no touch is made twice."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    with transaction.atomic():
        # The campaign's row only (``of``): two draws at once take turns.
        campaign = Campaign.objects.select_for_update(of=("self",)).select_related("rule").get(pk=campaign.pk)
        if day > campaign.ends_on:
            raise ValidationError(
                _("The campaign ended on %(day)s: customers can no longer be drawn.")
                % {"day": campaign.ends_on.isoformat()}
            )
        rule = campaign.rule or campaign_kind.campaign_rule_for(
            dealership=campaign.dealership, kind=care_kind_of(campaign.kind)
        )
        if not _rule_governs(rule, campaign.dealership_id):
            raise ValidationError(
                _("The touch rule “%(rule)s” is turned off for this store: turn it on in the care rules first.")
                % {"rule": rule.name}
            )
        rows = campaign_audience(campaign=campaign, rule=rule).annotate(
            m_campaign=Value(campaign.pk, output_field=BigIntegerField()),
            m_customer=F("pk"),
            m_holdout=_in_holdout_sql(campaign),
        )
        added = insert_select(
            CampaignMember, rows, {"campaign_id": "m_campaign", "customer_id": "m_customer", "holdout": "m_holdout"}
        )
        touches = _make_touches(campaign, rule, day=day, now=now)
        _link_touches(campaign, rule)
        if campaign.drawn_at is None or campaign.rule_id != rule.pk:
            campaign.drawn_at = campaign.drawn_at or now
            campaign.rule = rule
            campaign.save(update_fields=["drawn_at", "rule"])
        counts = CampaignMember.objects.filter(campaign=campaign).aggregate(
            members=Count("pk"), holdout=Count("pk", filter=Q(holdout=True)), linked=Count("task")
        )
    return DrawReport(added=added, touches=touches, **counts)


def _make_touches(campaign: Campaign, rule: CareRule, *, day: datetime.date, now: datetime.datetime) -> int:
    """One touch per treated member, by care's engine (its one ``INSERT … SELECT``)."""
    treated = CampaignMember.objects.filter(campaign=campaign, holdout=False).values("customer_id")
    occasion = campaign_kind.campaign_occasion(campaign.pk)
    event = _touch_event(campaign, rule, day)

    def rows(run):
        # Only the campaign's own rule: another rule of the kind governing the
        # store (an admin's) makes nothing for this campaign.
        who = treated if run.rule.pk == rule.pk else []
        return campaign_kind.member_rows(run, customers=who, occasion=occasion, subject=campaign.name, event=event)

    return care_touches_make_now(kind=rule.kind, dealership_id=campaign.dealership_id, narrow=Q(), now=now, rows=rows)


def _link_touches(campaign: Campaign, rule: CareRule) -> None:
    """Each treated member's touch, one UPDATE: the call (with a cadence, its
    first contact, ``#1``, as the engine names it), found by the touches'
    unique key (rule, customer, occasion) with equalities only, so that each
    member is one index lookup on SQLite and PostgreSQL alike (an ``IN`` on
    the occasion, or an EXISTS filter planned on the stale statistics right
    after the touches' INSERT, made it a scan per member: 20 s and more for
    20,000 members). A member without a touch (opted out) stays NULL."""
    occasion = campaign_kind.campaign_occasion(campaign.pk)
    if len(rule.steps) > 1:
        occasion += "#1"
    touch = CareTask.objects.filter(
        rule=rule, customer=OuterRef("customer_id"), vehicle__isnull=True, occasion=occasion
    ).values("pk")[:1]
    CampaignMember.objects.filter(campaign=campaign, holdout=False, task__isnull=True).update(task=Subquery(touch))
