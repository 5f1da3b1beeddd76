"""Headless Chromium for the page tests: Debian's `chromium` driven by Playwright
(its Python package only: no browser download), with every request recorded.

A test opens pages with `browser()`; the `requests` list it yields holds every URL the
pages asked for, and any request that is not a file of the page is refused (aborted)
before it leaves. Without Chromium the tests skip, or fail where
JUSTEVAL_REQUIRE_BROWSER=1 (as in CI).
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

# the flags Chromium needs on a closed network, as root, without a display
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
]  # fmt: skip


def chromium() -> str:
    path = os.environ.get("JUSTEVAL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("JUSTEVAL_REQUIRE_BROWSER") == "1":
            pytest.fail("JUSTEVAL_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    return path


@contextlib.contextmanager
def browser():
    """(page, requests): a fresh page; every URL any page asked for lands in requests."""
    playwright = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    requests: list[str] = []
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        try:
            context = chrome.new_context(viewport={"width": 1280, "height": 900})
            context.on("request", lambda r: requests.append(r.url))

            def refuse(route):
                route.abort()

            context.route(lambda url: not url.startswith("file://"), refuse)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
            page.errors = errors
            yield page, requests
        finally:
            chrome.close()
