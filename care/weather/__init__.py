"""Weather for care: a provider chosen by setting (``CRM_WEATHER_PROVIDER``)."""
