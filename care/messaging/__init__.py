"""Sending care messages: backends chosen per channel by setting, like
Django's ``EMAIL_BACKEND`` (see ``care.messaging.base.get_backend``)."""
