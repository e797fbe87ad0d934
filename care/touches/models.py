"""Rules and touches: what care is made, for whom, and each touch with its history."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from care.registry import kind_choices, spec_for
from complaints.models import Complaint
from crm.models import Dealership
from customers.models import Customer
from service.models import Appointment, RepairOrder
from vehicles.models import Vehicle

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
    kind = models.CharField(_("kind"), max_length=24, choices=kind_choices)
    # Not "name": in Chinese that reads as a person's name (姓名); a rule's is 名称.
    name = models.CharField(_("rule name"), max_length=80)
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
        spec = spec_for(self.kind)
        if spec is None:
            errors["kind"] = [_("This kind of care is not installed.")]
        elif spec.clean_params:
            try:
                spec.clean_params(self.params or {})
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
        OPEN = "open", pgettext_lazy("care touch status", "Open")
        DONE = "done", pgettext_lazy("care touch status", "Done")
        CANCELLED = "cancelled", pgettext_lazy("care touch status", "Cancelled")

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
        INSURED_HERE = "insured_here", _("Insured with us")
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
    kind = models.CharField(_("kind"), max_length=24, choices=kind_choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    occasion = models.CharField(_("occasion"), max_length=80)
    step = models.PositiveSmallIntegerField(_("contact number"), default=1)
    event_date = models.DateField(
        _("event date"), help_text=_("The date the touch is about: expiry, due date, birthday.")
    )
    due_date = models.DateField(_("contact on"))
    planned_for = models.DateField(
        _("planned for"),
        null=True,
        blank=True,
        help_text=_("The day the morning plan put the call in its advisor's queue (calls only)."),
    )
    overflow = models.BooleanField(
        _("no room before expiry"),
        default=False,
        help_text=_("The advisor's plan has no free call before the touch expires: the manager decides."),
    )
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
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="care_tasks",
        help_text=_("The case a verification call is about."),
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
            # The rollups' care funnel and its drill-down: a store's touches of a morning.
            models.Index(fields=["dealership", "created_on"], name="caretask_store_created"),
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


class CareTaskEvent(models.Model):
    """One change of a touch's status: from, to, the outcome, and who made it
    (an advisor, or a job of the engine). Written only by
    ``care.touches.services.care_tasks_transition``, in the same transaction
    as the change."""

    class Job(models.TextChoices):
        """Which step of the engine changed a touch when no person did."""

        EXPIRE = "expire", _("morning run")
        FULFILLED = "fulfilled", _("morning run")
        SUPERSEDE = "supersede", _("morning run")
        OUTBOX = "outbox", _("outbox")
        WEATHER_CANCELLED = "weather_cancelled", _("weather warning")
        ARRIVED = "arrived", _("arrival")

    task = models.ForeignKey(CareTask, verbose_name=_("care task"), on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from"), max_length=10, choices=CareTask.Status.choices)
    to_status = models.CharField(_("to"), max_length=10, choices=CareTask.Status.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CareTask.Outcome.choices, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    job = models.CharField(
        _("job"),
        max_length=30,
        choices=Job.choices,
        blank=True,
        help_text=_("The engine's step, when no person did it."),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("touch status change")
        verbose_name_plural = _("touch status changes")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["task", "at"], name="caretaskevent_task_time"),
            # The nightly rollups read the events since their last run.
            models.Index(fields=["at"], name="caretaskevent_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(from_status=F("to_status")), name="caretaskevent_is_a_change"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.from_status} → {self.to_status}"


class CareOptOut(models.Model):
    """A customer turned off one kind of care (or one channel of it), with the reason."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="care_opt_outs"
    )
    kind = models.CharField(
        _("kind"), max_length=24, choices=kind_choices, blank=True, help_text=_("Empty: all kinds.")
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
