"""File imports from a dealer management system (DMS): the job, its status
history, the rows worth showing, and the column mapping each store keeps."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Dealership
from imports.storage import import_storage


class ImportKind(models.TextChoices):
    """What one row of the file stands for. A vehicle row carries its owner, a
    repair-order row its car and owner: those are created or matched too."""

    CUSTOMERS = "customers", _("Customers")
    VEHICLES = "vehicles", _("Vehicles (with their owners)")
    REPAIR_ORDERS = "repair_orders", _("Repair orders (with their cars and owners)")


class ImportProfile(models.Model):
    """A store's column mapping for one kind of file, guessed from the header
    the first time and saved when a manager confirms it, so that next month's
    export of the same DMS maps itself."""

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.CASCADE, related_name="import_profiles"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    # {field key: header text}, e.g. {"phone": "手机号码", "vin": "车架号"}.
    mapping = models.JSONField(_("column mapping"), default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), on_delete=models.SET_NULL, null=True, blank=True
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("import profile")
        verbose_name_plural = _("import profiles")
        constraints = [models.UniqueConstraint(fields=["dealership", "kind"], name="import_profile_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.dealership_id}: {self.get_kind_display()}"


class ImportJob(models.Model):
    """One uploaded file and what became of it. The status changes only through
    ``imports.services.import_job_transition``, which writes an event row."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded: check the columns")
        MAPPED = "mapped", _("Columns confirmed")
        CHECKING = "checking", _("Dry run in progress")
        CHECKED = "checked", _("Dry run done")
        IMPORTING = "importing", _("Import in progress")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    dealership = models.ForeignKey(
        Dealership, verbose_name=_("dealership"), on_delete=models.PROTECT, related_name="import_jobs"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", storage=import_storage)
    original_name = models.CharField(_("file name"), max_length=200)
    file_format = models.CharField(_("format"), max_length=10)  # "csv" or "xlsx"
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    header = models.JSONField(_("header"), default=list)
    mapping = models.JSONField(_("column mapping"), default=dict)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.UPLOADED)
    dry_run = models.BooleanField(
        _("dry run"), default=True, help_text=_("The counts are those of a dry run: nothing was written.")
    )
    rows_total = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows read"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    refused_count = models.PositiveIntegerField(_("refused"), default=0)
    error = models.TextField(_("error"), blank=True)
    # The uploader's interface language: the run words its reasons in it.
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    dealership_path = "dealership"

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["dealership", "created_at"], name="importjob_store_created")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def progress(self) -> int:
        """Percent of the file's rows read by the run in progress (100 when done)."""
        if self.status in (self.Status.CHECKED, self.Status.DONE):
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def running(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING)


class ImportJobEvent(models.Model):
    """A status change of an import job: the job's history."""

    job = models.ForeignKey(ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from"), max_length=12, choices=ImportJob.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=ImportJob.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    dealership_path = "job__dealership"

    class Meta:
        verbose_name = _("import event")
        verbose_name_plural = _("import events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.from_status}→{self.to_status}"


class ImportRow(models.Model):
    """One row of the last run's report: every refused row (with its values, for
    the file of refused rows) and the first rows of each other outcome."""

    class Outcome(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        UNCHANGED = "unchanged", _("Unchanged")
        REFUSED = "refused", _("Refused")

    job = models.ForeignKey(ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField(_("line"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    # Worded in the job's language when the run wrote it, so that the report
    # and the file of refused rows read the same.
    reason = models.TextField(_("reason"), blank=True)
    detail = models.CharField(_("what happens"), max_length=300, blank=True)
    values = models.JSONField(_("values"), default=list)

    dealership_path = "job__dealership"

    class Meta:
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        ordering = ["job", "line"]
        indexes = [models.Index(fields=["job", "outcome", "line"], name="importrow_job_outcome")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.line} {self.outcome}"
