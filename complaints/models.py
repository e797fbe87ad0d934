"""A complaint and its closed loop (DOMAIN.md "Complaints", seeds 000 and 002):
receive → record → investigate → analyse the cause → decide the remedy →
notify the customer → carry it out → follow up → close, with lessons learned
for the serious ones. Every change of a case's status is a ``ComplaintEvent``
written by ``complaints.services.complaint_transition``."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Dealership
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import Vehicle


class ComplaintCategory(models.Model):
    """What a complaint is about (admin-editable list; the defaults follow the carmakers' dealer rules)."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label = models.CharField(_("label"), max_length=60)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("complaint category")
        verbose_name_plural = _("complaint categories")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label


class Severity(models.TextChoices):
    NORMAL = "normal", _("Normal")
    ESCALATED = "escalated", _("Escalated")
    MAJOR = "major", _("Major")
    URGENT = "urgent", _("Major and urgent")


# Each level and the one above it: a breach escalates one level, a tier-A
# customer's case starts one level up.
SEVERITY_ORDER = [Severity.NORMAL, Severity.ESCALATED, Severity.MAJOR, Severity.URGENT]


def severity_above(severity: str) -> str:
    i = SEVERITY_ORDER.index(severity)
    return SEVERITY_ORDER[min(i + 1, len(SEVERITY_ORDER) - 1)]


# The carmakers' dealer rules: acknowledge within hours, first contact with the
# customer within working days, resolve within working days; all in business
# time (crm.business_time). The migration seeds ComplaintPolicy from this and
# complaints.services falls back on it for a severity whose row was deleted.
DEFAULT_POLICIES = {
    Severity.NORMAL: {"acknowledge_hours": 24, "first_contact_days": 1, "resolution_days": 5},
    Severity.ESCALATED: {"acknowledge_hours": 8, "first_contact_days": 1, "resolution_days": 3},
    Severity.MAJOR: {"acknowledge_hours": 4, "first_contact_days": 1, "resolution_days": 2},
    Severity.URGENT: {"acknowledge_hours": 4, "first_contact_days": 1, "resolution_days": 1},
}
DEFAULT_WARN_PERCENT = 25


class ComplaintPolicy(models.Model):
    """The SLA of one severity, in the store's business time (admin)."""

    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, unique=True)
    acknowledge_hours = models.PositiveSmallIntegerField(
        _("acknowledge within (business hours)"), validators=[MinValueValidator(1)]
    )
    first_contact_days = models.PositiveSmallIntegerField(
        _("first contact with the customer within (working days)"), validators=[MinValueValidator(1)]
    )
    resolution_days = models.PositiveSmallIntegerField(
        _("resolve within (working days)"), validators=[MinValueValidator(1)]
    )
    warn_percent = models.PositiveSmallIntegerField(
        _("due soon when this share of the time is left (%)"),
        default=DEFAULT_WARN_PERCENT,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )

    class Meta:
        verbose_name = _("complaint SLA")
        verbose_name_plural = _("complaint SLAs")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledge_hours__gt=0, first_contact_days__gt=0, resolution_days__gt=0),
                name="complaint_policy_clocks_positive",
            ),
            models.CheckConstraint(
                condition=Q(warn_percent__gt=0, warn_percent__lt=100), name="complaint_policy_warn_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return str(Severity(self.severity).label)


class Complaint(models.Model):
    """One complaint case, from first contact to verified fix."""

    class Channel(models.TextChoices):
        HOTLINE = "hotline", _("Hotline")
        IN_PERSON = "in_person", _("In person")
        ONLINE_FORM = "online_form", _("Online form")
        WECHAT = "wechat", _("WeChat")
        SUGGESTION_BOX = "suggestion_box", _("Suggestion box")
        FOLLOW_UP_CALL = "follow_up_call", _("Follow-up call")
        CARMAKER_HOTLINE = "carmaker_hotline", _("Carmaker hotline")

    Severity = Severity

    class SlaState(models.TextChoices):
        ON_TRACK = "on_track", _("On track")
        DUE_SOON = "due_soon", _("Due soon")
        BREACHED = "breached", _("Breached")

    class WaitingOn(models.TextChoices):
        CUSTOMER = "customer", _("The customer")
        PARTS = "parts", _("Parts")
        CARMAKER = "carmaker", _("The carmaker")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        RECORDED = "recorded", _("Recorded")
        INVESTIGATED = "investigated", _("Investigated and verified")
        CAUSE_FOUND = "cause_found", _("Cause analysed")
        REMEDY_DECIDED = "remedy_decided", _("Remedy decided")
        CUSTOMER_NOTIFIED = "customer_notified", _("Customer notified")
        CARRIED_OUT = "carried_out", _("Remedy carried out")
        FOLLOWED_UP = "followed_up", _("Followed up")
        CLOSED = "closed", pgettext_lazy("complaint case", "Closed")
        REOPENED = "reopened", _("Reopened")

    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    number = models.CharField(_("case number"), max_length=20)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="complaints"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    repair_order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("repair order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    carmaker_reference = models.CharField(
        _("carmaker's case reference"), max_length=60, blank=True, help_text=_("For cases from the carmaker hotline.")
    )
    category = models.ForeignKey(
        ComplaintCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="complaints"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED)
    description = models.TextField(_("what happened"))
    demand = models.TextField(_("what the customer wants"), blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for a case the customer filed on the public form."),
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handler"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints_handled",
    )
    staff_involved = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff involved"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints_about",
        help_text=_("The staff member the complaint is about; never its handler."),
    )
    # What each step found and decided (see complaints.services.STEP_DATA).
    findings = models.TextField(_("investigation findings"), blank=True)
    cause = models.TextField(_("cause"), blank=True)
    remedy = models.TextField(_("remedy"), blank=True)
    goodwill_cost = models.DecimalField(_("goodwill cost"), max_digits=10, decimal_places=2, null=True, blank=True)
    customer_agreed = models.BooleanField(_("customer agreed"), null=True, blank=True)
    customer_answer = models.TextField(_("customer's answer"), blank=True)
    action_taken = models.TextField(_("what was done"), blank=True)
    follow_up = models.TextField(_("follow-up"), blank=True)
    # The SLA clocks (complaints.services): each due time, its "due soon" point,
    # when it was met, and when its breach was escalated (once per clock).
    acknowledge_due = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    acknowledge_warn_at = models.DateTimeField(_("acknowledgement due soon from"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    first_contact_due = models.DateTimeField(_("contact the customer by"), null=True, blank=True)
    first_contact_warn_at = models.DateTimeField(_("first contact due soon from"), null=True, blank=True)
    first_contacted_at = models.DateTimeField(_("customer first contacted at"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolve by"), null=True, blank=True)
    resolution_warn_at = models.DateTimeField(_("resolution due soon from"), null=True, blank=True)
    response_breached_at = models.DateTimeField(_("response breached at"), null=True, blank=True)
    resolution_breached_at = models.DateTimeField(_("resolution breached at"), null=True, blank=True)
    sla_state = models.CharField(_("SLA"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TRACK)
    paused_at = models.DateTimeField(
        _("paused since"), null=True, blank=True, help_text=_("The resolution clock stops while the case waits.")
    )
    waiting_on = models.CharField(_("waiting on"), max_length=10, choices=WaitingOn.choices, blank=True)
    pause_reason = models.CharField(_("why it waits"), max_length=200, blank=True)
    paused_minutes = models.PositiveIntegerField(_("business minutes paused"), default=0)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("follows case"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        help_text=_("The earlier case this one reopens after its 30 days."),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["dealership", "status", "received_at"], name="complaint_store_status"),
            models.Index(fields=["customer", "status"], name="complaint_customer_status"),
            models.Index(fields=["sla_state", "status"], name="complaint_sla_sweep"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dealership", "number"], name="complaint_number_unique_per_store"),
            models.CheckConstraint(
                condition=Q(handler__isnull=True) | Q(staff_involved__isnull=True) | ~Q(handler=F("staff_involved")),
                name="complaint_handler_is_not_the_staff_involved",
            ),
            models.CheckConstraint(
                condition=Q(goodwill_cost__isnull=True) | Q(goodwill_cost__gte=0),
                name="complaint_goodwill_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | (~Q(cause="") & ~Q(remedy="")),
                name="complaint_closed_has_cause_and_remedy",
            ),
            models.CheckConstraint(
                condition=Q(paused_at__isnull=True) | ~Q(waiting_on=""), name="complaint_pause_says_what_it_waits_on"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class ComplaintEvent(models.Model):
    """One change of a case: who, from, to, the note and the step's data.

    A step moves the status; the other actions (assigned, customer contacted,
    paused, resumed, escalated) keep it and say what happened."""

    class Action(models.TextChoices):
        STEP = "step", _("Step")
        ASSIGNED = "assigned", _("Handler assigned")
        CONTACTED = "contacted", _("Customer contacted")
        PAUSED = "paused", _("Paused")
        RESUMED = "resumed", _("Resumed")
        ESCALATED = "escalated", _("Escalated (SLA breached)")

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="events"
    )
    from_status = models.CharField(_("from"), max_length=20, choices=Complaint.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Complaint.Status.choices)
    action = models.CharField(_("what"), max_length=10, choices=Action.choices, default=Action.STEP)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("step data"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    dealership_path = "complaint__dealership"

    class Meta:
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["complaint", "at"], name="complaintevent_case_time")]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.from_status} → {self.to_status}"


class ComplaintLesson(models.Model):
    """What changes in the process after a case (lessons learned): a library managers search."""

    complaint = models.OneToOneField(
        Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="lesson"
    )
    dealership = models.ForeignKey(Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="+")
    what_changes = models.TextField(_("what changes in the process"))
    prevention = models.TextField(_("how it is prevented"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("written by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("lesson learned")
        verbose_name_plural = _("lessons learned")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.what_changes[:60]


class ComplaintCounter(models.Model):
    """The last case number given out per store and year (locked while a number is taken)."""

    dealership = models.ForeignKey(Dealership, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dealership", "year"], name="complaint_counter_once")]

    def __str__(self) -> str:
        return f"{self.dealership_id}/{self.year}: {self.last}"
