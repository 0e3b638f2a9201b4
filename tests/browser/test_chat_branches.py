"""Editing a sent message into a new branch in the page, switching between branches with
the version switcher (mouse and keyboard), reloading, and forking a chat from an answer."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


def texts(chat) -> list[str]:
    bodies = chat.page.locator("#messages .message .body")
    return [" ".join(text.split()) for text in bodies.all_inner_texts()]


def test_edit_branches_switch_back_and_forth_and_reload(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(text="Oslo is in Norway.", tokens_per_second=300),
        Script(text="Bergen is on the west coast.", tokens_per_second=300),
        Script(text="Trondheim is further north.", tokens_per_second=300),
    )
    chat = open_chat(page, live_app)
    chat.wait_for_status(chat.send("Where is Oslo?"), "complete")
    chat.wait_for_status(chat.send("And Bergen?"), "complete")

    question = page.locator("[data-role=user]").last
    question.hover()
    question.get_by_role("button", name="Edit message").click()
    box = question.get_by_role("textbox", name="Edit your message")
    expect(box).to_be_focused()
    expect(box).to_have_value("And Bergen?")
    # Escape puts the message back as it was.
    box.press("Escape")
    expect(box).to_have_count(0)
    expect(question.locator(".body")).to_have_text("And Bergen?")

    question.get_by_role("button", name="Edit message").click()
    box = question.get_by_role("textbox", name="Edit your message")
    box.fill("And Trondheim?")
    box.press("Control+Enter")
    answer = chat.answer()
    chat.wait_for_status(answer, "complete")
    expect(answer.locator(".body")).to_have_text("Trondheim is further north.")
    assert texts(chat) == [
        "Where is Oslo?",
        "Oslo is in Norway.",
        "And Trondheim?",
        "Trondheim is further north.",
    ]
    # The model was sent the new branch only.
    sent = [m["content"] for m in live_app.upstream.requests[-1].body["messages"]]
    assert sent == ["Where is Oslo?", "Oslo is in Norway.", "And Trondheim?"]

    edited = page.locator("[data-role=user]").last
    versions = edited.get_by_role("group", name="Versions of this message")
    expect(versions).to_be_visible()
    expect(versions.locator(".version-label")).to_have_text("2/2")

    # Back to the first version, with the keyboard: its whole branch comes back.
    edited.get_by_role("button", name="Previous version").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-role=user]").last.locator(".version-label")).to_have_text("1/2")
    assert texts(chat) == [
        "Where is Oslo?",
        "Oslo is in Norway.",
        "And Bergen?",
        "Bergen is on the west coast.",
    ]
    # The focus stays on the switcher, now on the version shown.
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Next version"

    # The choice survives a reload.
    page.reload()
    chat.ready()
    assert texts(chat) == [
        "Where is Oslo?",
        "Oslo is in Norway.",
        "And Bergen?",
        "Bergen is on the west coast.",
    ]
    switcher = page.locator("[data-role=user]").last.locator(".versions")
    expect(switcher.locator(".version-label")).to_have_text("1/2")
    switcher.get_by_role("button", name="Next version").click()
    expect(page.locator("[data-role=user]").last.locator(".version-label")).to_have_text("2/2")
    assert texts(chat)[-1] == "Trondheim is further north."
    page.reload()
    chat.ready()
    assert texts(chat)[-2:] == ["And Trondheim?", "Trondheim is further north."]
    chat.assert_clean()


def test_fork_opens_a_new_chat_made_of_the_branch_up_to_the_answer(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(text="First answer.", tokens_per_second=300),
        Script(text="Second answer.", tokens_per_second=300),
    )
    chat = open_chat(page, live_app)
    first = chat.send("First question")
    chat.wait_for_status(first, "complete")
    chat.wait_for_status(chat.send("Second question"), "complete")
    source = chat.conversation_id()

    chat.answer(0).get_by_role("button", name="Start a new chat from here").click()
    page.wait_for_url(lambda url: f"/c/{source}/" not in url)
    chat.ready()
    assert chat.conversation_id() != source
    assert texts(chat) == ["First question", "First answer."]
    expect(page.locator("#topbar-title")).to_contain_text("(fork)")

    # Forking from one of the user's messages leaves its text in the new chat's composer.
    page.goto(f"{live_app.url}/c/{source}/")
    chat.ready()
    question = page.locator("[data-role=user]").last
    question.hover()
    question.get_by_role("button", name="Start a new chat from here").click()
    page.wait_for_url(lambda url: f"/c/{source}/" not in url)
    chat.ready()
    assert texts(chat) == ["First question", "First answer."]
    expect(chat.textarea).to_have_value("Second question")
    stored = json.loads(page.locator("#page-data").text_content())["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant"]
    chat.assert_clean()
