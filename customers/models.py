from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from crm.fields import EncryptedTextField, KeyedHashField
from crm.models import Dealership
from crm.validators import mask_id_number, validate_id_number, validate_mobile


class Customer(models.Model):
    class Gender(models.TextChoices):
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")
        UNKNOWN = "unknown", _("Unknown")

    class Source(models.TextChoices):
        BOUGHT_HERE = "bought_here", _("Bought the car here")
        FIRST_VISIT = "first_visit", _("First visit with a car bought elsewhere")
        CAMPAIGN = "campaign", _("Campaign")
        REFERRAL = "referral", _("Referral")

    class Channel(models.TextChoices):
        CALL = "call", _("Phone call")
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")
        EMAIL = "email", _("Email")

    class Occupation(models.TextChoices):
        TEACHER = "teacher", _("Teacher")
        DOCTOR = "doctor", _("Doctor / nurse")
        CIVIL_SERVANT = "civil_servant", _("Civil servant")
        ENTERPRISE = "enterprise", _("Company employee")
        BUSINESS_OWNER = "business_owner", _("Business owner")
        SOLDIER = "soldier", _("Armed forces")
        DRIVER = "driver", _("Professional driver")
        FREELANCE = "freelance", _("Freelancer")
        RETIRED = "retired", _("Retired")
        STUDENT = "student", _("Student")
        OTHER = "other", _("Other")

    class Education(models.TextChoices):
        SECONDARY = "secondary", _("Secondary school or below")
        COLLEGE = "college", _("College")
        BACHELOR = "bachelor", _("Bachelor")
        POSTGRADUATE = "postgraduate", _("Postgraduate")

    class IncomeBand(models.TextChoices):
        LOW = "low", _("Under 100k yuan a year")
        MIDDLE = "middle", _("100k–300k yuan a year")
        HIGH = "high", _("300k–1M yuan a year")
        VERY_HIGH = "very_high", _("Over 1M yuan a year")

    class ValueTier(models.TextChoices):
        A = "A", _("A – loyal")
        B = "B", _("B – opportunity")
        C = "C", _("C – marginal")
        D = "D", _("D – lost")

    class ChurnState(models.TextChoices):
        ACTIVE = "active", _("Active")
        AT_RISK = "at_risk", _("At risk")
        LOST = "lost", _("Lost")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        MOVED = "moved", _("Moved away")
        DECEASED = "deceased", _("Deceased")

    class RecordStatus(models.TextChoices):
        """The statuses of a record that no longer stands for a customer of its
        own, set only by ``customers.merge.customer_merge`` (merged into another,
        kept record) and ``customers.privacy.customer_erase`` (personal data erased
        on the customer's request): never by a form or a call outcome, which offer
        ``Status`` alone (care's outcome codes choose from ``Status.choices``)."""

        MERGED = "merged", _("Merged into another record")
        ERASED = "erased", _("Personal data erased")

    class WatchReason(models.TextChoices):
        """Why a customer is on the watch list (an early-warning call): the
        nightly tier recompute sets the first two, with their figures."""

        TIER_DOWN = "tier_down", _("Tier went down")
        VISIT_RATE = "visit_rate", _("Visits slowed down")
        COMPLAINT = "complaint", _("A tier-A customer complained")

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.PROTECT, related_name="customers"
    )
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("mobile"), max_length=11, validators=[validate_mobile], db_index=True)
    phone_wrong = models.BooleanField(
        _("number reported wrong"), default=False, help_text=_("Set when a call found the number wrong.")
    )
    id_number = EncryptedTextField(
        _("ID number"), blank=True, validators=[validate_id_number], help_text=_("Stored encrypted; shown masked.")
    )
    id_number_hash = KeyedHashField(_("ID number lookup hash"), source="id_number")
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, default=Gender.UNKNOWN)
    occupation = models.CharField(_("occupation"), max_length=20, choices=Occupation.choices, blank=True)
    employer = models.CharField(_("employer"), max_length=100, blank=True)
    education = models.CharField(_("education"), max_length=20, choices=Education.choices, blank=True)
    income_band = models.CharField(_("income band"), max_length=20, choices=IncomeBand.choices, blank=True)
    hobbies = models.CharField(_("hobbies"), max_length=200, blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True, db_index=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    address = models.CharField(_("home address"), max_length=200, blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.CALL
    )
    birthday = models.DateField(_("birthday (solar)"), null=True, blank=True)
    lunar_birthday_month = models.PositiveSmallIntegerField(_("lunar birthday month"), null=True, blank=True)
    lunar_birthday_day = models.PositiveSmallIntegerField(_("lunar birthday day"), null=True, blank=True)
    lunar_birthday_leap = models.BooleanField(_("lunar birthday in a leap month"), default=False)
    email = models.EmailField(_("e-mail"), blank=True)
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    marketing_consent_at = models.DateTimeField(_("consent recorded at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.BOUGHT_HERE)
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
    )
    value_tier = models.CharField(_("value tier"), max_length=1, choices=ValueTier.choices, default=ValueTier.B)
    churn_state = models.CharField(
        _("churn state"), max_length=10, choices=ChurnState.choices, default=ChurnState.ACTIVE
    )
    last_visit_date = models.DateField(_("last visit"), null=True, blank=True)
    tier_score = models.DecimalField(_("tier score"), max_digits=5, decimal_places=1, null=True, blank=True)
    tier_pinned = models.BooleanField(
        _("tier pinned"), default=False, help_text=_("A manager fixed the tier: the nightly recompute leaves it.")
    )
    tier_pin_reason = models.CharField(_("why pinned"), max_length=200, blank=True)
    churn_confirm_by_call = models.BooleanField(
        _("confirm by call"),
        default=False,
        help_text=_("Long since the last visit, but the car has not driven a service interval yet."),
    )
    watch_reason = models.CharField(_("on the watch list for"), max_length=20, choices=WatchReason.choices, blank=True)
    watch_since = models.DateField(_("watched since"), null=True, blank=True)
    # The figures behind the watch, as of ``watch_since`` (customers.selectors.customer_watch_text
    # words them). Visit rate: the usual gap between visits, and the days since the last one.
    watch_usual_days = models.PositiveIntegerField(_("usual days between visits"), null=True, blank=True)
    watch_days_since = models.PositiveIntegerField(_("days since the last visit"), null=True, blank=True)
    watch_last_visit = models.DateField(_("last visit when watched"), null=True, blank=True)
    # Tier down: from which tier to which.
    watch_from_tier = models.CharField(_("tier before"), max_length=1, choices=ValueTier.choices, blank=True)
    watch_to_tier = models.CharField(_("tier after"), max_length=1, choices=ValueTier.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=[*Status.choices, *RecordStatus.choices], default=Status.ACTIVE
    )
    # Observations gathered at contacts (seed 001 "观察信息").
    traits = models.TextField(_("traits"), blank=True)
    interests = models.TextField(_("interests"), blank=True)
    typical_events = models.TextField(_("typical events"), blank=True)
    visit_pattern = models.TextField(_("visit pattern"), blank=True)
    payment_habits = models.TextField(_("payment habits"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["dealership", "value_tier"], name="customer_store_tier"),
            models.Index(fields=["dealership", "advisor"], name="customer_store_advisor"),
            models.Index(fields=["dealership", "last_visit_date"], name="customer_store_last_visit"),
            models.Index(fields=["name"], name="customer_name"),
            # The nightly rollups find the customers created since their last run by it.
            models.Index(fields=["created_at"], name="customer_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lunar_birthday_month__isnull=True)
                | models.Q(lunar_birthday_month__gte=1, lunar_birthday_month__lte=12),
                name="customer_lunar_month_range",
            ),
            models.CheckConstraint(
                condition=models.Q(lunar_birthday_day__isnull=True)
                | models.Q(lunar_birthday_day__gte=1, lunar_birthday_day__lte=30),
                name="customer_lunar_day_range",
            ),
            # A lunar birthday is a month and a day, or nothing at all.
            models.CheckConstraint(
                condition=models.Q(lunar_birthday_month__isnull=True, lunar_birthday_day__isnull=True)
                | models.Q(lunar_birthday_month__isnull=False, lunar_birthday_day__isnull=False),
                name="customer_lunar_birthday_complete",
            ),
            models.CheckConstraint(condition=models.Q(value_tier__in=["A", "B", "C", "D"]), name="customer_tier_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def title(self) -> str:
        """先生 / 女士, as a care script addresses the customer."""
        if self.gender == self.Gender.FEMALE:
            return str(_("Ms."))
        if self.gender == self.Gender.MALE:
            return str(_("Mr."))
        return ""

    def clean(self) -> None:
        if (self.lunar_birthday_month is None) != (self.lunar_birthday_day is None):
            raise ValidationError(
                {"lunar_birthday_day": _("Give both the month and the day of the lunar birthday, or neither.")}
            )
        if self.advisor_id and self.advisor and self.advisor.dealership_id not in (None, self.dealership_id):
            raise ValidationError({"advisor": _("The advisor works at another dealership.")})


class ConsentChange(models.Model):
    """A change of a customer's marketing consent, with when, how and from whom:
    the record a regulator or the customer may ask for."""

    class Source(models.TextChoices):
        SMS_REPLY = "sms_reply", _("SMS reply")
        ADVISOR = "advisor", _("Advisor")
        ADMIN = "admin", _("Admin")
        IMPORT = "import", _("Import")
        CUSTOMER = "customer", _("Customer (online)")
        API = "api", _("API")
        MERGE = "merge", _("Duplicate records merged")
        ERASURE = "erasure", _("Erasure request")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consent_changes"
    )
    granted = models.BooleanField(_("consent given"))
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True, help_text=_("E.g. the reply's text."))
    changed_at = models.DateTimeField(_("changed at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL, null=True, blank=True
    )

    dealership_path = "customer__dealership"

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["customer", "changed_at"], name="consent_customer_time")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {'+' if self.granted else '-'} {self.changed_at:%Y-%m-%d %H:%M}"


class TierPolicy(models.Model):
    """How value tiers and churn states are worked out: weights, targets and
    thresholds, editable in admin. The row without a dealership is the group's;
    a dealership's own row replaces it for that store."""

    dealership = models.OneToOneField(
        Dealership,
        verbose_name=_("dealership"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tier_policy",
        help_text=_("Empty: the group's policy."),
    )
    window_months = models.PositiveSmallIntegerField(_("window (months)"), default=12)
    # Weights of the score's parts (any scale; the score is their weighted mean, 0–100).
    weight_spend = models.PositiveSmallIntegerField(_("weight: paid spend"), default=30)
    weight_visits = models.PositiveSmallIntegerField(_("weight: visits"), default=25)
    weight_recency = models.PositiveSmallIntegerField(_("weight: recency"), default=15)
    weight_paid_share = models.PositiveSmallIntegerField(_("weight: paid share"), default=10)
    weight_tenure = models.PositiveSmallIntegerField(_("weight: tenure"), default=10)
    weight_referrals = models.PositiveSmallIntegerField(_("weight: referrals"), default=10)
    complaint_penalty = models.PositiveSmallIntegerField(_("points off per complaint"), default=15)
    # What counts as full marks for each part.
    spend_target = models.DecimalField(_("paid spend for full marks"), max_digits=10, decimal_places=2, default=6000)
    visits_target = models.PositiveSmallIntegerField(_("visits for full marks"), default=3)
    tenure_target_years = models.PositiveSmallIntegerField(_("years of tenure for full marks"), default=3)
    referrals_target = models.PositiveSmallIntegerField(_("referrals for full marks"), default=2)
    # Tiers.
    a_min_score = models.PositiveSmallIntegerField(_("A: minimum score"), default=65)
    a_min_visits = models.PositiveSmallIntegerField(_("A: minimum visits in the window"), default=2)
    a_min_paid_share = models.PositiveSmallIntegerField(
        _("A: minimum share of paid work (%)"), default=50, help_text=_("Not by spend alone: loyalty pays its way.")
    )
    c_visit_cycle_months = models.PositiveSmallIntegerField(
        _("C: visit cycle over (months)"), default=6, help_text=_("Or warranty and free work only.")
    )
    # Churn.
    at_risk_months = models.PositiveSmallIntegerField(_("at risk after (months without a visit)"), default=6)
    lost_months = models.PositiveSmallIntegerField(_("lost after (months without a visit)"), default=12)
    # Early warning: visits falling behind the customer's own rhythm.
    watch_gap_factor = models.DecimalField(
        _("visit rate: watch after (× the usual gap)"),
        max_digits=3,
        decimal_places=1,
        default=Decimal("1.5"),
        help_text=_("Watched when the days since the last visit exceed this many times the median gap between visits."),
    )
    watch_min_visits = models.PositiveSmallIntegerField(
        _("visit rate: visits needed"),
        default=3,
        help_text=_("Customers with fewer visits have no usual gap yet and are not watched for their visit rate."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")
        constraints = [
            # One group policy: unique on the store with "no store" as 0 (NULLs never clash in a plain unique index).
            models.UniqueConstraint(Coalesce("dealership", models.Value(0)), name="tier_policy_one_group_default"),
            models.CheckConstraint(
                condition=models.Q(lost_months__gt=models.F("at_risk_months")), name="tier_policy_lost_after_risk"
            ),
            models.CheckConstraint(condition=models.Q(a_min_paid_share__lte=100), name="tier_policy_share_percent"),
            models.CheckConstraint(condition=models.Q(window_months__gt=0), name="tier_policy_window_positive"),
            models.CheckConstraint(condition=models.Q(watch_gap_factor__gte=1), name="tier_policy_watch_factor_min"),
            # A usual gap needs two gaps at least.
            models.CheckConstraint(condition=models.Q(watch_min_visits__gte=3), name="tier_policy_watch_visits_min"),
        ]

    def __str__(self) -> str:
        return str(self.dealership) if self.dealership_id else str(_("Group policy"))


class TierChange(models.Model):
    """A customer's tier moved: when, from what, to what, and why."""

    class Cause(models.TextChoices):
        RECOMPUTE = "recompute", _("Nightly recompute")
        PINNED = "pinned", _("Pinned by a manager")
        UNPINNED = "unpinned", _("Pin removed")
        MERGE = "merge", _("Duplicate records merged")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tier_changes"
    )
    day = models.DateField(_("day"))
    from_tier = models.CharField(_("from"), max_length=1, choices=Customer.ValueTier.choices)
    to_tier = models.CharField(_("to"), max_length=1, choices=Customer.ValueTier.choices)
    cause = models.CharField(_("cause"), max_length=10, choices=Cause.choices)
    reason = models.CharField(_("why"), max_length=200, blank=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    dealership_path = "customer__dealership"

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier history")
        ordering = ["-day", "-pk"]
        indexes = [
            models.Index(fields=["customer", "day"], name="tierchange_customer_day"),
            models.Index(fields=["day"], name="tierchange_day"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_tier}→{self.to_tier} {self.day}"


class ChurnEvent(models.Model):
    """A customer's churn state moved: drifting away, lost, or recovered by a visit."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="churn_events"
    )
    day = models.DateField(_("day"))
    from_state = models.CharField(_("from"), max_length=10, choices=Customer.ChurnState.choices)
    to_state = models.CharField(_("to"), max_length=10, choices=Customer.ChurnState.choices)
    recovered = models.BooleanField(_("recovery"), default=False, help_text=_("Back to active after a new visit."))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    dealership_path = "customer__dealership"

    class Meta:
        verbose_name = _("churn event")
        verbose_name_plural = _("churn events")
        ordering = ["-day", "-pk"]
        indexes = [
            models.Index(fields=["customer", "day"], name="churnevent_customer_day"),
            models.Index(fields=["day", "recovered"], name="churnevent_day"),
            models.Index(fields=["created_at"], name="churnevent_created"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_state}→{self.to_state} {self.day}"


class TierSnapshot(models.Model):
    """Each customer's tier and churn state as of a month, for month-on-month
    movement; the recompute keeps the current month's row up to date."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+")
    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    tier = models.CharField(_("value tier"), max_length=1, choices=Customer.ValueTier.choices)
    churn_state = models.CharField(_("churn state"), max_length=10, choices=Customer.ChurnState.choices)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("tier snapshot")
        verbose_name_plural = _("tier snapshots")
        constraints = [models.UniqueConstraint(fields=["month", "customer"], name="tier_snapshot_once_a_month")]
        indexes = [models.Index(fields=["dealership", "month"], name="tiersnapshot_store_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.customer_id}: {self.tier}/{self.churn_state}"


class CustomerMerge(models.Model):
    """Two records of one person in a store made one: the kept record took
    every row that pointed at the merged one (customers.merge.customer_merge).
    Traceable from both sides; the merged record stays, inactive, with
    status "merged"."""

    # The generic move leaves audit rows where they are: they say what happened to whom.
    merge_moves_rows = False

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.PROTECT, related_name="+")
    kept = models.ForeignKey(
        Customer, verbose_name=_("kept record"), on_delete=models.PROTECT, related_name="merges_kept"
    )
    merged = models.ForeignKey(
        Customer, verbose_name=_("merged record"), on_delete=models.PROTECT, related_name="merges_merged"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("merged by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(_("merged at"))
    moved = models.JSONField(
        _("rows moved"), default=dict, help_text=_("Rows moved to the kept record, per table and relation.")
    )
    left = models.JSONField(
        _("rows left"),
        default=dict,
        help_text=_("Rows left on the merged record because the kept record already had one like them."),
    )
    former = models.JSONField(
        _("merged record's identifiers"),
        default=dict,
        help_text=_("Name, mobile, masked ID number and its lookup hash of the merged record at the merge."),
    )
    filled = models.JSONField(
        _("fields filled on the kept record"), default=dict, help_text=_("Empty fields of the kept record taken over.")
    )

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["kept", "at"], name="customermerge_kept")]
        constraints = [
            # A record is merged away once; after that it is inactive and cannot be merged again.
            models.UniqueConstraint(fields=["merged"], name="customer_merged_once"),
            models.CheckConstraint(condition=~models.Q(kept=models.F("merged")), name="customer_merge_two_records"),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.kept_id} {self.at:%Y-%m-%d %H:%M}"


class PrivacyRequest(models.Model):
    """A customer's right exercised under PIPL (Art. 45 export, Art. 47 erasure):
    who did it, for whom, what, when and from where (customers.privacy)."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export of personal data")
        ERASURE = "erasure", _("Erasure of personal data")

    class Format(models.TextChoices):
        JSON = "json", _("JSON file")
        HTML = "html", _("Readable page")

    merge_moves_rows = False

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="privacy_requests"
    )
    kind = models.CharField(_("request"), max_length=10, choices=Kind.choices)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("done by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    detail = models.JSONField(_("what"), default=dict, blank=True, help_text=_("Rows exported or erased, per table."))

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["customer", "at"], name="privacyrequest_customer")]
        constraints = [
            # A customer's data is erased once (customers.privacy refuses a second time too).
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(kind="erasure"), name="privacy_erasure_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer_id} · {self.at:%Y-%m-%d %H:%M}"
