"""The advisor's workspace: call outcomes, contacts and reassignments."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from care.touches.models import CareTask
from crm.models import Dealership
from customers.models import Customer
from service.models import Appointment
from vehicles.models import Vehicle


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
        help_text=_(
            'Extra fields the advisor fills in, e.g. ["where", "why"]. Known: reason, where, why, insurer, '
            "satisfaction (the customer's score, 1–5), nps (how likely to recommend us, 0–10) and comment "
            "(the customer's words, both asked by the survey of a post-repair or win-back call), and for a "
            "policy placed here policy_kind, premium, starts_on, ends_on."
        ),
    )
    flags_phone = models.BooleanField(_("marks the number as wrong"), default=False)
    places_insurance = models.BooleanField(
        _("records a policy placed here"),
        default=False,
        help_text=_(
            "On an insurance renewal call this outcome records the policy the store sold (it asks insurer, "
            "policy_kind, premium, starts_on and ends_on) and moves the car's insurance expiry on."
        ),
    )
    dissatisfied = models.BooleanField(
        _("customer dissatisfied"),
        default=False,
        help_text=_("On a post-repair call this outcome opens a complaint case by itself."),
    )
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
            models.Index(fields=["dealership", "created_at"], name="contact_store_time"),
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


class AdvisorCapacity(models.Model):
    """How many calls an advisor makes in a day: the morning plan fills each
    working day up to this (``CRM_CARE_DAILY_CALLS`` for an advisor without a row)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE, related_name="call_capacity"
    )
    daily_calls = models.PositiveSmallIntegerField(_("calls a day"), default=40)

    dealership_path = "user__dealership"

    class Meta:
        verbose_name = _("advisor's call capacity")
        verbose_name_plural = _("advisors' call capacity")
        constraints = [models.CheckConstraint(condition=Q(daily_calls__gt=0), name="advisor_capacity_positive")]

    def __str__(self) -> str:
        return f"{self.user} · {self.daily_calls}"


class AdvisorAbsence(models.Model):
    """A day an advisor is off: no plan for them; their due calls go to the
    store's least-loaded advisor that morning."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE, related_name="absences"
    )
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    dealership_path = "user__dealership"

    class Meta:
        verbose_name = _("advisor's day off")
        verbose_name_plural = _("advisors' days off")
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["user", "date"], name="advisor_absence_once_a_day")]

    def __str__(self) -> str:
        return f"{self.user} · {self.date}"
