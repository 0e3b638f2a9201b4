"""A conversation has its own URL: reloading it, or opening it in another tab, joins an answer
that is still being written where the page's copy ends, with nothing lost or repeated."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import ChatPage, open_chat
from tests.browser.corpus import long_answer
from tests.browser.test_chat_streaming import chunks
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


def test_reloading_mid_stream_continues_the_answer_where_it_was(page: Page, live_app):
    text = long_answer(seed=21, min_chars=6_000)
    live_app.upstream.enqueue(
        Script(tokens=chunks(text, seed=21, largest=24), tokens_per_second=150)
    )
    chat = open_chat(page, live_app)
    answer = chat.send("Write at length")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    chat.wait_for_text(answer, 800)
    message_id = answer.get_attribute("data-message-id")

    page.reload()
    answer = chat.answer()
    expect(answer).to_have_attribute("data-message-id", message_id)
    # It is still being written, and the page follows it.
    assert answer.get_attribute("data-status") == "streaming"
    assert len(chat.stored_messages()[-1]["text"]) < len(text)
    chat.wait_for_status(answer, "complete")
    chat.wait_for_html(answer, chat.one_shot_html(text))
    assert chat.answers.count() == 1
    page.reload()
    assert chat.stored_messages()[-1]["text"] == text
    chat.assert_clean()


def test_a_second_tab_joins_the_answer_being_written(page: Page, live_app):
    text = long_answer(seed=22, min_chars=4_000)
    live_app.upstream.enqueue(
        Script(tokens=chunks(text, seed=22, largest=16), tokens_per_second=150)
    )
    chat = open_chat(page, live_app)
    chat.send("Write at length")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    chat.wait_for_text(chat.answer(), 300)

    other = ChatPage(page.context.new_page(), live_app.url)
    other.page.goto(page.url)
    joined = other.answer()
    expect(joined).to_have_attribute("data-status", "streaming")
    expect(other.page.get_by_role("button", name="Stop")).to_be_visible()
    other.wait_for_status(joined, "complete")
    other.wait_for_html(joined, other.one_shot_html(text))
    chat.wait_for_html(chat.answer(), chat.one_shot_html(text))
    other.assert_clean()
    chat.assert_clean()
