from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership
from customers.models import Customer
from service.models import Appointment, RepairOrder
from vehicles.models import Vehicle


class CareKind(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance due")
    MILEAGE_MILESTONE = "mileage_milestone", _("Mileage milestone")
    WARRANTY_EXPIRY = "warranty_expiry", _("Warranty expiry")
    INSURANCE = "insurance", _("Insurance renewal")
    INSPECTION = "inspection", _("Annual inspection")
    BIRTHDAY = "birthday", _("Birthday")
    HOLIDAY = "holiday", _("Holiday greeting")
    WEATHER = "weather", _("Severe weather")
    NEW_CAR_DAY3 = "new_car_day3", _("New car: day-3 call")
    NEW_CAR_DAY7 = "new_car_day7", _("New car: day-7 questionnaire")
    POST_REPAIR_DAY3 = "post_repair_day3", _("After repair: day-3 call")
    DECLINED_SERVICE = "declined_service", _("Declined work")
    APPOINTMENT_CONFIRM = "appointment_confirm", _("Appointment confirmation")
    SEASONAL = "seasonal", _("Seasonal campaign")
    RECALL = "recall", _("Recall")
    WINBACK = "winback", _("Win-back call")
    APPOINTMENT_NO_SHOW = "appointment_no_show", _("Missed appointment")
    EARLY_WARNING = "early_warning", _("Early warning call")


# The channels a customer may prefer are the channels care can use.
Channel = Customer.Channel


class CareRule(models.Model):
    """When, how and with which words a kind of care touch is made.

    A rule without a dealership is the group default; a dealership's rule of the
    same kind and name replaces it for that dealership.
    """

    dealership = models.ForeignKey(
        Dealership,
        verbose_name=_("dealership"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="care_rules",
        help_text=_("Empty: the group default, used by every dealership without its own rule of this name."),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=CareKind.choices)
    name = models.CharField(_("name"), max_length=80)
    enabled = models.BooleanField(_("enabled"), default=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.CALL)
    lead_days = models.PositiveSmallIntegerField(
        _("lead days"), default=7, help_text=_("How many days before the event the touch is made.")
    )
    cadence_days = models.JSONField(
        _("cadence"),
        default=list,
        blank=True,
        help_text=_("Further contacts, in days before the event, e.g. [45, 33, 30]. Empty: one contact at lead days."),
    )
    expiry_days = models.PositiveSmallIntegerField(
        _("expires after (days)"), default=14, help_text=_("Days after the event when an unworked touch expires.")
    )
    message_day_before = models.BooleanField(
        _("message the day before"),
        default=False,
        help_text=_("For call rules: an SMS with the message template goes out the day before the call is due."),
    )
    message_template = models.TextField(_("message template"), blank=True)
    gateway_template_code = models.CharField(
        _("SMS template code"),
        max_length=60,
        blank=True,
        help_text=_(
            "The code of the approved template at the SMS gateway (e.g. SMS_153055065); its variables are the "
            "placeholders of the message template, in order, without the signature."
        ),
    )
    call_script = models.TextField(_("call script"), blank=True)
    target_tiers = models.CharField(
        _("value tiers"), max_length=4, default="ABCD", help_text=_("Letters of the tiers to contact, e.g. ABC.")
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=50, help_text=_("0–100; higher comes first."))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("care rule")
        verbose_name_plural = _("care rules")
        ordering = ["kind", "name", "dealership"]
        constraints = [
            models.UniqueConstraint(
                fields=["dealership", "kind", "name"],
                condition=Q(dealership__isnull=False),
                name="care_rule_unique_per_dealership",
            ),
            models.UniqueConstraint(
                fields=["kind", "name"], condition=Q(dealership__isnull=True), name="care_rule_unique_group_default"
            ),
            models.CheckConstraint(condition=Q(priority__lte=100), name="care_rule_priority_range"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from care.templating import validate_template

        errors = {}
        for field in ("message_template", "call_script"):
            try:
                validate_template(getattr(self, field))
            except ValidationError as exc:
                errors[field] = exc.messages
        tiers = set(self.target_tiers or "")
        if not tiers or not tiers <= set("ABCD"):
            errors["target_tiers"] = [_("Use the letters A, B, C and D.")]
        if self.kind == CareKind.SEASONAL:
            from care.generators.seasonal import clean_params

            try:
                clean_params(self.params)
            except ValidationError as exc:
                errors["params"] = exc.messages
        if self.kind == CareKind.WINBACK:
            from care.generators.winback import clean_params as clean_winback_params

            try:
                clean_winback_params(self.params)
            except ValidationError as exc:
                errors["params"] = exc.messages
        if self.message_day_before and self.channel != Channel.CALL:
            errors["message_day_before"] = [_("Only a call rule sends a message the day before.")]
        elif self.message_day_before and not (self.message_template or "").strip():
            errors["message_template"] = [_("The message the day before needs a message template.")]
        if self.channel != Channel.CALL and not (self.message_template or "").strip():
            errors["message_template"] = [_("A message rule needs a message template.")]
        cadence = self.cadence_days or []
        if not isinstance(cadence, list) or not all(isinstance(d, int) and d >= 0 for d in cadence):
            errors["cadence_days"] = [_("A list of whole days before the event, such as [45, 33, 30].")]
        if errors:
            raise ValidationError(errors)

    @property
    def steps(self) -> list[int]:
        """Days before the event for each contact, earliest first."""
        return sorted(set(self.cadence_days or [self.lead_days]), reverse=True)

    @property
    def sends_message_day_before(self) -> bool:
        return self.message_day_before and self.channel == Channel.CALL

    @property
    def reach_days(self) -> int:
        """How many days before the event the first contact (call or the message before it) is made."""
        return max(self.steps) + (1 if self.sends_message_day_before else 0)


class CareTask(models.Model):
    """One care touch, for one occasion (a service cycle, a birthday, an expiry date).

    The unique constraints on (rule, customer, vehicle, occasion), not a lock,
    make a rerun or two beat runs at once create nothing twice.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        BOOKED = "booked", _("Appointment booked")
        NOT_REACHED = "not_reached", _("Not reached")
        DECLINED = "declined", _("Not interested")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        FULFILLED = "fulfilled", _("Fulfilled (customer came in)")
        SUPERSEDED = "superseded", _("Superseded by a later contact")
        EXPIRED = "expired", _("Expired")
        INAPPLICABLE = "inapplicable", _("No longer applicable")
        SENT = "sent", _("Message sent")
        SUPPRESSED = "suppressed", _("Message suppressed")
        SEND_FAILED = "send_failed", _("Message failed")
        DONE_ELSEWHERE = "done_elsewhere", _("Done elsewhere")
        INSURED_ELSEWHERE = "insured_elsewhere", _("Insured elsewhere")
        UNREACHABLE = "unreachable", _("Unreachable")
        CAR_SOLD = "car_sold", _("Car sold")
        MOVED = "moved", _("Moved away")

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="care_tasks"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, null=True, blank=True, related_name="care_tasks"
    )
    rule = models.ForeignKey(CareRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=24, choices=CareKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    occasion = models.CharField(_("occasion"), max_length=80)
    step = models.PositiveSmallIntegerField(_("contact number"), default=1)
    event_date = models.DateField(
        _("event date"), help_text=_("The date the touch is about: expiry, due date, birthday.")
    )
    due_date = models.DateField(_("contact on"))
    expires_on = models.DateField(_("expires on"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("call attempts"), default=0)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="care_tasks",
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=50)
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("E.g. the declined work item."))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2, null=True, blank=True)
    repair_order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("source repair order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="care_tasks",
    )
    appointment = models.ForeignKey(
        Appointment, verbose_name=_("appointment"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_repair_order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("visit that followed"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="converted_care_tasks",
    )
    created_on = models.DateField(_("generated for"), help_text=_("The day whose morning run created the touch."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("care task")
        verbose_name_plural = _("care tasks")
        ordering = ["due_date", "-priority", "pk"]
        indexes = [
            models.Index(fields=["assigned_to", "status", "due_date"], name="caretask_queue"),
            models.Index(fields=["dealership", "status", "due_date"], name="caretask_store_queue"),
            models.Index(fields=["status", "expires_on"], name="caretask_expiry"),
            models.Index(fields=["customer", "status"], name="caretask_customer_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "customer", "vehicle", "occasion"],
                condition=Q(vehicle__isnull=False),
                name="caretask_once_per_vehicle_occasion",
            ),
            models.UniqueConstraint(
                fields=["rule", "customer", "occasion"],
                condition=Q(vehicle__isnull=True),
                name="caretask_once_per_customer_occasion",
            ),
            models.CheckConstraint(
                condition=Q(status="open", outcome="") | ~Q(status="open"), name="caretask_open_has_no_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer_id} · {self.due_date}"


# Kinds whose messages are marketing: they need the customer's consent and
# count against the frequency cap. The others are about the customer's own car.
MARKETING_KINDS = frozenset(
    {CareKind.BIRTHDAY, CareKind.HOLIDAY, CareKind.WEATHER, CareKind.SEASONAL, CareKind.WINBACK}
)


class Outbox(models.Model):
    """One message to one customer, from queueing to the gateway's last word.

    A touch has at most one message (unique ``task``), and a message is claimed
    by one sender before it is sent, so it never goes out twice.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")

    class Purpose(models.TextChoices):
        SERVICE = "service", _("Service reminder")
        MARKETING = "marketing", _("Marketing")

    class Reason(models.TextChoices):
        NO_CONSENT = "no_consent", _("No marketing consent")
        OPTED_OUT = "opted_out", _("Customer turned this care off")
        FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")
        NO_ADDRESS = "no_address", _("No valid number or address")
        CUSTOMER_INACTIVE = "inactive", _("Customer not active")
        TOUCH_CLOSED = "touch_closed", _("Touch closed before sending")
        EXPIRED = "expired", _("Too late to send")

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="outbox_messages"
    )
    task = models.OneToOneField(
        CareTask,
        verbose_name=_("care task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="message",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=CareKind.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("to"), max_length=254, blank=True)
    template_key = models.CharField(
        _("template"), max_length=60, help_text=_("Which of our templates: the rule's kind and number.")
    )
    template_code = models.CharField(_("gateway template code"), max_length=60, blank=True)
    params = models.JSONField(
        _("template parameters"), default=list, blank=True, help_text=_("[name, value] pairs, in order.")
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    suppression_reason = models.CharField(_("suppressed because"), max_length=16, choices=Reason.choices, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=50)
    send_after = models.DateTimeField(_("not before"))
    expires_at = models.DateTimeField(_("send by"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    backend = models.CharField(_("sent through"), max_length=30, blank=True)
    gateway_message_id = models.CharField(_("gateway message id"), max_length=100, blank=True)
    error_code = models.CharField(_("error code"), max_length=60, blank=True)
    error_message = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "send_after"], name="outbox_due"),
            models.Index(fields=["customer", "created_at"], name="outbox_customer_time"),
            models.Index(fields=["customer", "purpose", "sent_at"], name="outbox_customer_sent"),
            models.Index(fields=["gateway_message_id"], name="outbox_gateway_id"),
            models.Index(fields=["dealership", "created_at"], name="outbox_store_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="suppressed", suppression_reason__gt="")
                | (~Q(status="suppressed") & Q(suppression_reason="")),
                name="outbox_suppressed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} → {self.recipient}"


class MessagingProfile(models.Model):
    """A dealership's sending settings: its approved SMS signature and its e-mail sender."""

    dealership = models.OneToOneField(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="messaging_profile"
    )
    sms_sign_name = models.CharField(
        _("SMS signature"), max_length=30, blank=True, help_text=_("As approved at the gateway, without 【】.")
    )
    email_from = models.EmailField(_("e-mail sender"), blank=True)
    paused = models.BooleanField(
        _("sending paused"), default=False, help_text=_("Queued messages wait while paused; nothing is lost.")
    )

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("messaging settings")
        verbose_name_plural = _("messaging settings")

    def __str__(self) -> str:
        return str(self.dealership)


class WeatherLocation(models.Model):
    """A city (or one district of it) whose customers get severe-weather care."""

    city = models.CharField(_("city"), max_length=50)
    district = models.CharField(_("district"), max_length=50, blank=True, help_text=_("Empty: the whole city."))
    latitude = models.DecimalField(_("latitude"), max_digits=8, decimal_places=4)
    longitude = models.DecimalField(_("longitude"), max_digits=8, decimal_places=4)
    provider_id = models.CharField(_("provider's location id"), max_length=30, blank=True)
    enabled = models.BooleanField(_("polled"), default=True)

    class Meta:
        verbose_name = _("weather location")
        verbose_name_plural = _("weather locations")
        ordering = ["city", "district"]
        constraints = [models.UniqueConstraint(fields=["city", "district"], name="weather_location_unique")]

    def __str__(self) -> str:
        return f"{self.city} {self.district}".strip()


class WeatherAlert(models.Model):
    """An official warning, or a sudden change read from the forecast, as received."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In force")
        CANCELLED = "cancelled", _("Cancelled")

    location = models.ForeignKey(
        WeatherLocation, verbose_name=_("location"), on_delete=models.CASCADE, related_name="alerts"
    )
    provider = models.CharField(_("provider"), max_length=20)
    alert_id = models.CharField(_("alert id"), max_length=120)
    event = models.CharField(_("event"), max_length=20)
    event_name = models.CharField(_("event name"), max_length=40)
    message_type = models.CharField(_("message type"), max_length=10)
    severity = models.CharField(_("severity"), max_length=10, blank=True)
    colour = models.CharField(_("colour"), max_length=10, blank=True)
    colour_rank = models.PositiveSmallIntegerField(_("colour rank"), default=0, help_text=_("0 none, 1 blue … 4 red."))
    headline = models.CharField(_("headline"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    instruction = models.TextField(_("instruction"), blank=True)
    effective_at = models.DateTimeField(_("effective"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    replaces = models.ForeignKey(
        "self", verbose_name=_("replaces"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("weather alert")
        verbose_name_plural = _("weather alerts")
        ordering = ["-effective_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["location", "alert_id"], name="weather_alert_once")]

    def __str__(self) -> str:
        return self.headline


class OutcomeCode(models.Model):
    """What can come of a call, and what follows it: admins edit the list, like
    the recycle codes of a call centre."""

    class Action(models.TextChoices):
        CLOSE = "close", _("Close the touches")
        BOOK = "book", _("Book an appointment, then close")
        SNOOZE = "snooze", _("Call again on a date the customer names")
        REQUEUE = "requeue", _("Call again after some days")
        RETRY = "retry", _("Try again the next working day, up to a number of attempts")

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label = models.CharField(_("label"), max_length=60)
    reached = models.BooleanField(_("customer reached"), default=True)
    action = models.CharField(_("then"), max_length=10, choices=Action.choices, default=Action.CLOSE)
    task_outcome = models.CharField(
        _("outcome recorded on the touches"), max_length=20, choices=CareTask.Outcome.choices, default="reached"
    )
    requeue_days = models.PositiveSmallIntegerField(_("call again after (days)"), default=0)
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts before closing as unreachable"), default=3, help_text=_("For “try again”.")
    )
    asks = models.JSONField(
        _("details asked"),
        default=list,
        blank=True,
        help_text=_('Extra fields the advisor fills in, e.g. ["where", "why"]. Known: reason, where, why, insurer.'),
    )
    flags_phone = models.BooleanField(_("marks the number as wrong"), default=False)
    customer_status = models.CharField(
        _("sets the customer's status"), max_length=10, choices=Customer.Status.choices, blank=True
    )
    vehicle_status = models.CharField(
        _("sets the car's status"), max_length=10, choices=Vehicle.Status.choices, blank=True
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("call outcome")
        verbose_name_plural = _("call outcomes")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(action="requeue") | Q(requeue_days__gt=0), name="outcome_requeue_has_days"
            ),
            models.CheckConstraint(condition=~Q(action="retry") | Q(max_attempts__gt=0), name="outcome_retry_has_max"),
        ]

    def __str__(self) -> str:
        return self.label


class Contact(models.Model):
    """One contact with a customer: a call from the queue, or one logged by hand."""

    class Channel(models.TextChoices):
        CALL = "call", _("Phone call")
        VISIT = "visit", _("In person")
        WECHAT = "wechat", _("WeChat")
        SMS = "sms", _("SMS")

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.CALL)
    outcome = models.ForeignKey(
        OutcomeCode, verbose_name=_("outcome"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reached = models.BooleanField(_("reached"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    tasks = models.ManyToManyField(CareTask, verbose_name=_("care touches"), blank=True, related_name="contacts")
    appointment = models.ForeignKey(
        Appointment, verbose_name=_("appointment"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="contact_customer_time"),
            models.Index(fields=["advisor", "created_at"], name="contact_advisor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} · {self.created_at:%Y-%m-%d %H:%M}"


class TaskReassignment(models.Model):
    """A manager moved a touch to another advisor: who, to whom, why."""

    task = models.ForeignKey(
        CareTask, verbose_name=_("care task"), on_delete=models.CASCADE, related_name="reassignments"
    )
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("from"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200)
    at = models.DateTimeField(_("at"), default=timezone.now)

    dealership_path = "task__dealership"

    class Meta:
        verbose_name = _("reassignment")
        verbose_name_plural = _("reassignments")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.from_user_id} → {self.to_user_id}"


class WinbackReason(models.TextChoices):
    """Why a customer stopped coming (seed 003's survey)."""

    PRICE = "price", _("Price")
    QUALITY = "quality", _("Repair quality / not fixed the first time")
    ATTITUDE = "attitude", _("Service attitude")
    BROKEN_PROMISE = "broken_promise", _("A promise not kept")
    DISTANCE = "distance", _("Distance or time")
    ASSIGNED_SHOP = "assigned_shop", _("Insurer or police assigned another shop")
    MOVED = "moved", _("Moved away")
    CAR_SOLD = "car_sold", _("Car sold")
    OTHER = "other", _("Other")


class WinbackSurvey(models.Model):
    """The answers of a win-back call: why not back, and where the car went instead."""

    contact = models.OneToOneField(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="winback_survey"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="winback_surveys"
    )
    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(_("why not back"), default=list, help_text=_("Codes of WinbackReason."))
    repaired_elsewhere = models.BooleanField(_("repaired elsewhere"), null=True, blank=True)
    what = models.CharField(_("what was done"), max_length=200, blank=True)
    where = models.CharField(_("where"), max_length=100, blank=True)
    why_there = models.CharField(_("why there"), max_length=200, blank=True)
    other = models.CharField(_("other reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("answered at"), default=timezone.now)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("win-back survey")
        verbose_name_plural = _("win-back surveys")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["dealership", "created_at"], name="winback_survey_store_time")]

    def __str__(self) -> str:
        return f"{self.customer_id} · {self.created_at:%Y-%m-%d}"


class WinbackCampaign(models.Model):
    """A manager's win-back push for a segment of at-risk and lost customers, with an offer."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="winback_campaigns"
    )
    name = models.CharField(_("name"), max_length=100)
    offer = models.CharField(_("offer"), max_length=200, help_text=_("What the call offers, e.g. 保养套餐八折."))
    segment = models.JSONField(
        _("segment"),
        default=dict,
        blank=True,
        help_text=_(
            'Optional keys: "models" (names), "brands", "min_age_years", "max_age_years", "tiers" (e.g. "CD"), '
            '"cities", "churn_states" (at_risk, lost).'
        ),
    )
    start_date = models.DateField(_("starts"))
    end_date = models.DateField(_("ends"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("win-back campaign")
        verbose_name_plural = _("win-back campaigns")
        ordering = ["-start_date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="winback_campaign_dates")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from care.generators.winback import clean_campaign_segment

        try:
            clean_campaign_segment(self.segment)
        except ValidationError as exc:
            raise ValidationError({"segment": exc.messages}) from exc


class CareOptOut(models.Model):
    """A customer turned off one kind of care (or one channel of it), with the reason."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="care_opt_outs"
    )
    kind = models.CharField(
        _("kind"), max_length=24, choices=CareKind.choices, blank=True, help_text=_("Empty: all kinds.")
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, blank=True, help_text=_("Empty: every channel.")
    )
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL, null=True, blank=True
    )

    dealership_path = "customer__dealership"

    class Meta:
        verbose_name = _("care opt-out")
        verbose_name_plural = _("care opt-outs")
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "channel"], name="care_opt_out_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.kind or '*'}/{self.channel or '*'}"


class Holiday(models.Model):
    """A day of the official holiday calendar: a day off, or a working day moved
    to a weekend (调休). Seeded from chinesecalendar; admins add each new year
    when the State Council publishes it."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=50)
    is_day_off = models.BooleanField(_("day off"), default=True, help_text=_("Unticked: an adjusted working day."))

    class Meta:
        verbose_name = _("holiday calendar day")
        verbose_name_plural = _("holiday calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class RecallCampaign(models.Model):
    """A manufacturer's recall or service campaign, built from an uploaded list of VINs."""

    dealership = models.ForeignKey(
        Dealership,
        verbose_name=_("dealership"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="recall_campaigns",
        help_text=_("Empty: every dealership of the group."),
    )
    code = models.CharField(_("campaign code"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what is done"), blank=True)
    start_date = models.DateField(_("starts"))
    end_date = models.DateField(_("ends"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("recall campaign")
        verbose_name_plural = _("recall campaigns")
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="recall_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class RecallVehicle(models.Model):
    """One VIN of a recall list; matched to our car when we know it."""

    campaign = models.ForeignKey(
        RecallCampaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="vehicles"
    )
    vin = models.CharField(_("VIN"), max_length=17)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("recalled vehicle")
        verbose_name_plural = _("recalled vehicles")
        constraints = [models.UniqueConstraint(fields=["campaign", "vin"], name="recall_vehicle_unique_vin")]
        indexes = [models.Index(fields=["vin"], name="recall_vehicle_vin")]

    def __str__(self) -> str:
        return self.vin
