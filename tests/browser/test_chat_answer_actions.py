"""What a reader can do with an answer: stop it, copy it, regenerate it and switch between its
versions, continue it after it stopped or failed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import open_chat
from tests.fakes.script import Fault, Script, split_tokens

pytestmark = pytest.mark.browser


def test_stop_ends_the_answer_and_continue_picks_it_up(page: Page, live_app):
    live_app.upstream.enqueue(Script(word_count=3000, tokens_per_second=120))
    chat = open_chat(page, live_app)
    answer = chat.send("Go on for a while")
    chat.wait_for_text(answer, 200)
    stop = page.locator("button[name=stop]")
    expect(stop).to_be_visible()
    expect(page.locator("button[name=send]")).to_be_hidden()

    stop.click()
    chat.wait_for_status(answer, "stopped")
    # The model's stream is closed, not only the display.
    assert live_app.upstream.wait_for(lambda: live_app.upstream.requests[0].outcome != "open")
    assert live_app.upstream.requests[0].outcome == "disconnected"
    expect(stop).to_be_hidden()
    expect(page.locator("button[name=send]")).to_be_visible()
    expect(answer.locator(".note")).to_have_text("Stopped.")
    shown = answer.locator(".body").inner_text()
    assert shown.startswith("lorem ipsum dolor")

    # What the reader saw is what was kept.
    page.reload()
    answer = chat.answer()
    kept = chat.stored_messages()[-1]["text"]
    expect(answer).to_have_attribute("data-status", "stopped")
    assert " ".join(answer.locator(".body").inner_text().split()) == " ".join(shown.split())

    ending = " And that is the end."
    live_app.upstream.enqueue(Script(text=ending, tokens_per_second=200))
    answer.get_by_role("button", name="Continue answer").click()
    chat.wait_for_status(answer, "complete")
    chat.wait_for_html(answer, chat.one_shot_html(kept + ending))
    expect(answer.get_by_role("button", name="Continue answer")).to_be_hidden()
    page.reload()
    assert chat.stored_messages()[-1]["text"] == kept + ending
    chat.assert_clean()


def test_copy_puts_the_answers_markdown_in_the_clipboard(page: Page, live_app):
    text = "# Title\n\nSome **bold** text.\n\n```python\nprint('hi')\n```\n"
    live_app.upstream.enqueue(Script(text=text, tokens_per_second=300))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    chat = open_chat(page, live_app)
    answer = chat.send("Some markdown please")
    chat.wait_for_status(answer, "complete")

    copy = answer.get_by_role("button", name="Copy answer")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == text

    answer.get_by_role("button", name="Copy code").click()
    expect(answer.get_by_role("button", name="Copy code")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "print('hi')\n"
    chat.assert_clean()


def test_regenerate_adds_a_version_and_the_reader_can_switch_between_them(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(text="The first answer.", tokens_per_second=200),
        Script(text="The second, better answer.", tokens_per_second=200),
    )
    chat = open_chat(page, live_app)
    answer = chat.send("Answer twice")
    chat.wait_for_status(answer, "complete")
    first_id = answer.get_attribute("data-message-id")
    expect(answer.locator(".versions")).to_be_hidden()

    answer.get_by_role("button", name="Regenerate answer").click()
    answer = chat.answer()
    expect(answer).not_to_have_attribute("data-message-id", first_id)
    chat.wait_for_status(answer, "complete")
    second_id = answer.get_attribute("data-message-id")
    expect(answer.locator(".body")).to_have_text("The second, better answer.")
    expect(answer.locator(".version-label")).to_have_text("2/2")
    assert chat.answers.count() == 1  # in place of the first, not under it

    answer.get_by_role("button", name="Previous version").click()
    answer = chat.answer()
    expect(answer).to_have_attribute("data-message-id", first_id)
    chat.wait_for_status(answer, "complete")
    expect(answer.locator(".body")).to_have_text("The first answer.")
    expect(answer.locator(".version-label")).to_have_text("1/2")
    expect(answer.get_by_role("button", name="Previous version")).to_be_disabled()

    # The choice is stored: it is what the page shows (and the model gets) from now on.
    page.reload()
    answer = chat.answer()
    expect(answer).to_have_attribute("data-message-id", first_id)
    expect(answer.locator(".body")).to_have_text("The first answer.")
    expect(answer.locator(".version-label")).to_have_text("1/2")

    answer.get_by_role("button", name="Next version").click()
    answer = chat.answer()
    expect(answer).to_have_attribute("data-message-id", second_id)
    expect(answer.locator(".body")).to_have_text("The second, better answer.")
    expect(answer).to_have_attribute("data-status", "complete")
    chat.assert_clean()


def test_continue_after_a_failure_completes_the_text(page: Page, live_app):
    text = (
        "A failed answer keeps what it had written so far. Continuing sends that part back to "
        "the model as the start of its reply, and the rest arrives after it."
    )
    tokens = split_tokens(text)
    live_app.upstream.enqueue(
        Script(tokens=tokens, fault=Fault.drop(after=8), tokens_per_second=200),
        Script(tokens=tokens[8:], tokens_per_second=200),
    )
    chat = open_chat(page, live_app)
    answer = chat.send("Fail half way")
    chat.wait_for_status(answer, "failed")
    expect(answer.locator(".note")).to_be_visible()
    expect(answer.locator(".body")).to_have_text("".join(tokens[:8]).strip())
    resume = answer.get_by_role("button", name="Continue answer")
    expect(resume).to_be_visible()

    resume.click()
    chat.wait_for_status(answer, "complete")
    expect(answer.locator(".note")).to_be_hidden()
    chat.wait_for_html(answer, chat.one_shot_html(text))
    sent = live_app.upstream.requests[-1].body["messages"]
    assert sent[-1] == {"role": "assistant", "content": "".join(tokens[:8])}
    page.reload()
    assert chat.stored_messages()[-1]["text"] == text
    chat.assert_clean()
