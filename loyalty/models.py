"""The membership club (DOMAIN.md "Membership club", seed 004): cards of three
levels, a points ledger whose sum is the balance, benefits per card year,
referrals and club events.

Every number is a default of ``LoyaltyPolicy`` an admin changes; the defaults
live here, in the policy's fields and in ``DEFAULT_BENEFITS``, nowhere else.
Writes go through ``loyalty.services``; the nightly job
(``loyalty.services.loyalty_nightly``) earns points, upgrades and lapses cards
set-based.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership
from customers.models import Customer
from service.models import InsurancePolicy, RepairOrder


class Level(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary card")
    SILVER = "silver", _("Silver card")
    GOLD = "gold", _("Gold card")


LEVEL_ORDER = [Level.ORDINARY, Level.SILVER, Level.GOLD]


class Benefit(models.TextChoices):
    """What a card gives in a card year. Counted ones have an allowance; the
    others are perks the desk shows (allowance empty)."""

    WASH = "wash", _("Free car wash")
    ALIGNMENT = "alignment", _("Wheel alignment")
    TOWING_KM = "towing_km", _("Towing outside town (km)")
    INSPECTION_AGENCY = "inspection_agency", _("Annual-inspection agency")
    COURTESY_CAR = "courtesy_car", _("Courtesy car")
    ACCIDENT_INSURANCE = "accident_insurance", _("Accident insurance")


# {level: {benefit: allowance per card year (None: a perk, not counted)}}; seed 004.
DEFAULT_BENEFITS: dict[str, dict[str, int | None]] = {
    Level.ORDINARY: {Benefit.WASH: 10, Benefit.TOWING_KM: 10, Benefit.COURTESY_CAR: None},
    Level.SILVER: {
        Benefit.WASH: 20,
        Benefit.ALIGNMENT: 1,
        Benefit.TOWING_KM: 20,
        Benefit.INSPECTION_AGENCY: 1,
        Benefit.COURTESY_CAR: None,
    },
    Level.GOLD: {
        Benefit.WASH: 30,
        Benefit.ALIGNMENT: 2,
        Benefit.TOWING_KM: 100,
        Benefit.INSPECTION_AGENCY: 1,
        Benefit.COURTESY_CAR: None,
        Benefit.ACCIDENT_INSURANCE: None,
    },
}


def _money(default: str, label):
    return models.DecimalField(
        label, max_digits=8, decimal_places=2, default=Decimal(default), validators=[MinValueValidator(0)]
    )


def _count(default: int, label, **kw):
    return models.PositiveIntegerField(label, default=default, **kw)


class LoyaltyPolicy(models.Model):
    """The club's rules: the group's row (no store) and, optionally, a store's own."""

    dealership = models.OneToOneField(
        Dealership,
        verbose_name=_("dealership"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="loyalty_policy",
        help_text=_("Empty for the group's policy, which every store without its own follows."),
    )
    # Joining and validity.
    ordinary_fee = _money("180", _("ordinary card fee (yuan)"))
    silver_fee = _money("280", _("silver card fee (yuan)"))
    ordinary_years = _count(2, _("ordinary card valid (years)"), validators=[MinValueValidator(1)])
    silver_years = _count(2, _("silver card valid (years)"), validators=[MinValueValidator(1)])
    gold_years = _count(3, _("gold card valid (years)"), validators=[MinValueValidator(1)])
    renewal_window_days = _count(30, _("renewal possible this many days before expiry"))
    refund_days = _count(30, _("a paid card is refundable within (days)"))
    # Earning.
    yuan_per_repair_point = _count(
        50, _("yuan of customer-paid repair spend per point"), validators=[MinValueValidator(1)]
    )
    yuan_per_insurance_point = _count(
        300, _("yuan of insurance premium placed here per point"), validators=[MinValueValidator(1)]
    )
    event_points = _count(5, _("points per club event attended"))
    referral_points = _count(50, _("points per confirmed referral"))
    # Upgrades: any one condition suffices.
    silver_points = _count(100, _("silver: points"))
    silver_years_maintained = _count(2, _("silver: years of continuous maintenance here"))
    silver_km_maintained = _count(60000, _("silver: km of continuous maintenance here"))
    silver_visits = _count(5, _("silver: visits in a card year"))
    silver_spend = _money("3000", _("silver: spend in a card year (yuan, accident repairs excluded)"))
    silver_referrals = _count(2, _("silver: referrals by an ordinary member"))
    gold_points = _count(200, _("gold: points"))
    gold_referrals_ordinary = _count(4, _("gold: referrals by an ordinary member"))
    gold_referrals_silver = _count(2, _("gold: referrals by a silver member"))
    # Labour discount on repair orders, per level (%).
    ordinary_labour_discount = _count(5, _("ordinary: labour discount (%)"), validators=[MaxValueValidator(100)])
    silver_labour_discount = _count(10, _("silver: labour discount (%)"), validators=[MaxValueValidator(100)])
    gold_labour_discount = _count(20, _("gold: labour discount (%)"), validators=[MaxValueValidator(100)])
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("club policy")
        verbose_name_plural = _("club policies")
        constraints = [
            # One group policy: unique on the store with "no store" as 0 (NULLs never clash).
            models.UniqueConstraint(Coalesce("dealership", models.Value(0)), name="loyalty_policy_one_per_store"),
            models.CheckConstraint(
                condition=Q(yuan_per_repair_point__gt=0, yuan_per_insurance_point__gt=0),
                name="loyalty_policy_rates_positive",
            ),
            models.CheckConstraint(
                condition=Q(ordinary_labour_discount__lte=100, silver_labour_discount__lte=100)
                & Q(gold_labour_discount__lte=100),
                name="loyalty_policy_discount_percent",
            ),
        ]

    def __str__(self) -> str:
        return str(self.dealership) if self.dealership_id else str(_("Group policy"))

    def years(self, level: str) -> int:
        return {Level.ORDINARY: self.ordinary_years, Level.SILVER: self.silver_years, Level.GOLD: self.gold_years}[
            level
        ]

    def fee(self, level: str) -> Decimal | None:
        """The fee of a level that can be bought; None for gold."""
        return {Level.ORDINARY: self.ordinary_fee, Level.SILVER: self.silver_fee}.get(level)

    def labour_discount(self, level: str) -> int:
        return {
            Level.ORDINARY: self.ordinary_labour_discount,
            Level.SILVER: self.silver_labour_discount,
            Level.GOLD: self.gold_labour_discount,
        }[level]


class BenefitAllowance(models.Model):
    """What one level's card gives per card year under a policy."""

    policy = models.ForeignKey(
        LoyaltyPolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="benefits"
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    benefit = models.CharField(_("benefit"), max_length=20, choices=Benefit.choices)
    allowance = models.PositiveIntegerField(
        _("per card year"), null=True, blank=True, help_text=_("Empty: a perk, not counted.")
    )

    class Meta:
        verbose_name = _("card benefit")
        verbose_name_plural = _("card benefits")
        ordering = ["policy", "level", "benefit"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "level", "benefit"], name="benefit_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.get_benefit_display()}"


class MembershipCard(models.Model):
    """One membership card of a customer at a store. Its status has one writer:
    ``loyalty.services.card_transition``."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LAPSED = "lapsed", _("Lapsed")
        REFUNDED = "refunded", _("Refunded")
        REPLACED = "replaced", _("Replaced (upgraded)")

    class Route(models.TextChoices):
        BOUGHT_HERE = "bought_here", _("Bought a car here")
        FEE = "fee", _("Paid the fee")
        POINTS = "points", _("Points")
        CONTINUOUS_MAINTENANCE = "continuous", _("Continuous maintenance")
        VISITS_AND_SPEND = "visits_spend", _("Visits and spend")
        REFERRALS = "referrals", _("Referrals")
        SPECIAL = "special", _("Special contribution")
        REFERRED = "referred", _("Joined by referral")
        CAMPAIGN = "campaign", _("Campaign")

    Level = Level

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="membership_cards"
    )
    number = models.CharField(_("card number"), max_length=20)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    obtained = models.CharField(_("obtained by"), max_length=20, choices=Route.choices)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    fee_paid = models.DecimalField(
        _("fee paid"), max_digits=8, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    previous = models.ForeignKey(
        "self",
        verbose_name=_("replaces card"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("membership card")
        verbose_name_plural = _("membership cards")
        ordering = ["-valid_from", "-pk"]
        indexes = [
            models.Index(fields=["dealership", "status", "level"], name="card_store_status_level"),
            models.Index(fields=["customer", "status"], name="card_customer_status"),
            models.Index(fields=["status", "valid_until"], name="card_status_expiry"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "number"], name="card_number_unique_per_store"),
            models.UniqueConstraint(
                fields=["customer", "dealership"],
                condition=Q(status="active"),
                name="card_one_active_per_customer_and_store",
            ),
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")), name="card_valid_until_after_from"),
            models.CheckConstraint(condition=Q(fee_paid__gte=0), name="card_fee_not_negative"),
            # Gold cannot be bought.
            models.CheckConstraint(condition=~Q(level="gold", obtained="fee"), name="card_gold_not_for_sale"),
        ]

    def __str__(self) -> str:
        return self.number


class CardEvent(models.Model):
    """One change of a card: joined, renewed, upgraded, replaced, lapsed, refunded."""

    class Action(models.TextChoices):
        JOINED = "joined", _("Joined")
        RENEWED = "renewed", _("Renewed")
        UPGRADED = "upgraded", _("Upgraded")
        REPLACED = "replaced", _("Replaced by an upgrade")
        LAPSED = "lapsed", _("Lapsed")
        REFUNDED = "refunded", _("Refunded")

    card = models.ForeignKey(MembershipCard, verbose_name=_("card"), on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("what"), max_length=10, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=10, choices=MembershipCard.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=10, choices=MembershipCard.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.CharField(_("why"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    dealership_path = "card__dealership"

    class Meta:
        verbose_name = _("card event")
        verbose_name_plural = _("card events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["card", "at"], name="cardevent_card_time")]

    def __str__(self) -> str:
        return f"{self.card_id}: {self.action}"


class Referral(models.Model):
    """A customer brings another: pending until the referred customer buys a car
    or closes a first paid order here, then confirmed, then rewarded."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        REWARDED = "rewarded", _("Rewarded")

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    referrer = models.ForeignKey(
        Customer, verbose_name=_("referred by"), on_delete=models.CASCADE, related_name="referrals_made"
    )
    referred = models.OneToOneField(
        Customer, verbose_name=_("referred customer"), on_delete=models.CASCADE, related_name="referral"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reward_service = models.CharField(
        _("free service chosen"), max_length=100, blank=True, help_text=_("What the referrer picks as their thanks.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    rewarded_at = models.DateTimeField(_("rewarded at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["referrer", "status"], name="referral_referrer_status")]
        constraints = [
            models.CheckConstraint(condition=~Q(referrer=F("referred")), name="referral_not_oneself"),
        ]

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referred_id}"


class ClubEvent(models.Model):
    """A club event (a maintenance class, a self-drive trip…): capacity, registrations, attendance."""

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    capacity = models.PositiveIntegerField(_("places"), validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("club event")
        verbose_name_plural = _("club events")
        ordering = ["-starts_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(capacity__gt=0), name="club_event_capacity_positive")]

    def __str__(self) -> str:
        return self.title


class EventRegistration(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        ATTENDED = "attended", _("Attended")
        CANCELLED = "cancelled", _("Cancelled")

    class Source(models.TextChoices):
        ADVISOR = "advisor", _("By an advisor")
        SMS_LINK = "sms_link", _("By the customer (SMS link)")

    event = models.ForeignKey(
        ClubEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="registrations"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="event_registrations"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REGISTERED)
    source = models.CharField(_("registered"), max_length=10, choices=Source.choices, default=Source.ADVISOR)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    attended_at = models.DateTimeField(_("attended at"), null=True, blank=True)

    dealership_path = "event__dealership"

    class Meta:
        verbose_name = _("event registration")
        verbose_name_plural = _("event registrations")
        ordering = ["registered_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "customer"], name="registration_once_per_event"),
            models.CheckConstraint(
                condition=~Q(status="attended") | Q(attended_at__isnull=False), name="registration_attended_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.customer_id}"


class PointsEntry(models.Model):
    """One change of a card's points. The balance is the sum of its entries,
    never a counter kept beside them; (kind, source) is unique, so earning the
    same thing twice is impossible."""

    class Kind(models.TextChoices):
        REPAIR_SPEND = "repair_spend", _("Repair spend")
        INSURANCE = "insurance", _("Insurance placed here")
        EVENT = "event", _("Club event attended")
        REFERRAL = "referral", _("Referral")
        ADJUSTMENT = "adjustment", _("Manual adjustment")
        REVERSAL = "reversal", _("Reversal (order corrected or voided)")
        TRANSFER = "transfer", _("Carried over to or from another card")
        LAPSE = "lapse", _("Card lapsed")
        REFUND = "refund", _("Card refunded")

    card = models.ForeignKey(MembershipCard, verbose_name=_("card"), on_delete=models.CASCADE, related_name="points")
    points = models.IntegerField(_("points"))
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    # What it came from, as "ro:123", "ins:45", "reg:7", "ref:9", "card:12"…: the
    # key of its uniqueness. The foreign keys below say the same for reading.
    source = models.CharField(_("source"), max_length=60)
    repair_order = models.ForeignKey(
        RepairOrder, verbose_name=_("repair order"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    insurance_policy = models.ForeignKey(
        InsurancePolicy,
        verbose_name=_("insurance policy"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    registration = models.ForeignKey(
        EventRegistration, verbose_name=_("event"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    earned_on = models.DateField(_("day"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    dealership_path = "card__dealership"

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["card", "created_at"], name="points_card_time"),
            models.Index(fields=["repair_order"], name="points_repair_order"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source"], name="points_once_per_kind_and_source"),
            models.CheckConstraint(condition=~Q(points=0), name="points_entry_not_zero"),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | ~Q(reason=""), name="points_adjustment_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_id}: {self.points:+d} {self.kind}"


class BenefitUse(models.Model):
    """One redemption of a counted benefit at the desk, in the card year that started on ``card_year``."""

    card = models.ForeignKey(MembershipCard, verbose_name=_("card"), on_delete=models.CASCADE, related_name="uses")
    benefit = models.CharField(_("benefit"), max_length=20, choices=Benefit.choices)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    card_year = models.DateField(_("card year from"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    dealership_path = "card__dealership"

    class Meta:
        verbose_name = _("benefit used")
        verbose_name_plural = _("benefits used")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["card", "benefit", "card_year"], name="benefituse_card_year")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="benefit_use_positive")]

    def __str__(self) -> str:
        return f"{self.card_id}: {self.benefit} × {self.quantity}"
