"""Encrypted national ID numbers with a keyed hash for exact lookups.

The ciphertext (Fernet: AES-CBC + HMAC, random IV) is never comparable, so
finding a customer by ID number goes through ``id_number_digest`` and the
``KeyedHashField`` beside the encrypted column.
"""

import base64
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@functools.cache
def _fernet(key: str) -> Fernet:
    if not key:
        raise ImproperlyConfigured("CRM_FIELD_ENCRYPTION_KEY is not set.")
    try:
        return Fernet(key.encode())
    except ValueError:
        # A passphrase rather than a Fernet key: stretch it into one.
        derived = hashlib.pbkdf2_hmac("sha256", key.encode(), b"dealer-crm-field-key", 100_000)
        return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_text(value: str) -> str:
    return _fernet(settings.CRM_FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _fernet(settings.CRM_FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("Cannot decrypt a stored value: wrong CRM_FIELD_ENCRYPTION_KEY?") from exc


def id_number_digest(value: str) -> str:
    if not settings.CRM_ID_HASH_KEY:
        raise ImproperlyConfigured("CRM_ID_HASH_KEY is not set.")
    return hmac.new(settings.CRM_ID_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Plain text in Python, Fernet ciphertext in the database. Empty stays empty."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value or ""
        return decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return ""
        return encrypt_text(value)

    def get_lookup(self, lookup_name):
        # Ciphertext cannot be compared; exact only answers "is it empty?".
        # Look a value up through its KeyedHashField instead.
        if lookup_name not in ("exact", "isnull"):
            return None
        return super().get_lookup(lookup_name)


class KeyedHashField(models.CharField):
    """HMAC-SHA256 of another field, kept in step on every save and bulk insert."""

    def __init__(self, *args, source: str = "", **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("max_length", 64), ("editable", False), ("blank", True), ("db_index", True)):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        source_value = getattr(model_instance, self.source)
        digest = id_number_digest(source_value) if source_value else ""
        setattr(model_instance, self.attname, digest)
        return digest
