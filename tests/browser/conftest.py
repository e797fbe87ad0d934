"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server.

Own fixtures, not pytest-playwright's: one headless chromium for the session
(``/usr/bin/chromium``, never ``playwright install``), a fresh context per test
(``page``), and ``login`` through the real form. On a machine without Debian's
chromium every test in this folder is skipped; ``.ci/run`` installs it.

A test here needs ``@pytest.mark.django_db(transaction=True, serialized_rollback=True)``
(the live server reads what the test writes, and the rows the migrations made
must come back for the tests that follow) and the ``browser`` mark.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse

CHROMIUM = "/usr/bin/chromium"
SKIP_REASON = "Debian's chromium is not installed (apt-get install chromium fonts-wqy-microhei); .ci/run installs it"
# RECIPES.md, "Browser tests".
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
DEFAULT_TIMEOUT_MS = 10_000
HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parent.parent / "var" / "screenshots"


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Skipped at collection, so a bare machine does not even build the test database for them.
    # The hook sees the whole session's items: only this folder's are touched.
    if chromium_available():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser(django_db_setup) -> Iterator:
    """One headless chromium for the session.

    Depends on ``django_db_setup`` so that it closes before the test database
    is destroyed: while Playwright's sync API runs, the main thread has an
    event loop and Django refuses database calls unless
    ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set.
    """
    if not chromium_available():
        pytest.skip(SKIP_REASON)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # The migrations' rows that serialized rollback puts back after each test.
    serialized = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            # From here on the main thread has a running event loop, so Django's
            # connection handler (an asgiref Local) hands out new connection
            # objects, kept in a context variable rather than the thread. They
            # lack what ``setup_databases`` left on the first ones, and without
            # it serialized rollback silently stops restoring the migrations'
            # rows (outcome codes, default care rules) for the tests that follow.
            for alias, contents in serialized.items():
                connections[alias]._test_serialized_contents = contents
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    """Plain ``StaticFilesStorage``: a manifest storage (whitenoise's) would need collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # Kept on the test so that ``page`` can tell at teardown whether the test failed.
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(request, browser, live_server) -> Iterator:
    """A page in a fresh context (no cookies from another test): Chinese locale, 1280×900, 10 s timeouts.

    When the test fails, the page is kept as ``var/screenshots/failed-<test>.png`` and ``.html``.
    """
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
        stem = SCREENSHOTS / f"failed-{re.sub(r'[^A-Za-z0-9_.-]+', '-', request.node.name)}"
        if request.node.stash.get(_CALL_FAILED, False):
            _keep_failed_page(page, stem)
        else:  # an earlier failure's page would mislead
            for suffix in (".png", ".html"):
                stem.with_suffix(suffix).unlink(missing_ok=True)
    finally:
        context.close()


def _keep_failed_page(page, stem: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=stem.with_suffix(".png"), full_page=True)
        stem.with_suffix(".html").write_text(page.content(), encoding="utf-8")
    except Exception as error:  # a crashed page must not hide the test's own failure
        print(f"could not keep the failed page: {error}")


@pytest.fixture
def screenshots() -> Path:
    """``var/screenshots`` (git-ignored), created when missing."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def login(page, live_server, username: str, password: str) -> None:
    """Log in through the real login form and wait for the page it leads to.

    Fails with the form's error when the login is refused.
    """
    login_path = reverse("login")
    page.goto(f"{live_server.url}{login_path}")
    form = page.locator(f"form[action='{login_path}']")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    if page.url.split("?")[0].endswith(login_path):
        errors = page.locator(".errors")
        reason = errors.inner_text() if errors.count() else "no error shown"
        raise AssertionError(f"login as {username!r} was refused: {reason}")
