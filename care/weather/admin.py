from django.contrib import admin

from care.weather.models import WeatherAlert, WeatherLocation
from crm.admin import GroupWideAdmin


@admin.register(WeatherLocation)
class WeatherLocationAdmin(GroupWideAdmin):
    list_display = ["city", "district", "latitude", "longitude", "provider_id", "enabled"]
    list_filter = ["enabled", "city"]
    list_editable = ["enabled"]
    search_fields = ["city", "district"]


@admin.register(WeatherAlert)
class WeatherAlertAdmin(GroupWideAdmin):
    list_display = ["headline", "location", "event", "colour", "message_type", "status", "effective_at", "expires_at"]
    list_filter = ["status", "event", "colour", "provider", "location__city"]
    search_fields = ["headline", "alert_id", "location__city"]
    date_hierarchy = "effective_at"
    list_select_related = ["location"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in WeatherAlert._meta.fields]  # as the provider sent it

    def has_add_permission(self, request):
        return False
