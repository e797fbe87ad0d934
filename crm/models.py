import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as AuthUserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.validators import validate_mobile, validate_weekdays


class Dealership(models.Model):
    """One store (4S店) of the dealer group; every business row belongs to one."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    city = models.CharField(_("city"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    booking_phone = models.CharField(_("booking phone"), max_length=20, blank=True)
    rescue_phone = models.CharField(_("24-hour rescue phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Business hours: the clocks of complaint SLAs count them (crm.business_time).
    opens_at = models.TimeField(_("opens at"), default=datetime.time(8, 30))
    closes_at = models.TimeField(_("closes at"), default=datetime.time(18, 0))
    open_weekdays = models.CharField(
        _("open weekdays"),
        max_length=7,
        default="1234567",
        validators=[validate_weekdays],
        help_text=_(
            "Days of the week the store is open: 1 is Monday, 7 is Sunday; e.g. 123456 for Monday to Saturday."
        ),
    )
    closed_on_public_holidays = models.BooleanField(
        _("closed on public holidays"),
        default=True,
        help_text=_("Days off of the holiday table close the store; its adjusted working days open it."),
    )
    surveys_by_other_advisor = models.BooleanField(
        _("surveys asked by another advisor"),
        default=False,
        help_text=_(
            "The post-service survey call never goes to the customer's own advisor: it is given to another "
            "advisor of the store."
        ),
    )

    # Tenancy path used by crm.tenancy.scope_for_user.
    dealership_path = "pk"

    class Meta:
        verbose_name = _("dealership")
        verbose_name_plural = _("dealerships")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__lt=models.F("closes_at")), name="store_opens_before_closing"
            )
        ]

    def __str__(self) -> str:
        return self.name


class UserQuerySet(models.QuerySet):
    def people(self) -> "UserQuerySet":
        """The staff who work in the stores: not the accounts API tokens act as
        (``ApiToken.user``), which must never be picked as a case's handler, a
        touch's caller or a digest's reader."""
        return self.filter(api_token__isnull=True)


class UserManager(AuthUserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    class Role(models.TextChoices):
        ADVISOR = "advisor", _("Service advisor")
        MANAGER = "manager", _("Manager")
        ADMIN = "admin", _("Administrator")

    objects = UserManager()

    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.ADVISOR)
    dealership = models.ForeignKey(
        Dealership,
        verbose_name=_("dealership"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text=_("Empty for group-level managers and administrators, who see every dealership."),
    )
    phone = models.CharField(_("mobile"), max_length=20, blank=True, validators=[validate_mobile])

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # An advisor works a book of customers in one store; only managers
            # and admins can stand above the stores.
            models.CheckConstraint(
                condition=~models.Q(role="advisor") | models.Q(dealership__isnull=False),
                name="user_advisor_has_dealership",
            ),
        ]

    def __str__(self) -> str:
        full = f"{self.last_name}{self.first_name}".strip()
        return full or self.username

    @property
    def display_name(self) -> str:
        return str(self)

    @property
    def is_group_level(self) -> bool:
        """Sees every dealership: superusers and store-less managers/admins."""
        return self.is_superuser or (self.dealership_id is None and self.role != self.Role.ADVISOR)


class Holiday(models.Model):
    """A day of the official holiday calendar: a day off, or a working day moved
    to a weekend (调休). Days not in the table follow the week: Saturday and
    Sunday off. Read through crm.calendar; written one whole year at a time by
    crm.services.holiday_year_set (from chinesecalendar or the admin's year
    form). It lives in crm, the lowest layer, because care and complaints both
    count working days."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=50)
    is_day_off = models.BooleanField(_("day off"), default=True, help_text=_("Unticked: an adjusted working day."))

    class Meta:
        verbose_name = _("holiday calendar day")
        verbose_name_plural = _("holiday calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class HolidayYear(models.Model):
    """A year whose official arrangement is in the Holiday table.

    A year without a row is *unknown*: the calendar still answers for it
    (weekends off) but says the answer is a guess (crm.calendar.is_known,
    calendar_gaps), because the State Council publishes each year's notice
    only weeks before it starts and no library has it before then.
    """

    class Source(models.TextChoices):
        CHINESECALENDAR = "chinesecalendar", _("chinesecalendar library")
        ADMIN = "admin", _("Entered in administration")

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    release = models.CharField(
        _("library release"), max_length=20, blank=True, help_text=_("The chinesecalendar version the days came from.")
    )
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("loaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("holiday year")
        verbose_name_plural = _("holiday years")
        ordering = ["-year"]
        constraints = [
            # chinesecalendar starts in 2004; anything far outside is a typing error.
            models.CheckConstraint(
                condition=models.Q(year__gte=2000, year__lte=2100), name="holidayyear_year_in_range"
            ),
        ]

    def __str__(self) -> str:
        return str(self.year)


class Notification(models.Model):
    """A message for one member of staff in the app (an escalated complaint, …):
    shown where they work until they mark it read."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("for"), on_delete=models.CASCADE, related_name="notifications"
    )
    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, null=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    dealership_path = "user__dealership"

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.title


class ApiToken(models.Model):
    """A key one integration (a DMS sync, a carmaker portal …) calls the API with.

    The raw key is shown once when it is issued (crm.services.api_token_issue)
    and only its SHA-256 is kept; the short prefix recognises it in lists.
    Requests act as ``user``, a service account the issue service creates:
    a manager of the token's store, or a group-level administrator for a
    group-wide token, so that crm.tenancy scopes its reads like a person's.
    """

    PREFIX_LENGTH = 8

    name = models.CharField(_("integration"), max_length=100, help_text=_('Who calls with it, e.g. "DMS sync".'))
    dealership = models.ForeignKey(
        Dealership,
        verbose_name=_("dealership"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_tokens",
        help_text=_("Empty for a group-wide token, which sees every dealership."),
    )
    can_write = models.BooleanField(_("can write"), default=False, help_text=_("Unticked: the token can only read."))
    prefix = models.CharField(_("key prefix"), max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acts as"),
        on_delete=models.PROTECT,
        related_name="api_token",
        editable=False,
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, help_text=_("Empty: never expires."))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class IdempotencyRecord(models.Model):
    """The answer to one POST sent with an ``Idempotency-Key`` header (crm.idempotency).

    A retry with the same key and body gets the stored response again; the
    same key with another body is a conflict. ``status_code`` stays empty
    while the first request is still being handled.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("idempotency key"), max_length=100)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=300)
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64)
    status_code = models.PositiveSmallIntegerField(
        _("status code"), null=True, blank=True, help_text=_("Empty while the first request is in progress.")
    )
    response = models.JSONField(_("response"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    dealership_path = "user__dealership"

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
