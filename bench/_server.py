"""A real server for the load benchmarks: gunicorn with the production
settings (3 workers) on a bench database, plus one reference view — a bare
Django view doing one indexed query — so every page's figure can be read as a
ratio against it measured in the same run (this machine drifts up to 1.6×).

The reference view and the URLs live here (``bench._urls``, settings
``bench._settings``), not in the app."""

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_PATH = "/bench/reference/"


def server_env(database: str) -> dict[str, str]:
    """Production settings on ``database``, with throwaway secrets and plain HTTP."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench._settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # The keys the bench databases were filled with (crm.settings.local's defaults).
        CRM_FIELD_ENCRYPTION_KEY=os.environ.get("CRM_FIELD_ENCRYPTION_KEY", "local-only-field-key"),
        CRM_ID_HASH_KEY=os.environ.get("CRM_ID_HASH_KEY", "local-only-hash-key"),
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        CRM_LOG_LEVEL="WARNING",
    )
    # The production stack: the cache (sessions read it) in Redis.
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    return env


@contextlib.contextmanager
def gunicorn(database: str, *, workers: int = 3, port: int = 8765) -> Iterator[str]:
    """Start gunicorn, wait until it answers, yield its base URL, stop it."""
    env = server_env(database)
    static_root = Path(tempfile.mkdtemp(prefix="bench-static-"))
    env["CRM_STATIC_ROOT"] = str(static_root)
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "crm.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz/", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            raise RuntimeError("gunicorn did not come up")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(static_root, ignore_errors=True)


def login(base: str, username: str, password: str) -> dict[str, str]:
    """Log in through the login page; the headers (cookie, forwarded proto) that
    later requests send. The production cookies are Secure: over the bench's
    plain HTTP they are sent by hand, with the proxy header saying HTTPS."""
    headers = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=base, headers=headers, follow_redirects=False) as client:
        page = client.get("/accounts/login/")
        token = page.cookies.get("csrftoken")
        response = client.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={
                "Referer": base.replace("http://", "https://") + "/accounts/login/",
                "Cookie": f"csrftoken={token}",
            },
        )
        session = response.cookies.get("sessionid")
        if response.status_code != 302 or not session:
            sys.exit(f"login as {username} failed: {response.status_code}")
    return {**headers, "Cookie": f"sessionid={session}; csrftoken={token}"}
