# One image for web, worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=crm.settings.production
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .
COPY . .
# collectstatic needs settings to import; real secrets come at run time.
RUN DJANGO_SECRET_KEY=build DJANGO_ALLOWED_HOSTS=build CRM_FIELD_ENCRYPTION_KEY=build CRM_ID_HASH_KEY=build \
    python manage.py collectstatic --no-input -v 0
RUN useradd --create-home crm && mkdir -p /app/var && chown -R crm /app/var
USER crm
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
