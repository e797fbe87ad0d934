"""Django's entry point for care's models. Each room of care keeps its own
models module (see README, "The care app"); they are collected here so the
app label stays ``care`` (``care.CareTask``, ``care.Outbox`` are names other
code and data rely on). Code inside care imports the room's module, not this one."""

from care.messaging.models import MessagingProfile, Outbox
from care.touches.models import CareOptOut, CareRule, CareTask, CareTaskEvent, Channel, RecallCampaign, RecallVehicle
from care.weather.models import WeatherAlert, WeatherLocation
from care.winback.models import WinbackCampaign, WinbackReason
from care.workspace.models import (
    AdvisorAbsence,
    AdvisorCapacity,
    Contact,
    OutcomeCode,
    TaskReassignment,
    WinbackSurvey,
)

__all__ = [
    "AdvisorAbsence",
    "AdvisorCapacity",
    "CareOptOut",
    "CareRule",
    "CareTask",
    "CareTaskEvent",
    "Channel",
    "Contact",
    "MessagingProfile",
    "Outbox",
    "OutcomeCode",
    "RecallCampaign",
    "RecallVehicle",
    "TaskReassignment",
    "WeatherAlert",
    "WeatherLocation",
    "WinbackCampaign",
    "WinbackReason",
    "WinbackSurvey",
]
