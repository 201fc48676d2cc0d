"""What the browser tests share: Debian's Chromium driven by Playwright, their marks, and
signing in through the real login page.

A test module takes ``pytestmark = MARKS`` and imports the ``browser`` fixture. On a
developer's machine without Chromium the tests are skipped; in CI (``CI=true``), which
installs it, they run, and a missing Chromium fails them.
"""

from __future__ import annotations

import os

import pytest

from tests.factories import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
        reason="needs Debian's chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def browser():
    """A headless Chromium (closed after the test)."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


def log_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login page at ``base`` and wait for the page it leads to."""
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    submit(page, page.locator("form button[type=submit]").last)


def fill_address(page) -> None:
    """Fill the checkout's shipping address with the factories' US address
    (``tests.factories.ADDRESS``)."""
    page.fill("input[name=name]", "Grace Hopper")
    page.fill("input[name=line1]", "1 Navy Way")
    page.fill("input[name=city]", "Arlington")
    page.fill("input[name=region]", "VA")
    page.fill("input[name=postal_code]", "22202")
    page.select_option("select[name=country]", "US")


def submit(page, locator) -> None:
    """Click ``locator`` (a submit button) and wait until the page it leads to has loaded.

    Playwright's ``click`` does not wait for the navigation a form post starts, so reading
    the page right after it may read the old page, or none while the new one commits.
    """
    with page.expect_navigation():
        locator.click()
    page.wait_for_load_state()
