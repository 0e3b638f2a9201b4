import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_first_chat import sign_up
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


def words(text: str) -> str:
    return " ".join(text.split())


def test_a_dropped_connection_reconnects_and_resumes_with_nothing_lost_or_repeated(
    page: Page, live_app
):
    script = Script(word_count=240, tokens_per_second=80)
    live_app.upstream.enqueue(script)
    sockets = []

    def through(route):
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket(re.compile(r"/ws/chat/$"), through)
    sign_up(page, live_app.url)
    page.fill("textarea[name=content]", "Tell me a long story")
    page.keyboard.press("Enter")
    answer = page.locator("[data-role=assistant]").last
    expect(answer).to_contain_text("lorem ipsum dolor")

    for _ in range(2):  # the network drops twice while the answer streams
        with page.expect_websocket(timeout=15000):  # the page opens a new socket by itself
            sockets[-1].close(code=4000, reason="network dropped")
        expect(answer).to_have_attribute("data-status", "streaming")
        expect(answer).not_to_have_text(answer.inner_text(), timeout=10000)  # text flows again

    expect(answer).to_have_attribute("data-status", "complete", timeout=20000)
    expect(page.locator("#connection")).to_be_hidden()
    assert words(answer.locator(".body").inner_text()) == words(script.answer_text())
