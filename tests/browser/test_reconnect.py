import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import ChatPage, live_app_with, open_chat
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


def test_signed_out_in_another_tab_the_page_says_so_and_stops_reconnecting(page: Page, live_app):
    chat = open_chat(page, live_app)
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket))
    answer = chat.send("Hello")
    chat.wait_for_status(answer, "complete")

    # The same browser signs out in another tab: this tab's socket is closed as signed out.
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("button", name="Sign out").click()
    expect(other).to_have_url(re.compile(r"/login/"))

    notice = page.locator("#notice")
    expect(notice).to_have_text("You were signed out. Sign in again")
    expect(page.locator("#connection")).to_be_hidden()
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    # A dropped socket is reopened within a quarter of a second; this one stays closed.
    opened = len(sockets)
    page.wait_for_timeout(1_500)
    assert len(sockets) == opened
    notice.get_by_role("link", name="Sign in again").click()
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    chat.assert_clean()


def test_one_tab_too_many_waits_its_turn_and_then_works(page: Page, tmp_path):
    with live_app_with(tmp_path, MAX_SOCKETS_PER_USER="1") as app:
        first = open_chat(page, app)
        app.upstream.enqueue(Script(text="Here at last."))
        second = ChatPage(page.context.new_page(), app.url)
        sockets = []
        second.page.on("websocket", lambda socket: sockets.append(socket))
        second.goto("/")
        note = second.page.locator("#connection")
        expect(note).to_have_text("Too many open tabs: close one, and this one reconnects.")
        expect(second.page.locator("#notice")).to_be_hidden()

        first.page.close()
        # It tries again by itself, waiting longer each time, and gets in once there is room.
        expect(note).to_be_hidden(timeout=20_000)
        assert len(sockets) >= 2
        answer = second.send("Is there room now?")
        second.wait_for_status(answer, "complete")
        expect(answer.locator(".body")).to_have_text("Here at last.")
        second.assert_clean()
