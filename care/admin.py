"""Care's admin lives in its rooms; Django's autodiscovery imports this module."""

from care.messaging import admin as messaging_admin
from care.touches import admin as touches_admin
from care.weather import admin as weather_admin
from care.winback import admin as winback_admin
from care.workspace import admin as workspace_admin

__all__ = ["messaging_admin", "touches_admin", "weather_admin", "winback_admin", "workspace_admin"]
