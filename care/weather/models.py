"""Weather: the places we poll and the alerts received."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
