"""How the page tells an answer's ending: cut off at the length limit (with Continue, which
appends), stopped by a content filter, empty, failed naming the provider; and a model that has
gone quiet ("Still waiting for the model… 6 s"), before its text and mid-answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import live_app_with, open_chat
from tests.browser.live import LiveApp
from tests.fakes.script import Fault, Script

pytestmark = pytest.mark.browser

LENGTH_NOTE = "Stopped at the length limit."
FILTER_NOTE = "Stopped by the provider's content filter."
EMPTY = "The model returned an empty answer."


@pytest.fixture
def named_server(tmp_path: Path) -> Iterator[LiveApp]:
    """The live app, its OpenAI-compatible server called by the name an operator gave it."""
    with live_app_with(tmp_path, OPENAI_SERVER_NAME="Ollama") as app:
        yield app


def test_an_answer_cut_off_at_the_length_limit_says_so_and_continue_appends(page: Page, live_app):
    start = "It was the best of times, it was"
    live_app.upstream.enqueue(Script(text=start, finish="length", tokens_per_second=200))
    chat = open_chat(page, live_app)
    answer = chat.send("Tell me a long story")
    chat.wait_for_html(answer, chat.one_shot_html(start))
    expect(answer.locator(".note")).to_have_text(LENGTH_NOTE)
    expect(answer).to_have_attribute("data-status", "complete")
    resume = answer.get_by_role("button", name="Continue answer")
    expect(resume).to_be_visible()
    expect(answer.get_by_role("button", name="Regenerate answer")).to_be_visible()

    page.reload()  # told again from the page data
    answer = chat.answer()
    expect(answer.locator(".note")).to_have_text(LENGTH_NOTE)
    expect(answer.get_by_role("button", name="Continue answer")).to_be_visible()

    ending = " the worst of times."
    live_app.upstream.enqueue(Script(text=ending, tokens_per_second=200))
    answer.get_by_role("button", name="Continue answer").click()
    chat.wait_for_html(answer, chat.one_shot_html(start + ending))
    chat.wait_for_status(answer, "complete")
    expect(answer.locator(".note")).to_be_hidden()
    expect(answer.get_by_role("button", name="Continue answer")).to_be_hidden()
    # The model was sent its own words to go on from.
    assert live_app.upstream.requests[-1].body["messages"][-1] == {
        "role": "assistant",
        "content": start,
    }
    page.reload()
    assert chat.stored_messages()[-1]["text"] == start + ending
    expect(chat.answer().locator(".note")).to_be_hidden()
    chat.assert_clean()


def test_a_content_filter_ending_says_so_and_offers_regenerate_only(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(text="Here is how", finish="content_filter", tokens_per_second=200)
    )
    chat = open_chat(page, live_app)
    answer = chat.send("Something the filter dislikes")
    expect(answer.locator(".note")).to_have_text(FILTER_NOTE)
    expect(answer.get_by_role("button", name="Regenerate answer")).to_be_visible()
    expect(answer.get_by_role("button", name="Continue answer")).to_be_hidden()
    page.reload()
    expect(chat.answer().locator(".note")).to_have_text(FILTER_NOTE)
    expect(chat.answer().get_by_role("button", name="Continue answer")).to_be_hidden()
    chat.assert_clean()


def test_an_empty_answer_says_so_instead_of_showing_nothing(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(text=""), Script(text="Now with words.", tokens_per_second=200)
    )
    chat = open_chat(page, live_app)
    answer = chat.send("Say something")
    chat.wait_for_status(answer, "failed")
    expect(answer.locator(".note")).to_have_text(EMPTY)
    page.reload()
    answer = chat.answer()
    expect(answer).to_have_attribute("data-status", "failed")
    expect(answer.locator(".note")).to_have_text(EMPTY)

    answer.get_by_role("button", name="Regenerate answer").click()
    chat.wait_for_html(chat.answer(), chat.one_shot_html("Now with words."))
    expect(chat.answer().locator(".note")).to_be_hidden()
    chat.assert_clean()


def test_a_quiet_model_is_said_to_be_still_awaited_until_its_text_comes(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(
            tokens=["Slow ", "to ", "start, ", "then ", "slow ", "again."],
            first_token_delay=7,
            fault=Fault.stall(after=3, seconds=7.5),
            tokens_per_second=50,
        )
    )
    chat = open_chat(page, live_app)
    answer = chat.send("Take your time")
    phase = answer.locator(".phase")
    expect(phase.locator(".phase-label")).to_have_text("Waiting for the model…")
    # Before the first token: the phase line says it still waits, counting the seconds.
    expect(phase.locator(".phase-label")).to_have_text("Still waiting for the model…", timeout=7000)
    expect(phase.locator(".phase-time")).to_have_text(re.compile(r"^[56] s$"))
    expect(phase).to_be_hidden(timeout=8000)  # the text came
    chat.wait_for_html(answer, chat.one_shot_html("Slow to start, "))

    # Mid-answer: the notice under the text counts from the last words.
    silence = answer.locator(".silence")
    expect(silence).to_be_hidden()
    expect(silence).to_be_visible(timeout=7000)
    expect(silence.locator(".phase-label")).to_have_text("Still waiting for the model…")
    expect(silence.locator(".phase-time")).to_have_text(re.compile(r"^[5-7] s$"))
    chat.wait_for_html(answer, chat.one_shot_html("Slow to start, then slow again."), 10_000)
    expect(silence).to_be_hidden()
    chat.wait_for_status(answer, "complete")
    chat.assert_clean()


def test_a_drop_mid_answer_names_the_provider(page: Page, named_server: LiveApp):
    named_server.upstream.enqueue(
        Script(tokens=["Half ", "an ", "answer ", "and"], fault=Fault.drop(after=3))
    )
    chat = open_chat(page, named_server)
    answer = chat.send("Tell me")
    chat.wait_for_status(answer, "failed")
    dropped = "The connection to Ollama dropped mid-answer."
    expect(answer.locator(".note")).to_have_text(dropped)
    expect(answer.get_by_role("button", name="Continue answer")).to_be_visible()
    page.reload()
    expect(chat.answer().locator(".note")).to_have_text(dropped)
    chat.assert_clean()
