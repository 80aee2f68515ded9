"""Headless Chromium for the report tests: Debian's ``chromium`` driven by Playwright's Python package.

Playwright's own browser download cannot be reached everywhere, so the system browser is
used (``executable_path``).  ``tests/setup_browser.sh`` installs it on a root Debian
machine; elsewhere the browser tests skip with :data:`MISSING` as the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("NNBACKPROP_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    "the report's browser tests need Chromium at /usr/bin/chromium and Playwright for Python: "
    "apt-get install chromium (Debian) and pip install playwright"
)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return MISSING
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        return MISSING
    return None


class Page:
    """A report opened from disk, with every request, console error and page error recorded.

    Any request that is not for a ``file:`` or ``data:`` URL is refused and remembered in
    ``external``; ``errors`` holds console errors, uncaught exceptions and failed requests.
    """

    def __init__(self, browser, path: Path, width: int = 1280, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"))
        self.url = path.resolve().as_uri()

    def _route(self, route):
        scheme = urlparse(route.request.url).scheme
        if scheme in ("file", "data"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def open(self, fragment: str = ""):
        """Load the page (at ``#fragment``) and wait until its script has drawn everything."""
        self.page.goto(self.url + (f"#{fragment}" if fragment else ""))
        self.page.wait_for_selector("body[data-ready='1']")
        return self

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text().strip()

    def table(self, selector: str) -> dict[str, dict[str, str]]:
        """The parameter table: name -> {value, gradient, step, new}, as shown."""
        rows = self.page.eval_on_selector_all(
            f"{selector} tbody tr",
            """rows => rows.map(r => [r.dataset.param,
                Object.fromEntries([...r.querySelectorAll('td[class]')].map(td => [td.className, td.textContent]))])""",
        )
        return dict(rows)

    def close(self):
        self.context.close()


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session, or a skip saying what to install."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_report(browser):
    """``open_report(path, fragment="", width=1280)`` -> a :class:`Page`; checks on the way out
    that nothing went to the network and nothing failed."""
    pages = []

    def open_(path, fragment="", width=1280, height=900):
        page = Page(browser, Path(path), width, height).open(fragment)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        external, errors = page.external, page.errors
        page.close()
        assert external == [], f"the page asked the network for {external}"
        assert errors == [], f"the page reported errors: {errors}"


if __name__ == "__main__":  # tests/setup_browser.sh: one line saying what is missing, or nothing
    print(missing() or "", end="")
