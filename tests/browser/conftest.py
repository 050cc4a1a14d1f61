"""Headless Chromium (Debian's package) driven by Playwright against the live test server."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import sync_playwright

from contacts.tests.factories import UserFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Every page reports what its Content-Security-Policy blocked; any browser test fails on it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + event.blockedURI);
});
"""


def is_csp_violation(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("CSP violation:")


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if is_csp_violation(message.text) else None)
    yield page
    context.close()
    assert not errors, f"JavaScript errors or Content-Security-Policy violations: {errors}"


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def editor(transactional_db):
    user = UserFactory(username="edith")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def logged_in(page, live_server, editor):
    """A page logged in as an editor, on the contacts list."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("edith")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page
