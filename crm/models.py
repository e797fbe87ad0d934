from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.validators import validate_mobile


class Dealership(models.Model):
    """One store (4S店) of the dealer group; every business row belongs to one."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    city = models.CharField(_("city"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    booking_phone = models.CharField(_("booking phone"), max_length=20, blank=True)
    rescue_phone = models.CharField(_("24-hour rescue phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    # Tenancy path used by crm.tenancy.scope_for_user.
    dealership_path = "pk"

    class Meta:
        verbose_name = _("dealership")
        verbose_name_plural = _("dealerships")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    class Role(models.TextChoices):
        ADVISOR = "advisor", _("Service advisor")
        MANAGER = "manager", _("Manager")
        ADMIN = "admin", _("Administrator")

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
