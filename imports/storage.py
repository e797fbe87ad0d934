"""Where uploaded import files are kept: under ``MEDIA_ROOT`` (``var/media``
unless ``CRM_MEDIA_ROOT`` says otherwise; git-ignored). Read when used, not when
the model is loaded, so that tests can point ``MEDIA_ROOT`` at a temporary
folder with the ``settings`` fixture."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class ImportFileStorage(FileSystemStorage):
    @property
    def base_location(self) -> str:
        return str(settings.MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def import_storage() -> ImportFileStorage:
    return ImportFileStorage()
