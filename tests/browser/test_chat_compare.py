"""Compare mode: one message, answered by two or three models side by side."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import live_app_with, open_chat
from tests.browser.live import LiveApp
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


def choice(page: Page):
    """The picker's option for a model, by its name."""
    listbox = page.get_by_role("listbox", name="Models")
    return lambda model: listbox.get_by_role("option", name=model, exact=False).filter(
        has_text=re.compile(rf"^{re.escape(model)}$")
    )


@pytest.fixture
def four_models(tmp_path: Path) -> Iterator[LiveApp]:
    with live_app_with(tmp_path, OPENAI_MODELS="gpt-test,gpt-b,gpt-c,gpt-d") as app:
        yield app


def test_two_models_answer_side_by_side(page: Page, four_models: LiveApp):
    app = four_models
    texts = {"The first model's answer.", "The second model's answer."}
    app.upstream.enqueue(*(Script(text=t, tokens_per_second=100) for t in sorted(texts)))
    chat = open_chat(page, app)
    option = choice(page)

    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("button", name="Compare")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("select[name=model]")).to_be_disabled()
    choices = page.get_by_role("listbox", name="Models")
    expect(choices).to_have_attribute("aria-multiselectable", "true")
    picked = choices.locator("[role=option][aria-selected=true]")
    expect(picked).to_have_count(1)  # the picker's model
    option("gpt-b").click()
    option("gpt-c").click()
    # Three at most: a fourth is refused, and says so.
    option("gpt-d").click()
    expect(option("gpt-d")).to_have_attribute("aria-selected", "false")
    expect(page.get_by_text("3 models at most")).to_be_visible()
    option("gpt-c").click()
    option("gpt-d").click()
    expect(option("gpt-d")).to_have_attribute("aria-selected", "true")
    option("gpt-d").click()
    expect(picked).to_have_count(2)

    chat.textarea.fill("Which is better?")
    chat.textarea.press("Enter")
    expect(chat.answers).to_have_count(2)
    for answer in (chat.answer(0), chat.answer(1)):
        chat.wait_for_status(answer, "complete")
    expect(page.locator("[data-role=user]")).to_have_count(1)
    shown = {chat.answer(i).locator(".body").inner_text() for i in range(2)}
    assert shown == texts
    models = {chat.answer(i).locator(".metrics").inner_text().split(" · ")[0] for i in range(2)}
    assert models == {"gpt-test", "gpt-b"}

    def side_by_side() -> None:
        left, right = (chat.answer(i).bounding_box() for i in range(2))
        assert left is not None and right is not None
        assert abs(left["y"] - right["y"]) < 2
        assert left["x"] + left["width"] <= right["x"]

    side_by_side()
    # As stored, too.
    page.reload()
    expect(chat.answers).to_have_count(2)
    side_by_side()

    # Regenerating one of them replaces only that one, in its own column.
    app.upstream.enqueue(Script(text="A third answer, on second thought.", tokens_per_second=100))
    other_before = chat.answer(1).get_attribute("data-message-id")
    chat.answer(0).get_by_role("button", name="Regenerate answer").click()
    expect(chat.answer(0).locator(".body")).to_have_text("A third answer, on second thought.")
    chat.wait_for_status(chat.answer(0), "complete")
    expect(chat.answer(0).locator(".version-label")).to_have_text("2/2")
    assert chat.answer(1).get_attribute("data-message-id") == other_before
    expect(chat.answer(1).locator(".versions")).to_be_hidden()
    side_by_side()
    chat.assert_clean()


def test_each_answer_and_compare_column_is_named_at_its_top(page: Page, four_models: LiveApp):
    app = four_models
    app.upstream.enqueue(
        Script(text="A.", tokens_per_second=200), Script(text="B.", tokens_per_second=200)
    )
    chat = open_chat(page, app)
    picker = page.get_by_label("Model", exact=True)
    # The closed picker names the provider too: two providers may serve the same model name.
    expect(picker.locator("option:checked")).to_have_text("gpt-test · Local server")
    page.get_by_role("button", name="Compare").click()
    choice(page)("gpt-b").click()
    chat.textarea.fill("Which?")
    chat.textarea.press("Enter")
    expect(chat.answers).to_have_count(2)
    badges = set()
    for index in range(2):
        answer = chat.answer(index)
        chat.wait_for_status(answer, "complete")
        badge = answer.locator(".model-badge")
        top, body = badge.bounding_box(), answer.locator(".body").bounding_box()
        assert top["y"] < body["y"]  # above the text
        badges.add(" ".join(badge.inner_text().split()))
    assert badges == {"gpt-test Local server", "gpt-b Local server"}
    page.reload()
    chat.ready()
    assert {" ".join(t.split()) for t in page.locator(".model-badge").all_inner_texts()} == badges
    chat.assert_clean()


def test_the_models_fold_away_once_sent_and_one_answer_is_kept(page: Page, four_models: LiveApp):
    app = four_models
    app.upstream.enqueue(
        Script(text="A.", tokens_per_second=200), Script(text="B.", tokens_per_second=200)
    )
    chat = open_chat(page, app)
    compare = page.get_by_role("button", name="Compare")
    compare.click()
    choice(page)("gpt-b").click()
    chat.textarea.fill("Which?")
    chat.textarea.press("Enter")
    # Sent: the list of models folds away, still comparing, and says how many.
    expect(page.get_by_role("listbox", name="Models")).to_be_hidden()
    expect(compare).to_have_text("Compare (2)")
    expect(compare).to_have_attribute("aria-pressed", "true")
    for index in range(2):
        chat.wait_for_status(chat.answer(index), "complete")
    kept_text = chat.answer(1).locator(".body").inner_text()
    chat.answer(1).get_by_role("button", name="Continue with this answer").click()
    # One answer goes on; the other is its earlier version, in its place.
    expect(chat.answers).to_have_count(1)
    expect(chat.answer().locator(".body")).to_have_text(kept_text)
    expect(chat.answer().locator(".version-label")).to_have_text("2/2")
    expect(chat.answer().get_by_role("button", name="Continue with this answer")).to_be_hidden()
    page.reload()
    chat.ready()
    expect(chat.answers).to_have_count(1)
    # Unfolded again with a click, the models are offered to pick again.
    compare = page.get_by_role("button", name="Compare")
    compare.click()
    expect(page.get_by_role("listbox", name="Models")).to_be_visible()
    expect(page.get_by_role("listbox", name="Models")).to_have_attribute(
        "aria-multiselectable", "true"
    )
    chat.assert_clean()


def sent_models(chat) -> list[list[str]]:
    """The models of each message sent over the socket, as the frames carried them."""
    sent = []
    for frame in chat.frames:
        if frame.startswith("sent ") and '"content"' in frame:
            match = re.search(r'"models?":(\[[^\]]*\]|"[^"]*")', frame)
            assert match, frame
            value = json.loads(match.group(1))
            sent.append(value if isinstance(value, list) else [value])
    return sent


def test_picking_with_the_keyboard_three_at_most_and_two_at_least(page: Page, four_models):
    app = four_models
    app.upstream.enqueue(*(Script(text=t, tokens_per_second=200) for t in "ABC"))
    chat = open_chat(page, app)
    page.get_by_role("button", name="Compare").click()
    search = page.get_by_role("combobox", name="Search models")
    expect(search).to_be_focused()
    option = choice(page)
    # Space unpicks the model it starts from: none left, and Send says two are needed.
    search.press(" ")
    expect(option("gpt-test")).to_have_attribute("aria-selected", "false")
    search.press("Escape")
    chat.textarea.fill("Which?")
    chat.textarea.press("Enter")
    expect(page.get_by_text("Pick two or three models to compare.")).to_be_visible()
    picker = page.locator("button[name=model]")
    picker.click()
    search.press(" ")  # gpt-test again
    search.press("ArrowDown")
    search.press("Enter")  # gpt-b
    expect(picker).to_have_accessible_name(
        "Models (2): gpt-test · Local server, gpt-b · Local server"
    )
    expect(picker.locator(".model-name")).to_have_text("2 models")  # too long in full
    # Typing still filters; Enter picks what is found.
    search.fill("gpt-c")
    expect(page.get_by_role("listbox", name="Models").get_by_role("option")).to_have_count(1)
    search.press("Enter")
    search.fill("gpt-d")
    search.press("Enter")  # a fourth: refused, politely and visibly
    refusal = page.get_by_text("3 models at most: unpick one first.")
    expect(refusal).to_be_visible()
    expect(refusal).to_have_attribute("aria-live", "polite")
    expect(option("gpt-d")).to_have_attribute("aria-selected", "false")
    search.press("Escape")
    expect(search).to_be_hidden()
    chat.textarea.fill("Three of them?")
    chat.textarea.press("Enter")
    expect(chat.answers).to_have_count(3)
    for index in range(3):
        chat.wait_for_status(chat.answer(index), "complete")
    assert sent_models(chat) == [["openai:gpt-test", "openai:gpt-b", "openai:gpt-c"]]
    chat.assert_clean()


def test_two_picked_with_the_mouse_go_and_leaving_restores_the_single_picker(
    page: Page, four_models
):
    app = four_models
    app.upstream.enqueue(*(Script(text=t, tokens_per_second=200) for t in "ABC"))
    chat = open_chat(page, app)
    compare = page.get_by_role("button", name="Compare")
    compare.click()
    option = choice(page)
    option("gpt-test").click()  # unpicked
    expect(page.get_by_role("combobox", name="Search models")).to_be_visible()  # stays open
    option("gpt-c").click()
    chat.textarea.fill("One is not a comparison.")
    chat.textarea.press("Enter")
    expect(page.get_by_text("Pick two or three models to compare.")).to_be_visible()
    expect(chat.answers).to_have_count(0)
    page.locator("button[name=model]").click()
    option("gpt-d").click()
    chat.textarea.fill("Which?")
    chat.textarea.press("Enter")
    expect(chat.answers).to_have_count(2)
    for index in range(2):
        chat.wait_for_status(chat.answer(index), "complete")
    assert sent_models(chat) == [["openai:gpt-c", "openai:gpt-d"]]

    # Compare mode off (one click unfolds, the next ends it): single-select, on the
    # conversation's model, sent alone.
    compare.click()
    compare.click()
    expect(compare).to_have_attribute("aria-pressed", "false")
    picker = page.get_by_role("button", name="Model: gpt-test Local server")
    expect(picker).to_be_enabled()
    picker.click()
    expect(page.get_by_role("listbox", name="Models")).not_to_have_attribute(
        "aria-multiselectable", "true"
    )
    option("gpt-b").click()
    expect(page.get_by_role("listbox", name="Models")).to_be_hidden()  # one pick closes it
    expect(page.locator("select[name=model]")).to_have_value("openai:gpt-b")
    chat.send("And now?")
    chat.wait_for_status(chat.answer(), "complete")
    assert sent_models(chat)[-1] == ["openai:gpt-b"]
    chat.assert_clean()


def test_compare_picks_on_a_phone(page: Page, four_models):
    page.set_viewport_size({"width": 390, "height": 844})
    app = four_models
    app.upstream.enqueue(*(Script(text=t, tokens_per_second=200) for t in "AB"))
    chat = open_chat(page, app)
    page.get_by_role("button", name="Compare").click()
    listbox = page.get_by_role("listbox", name="Models")
    expect(listbox).to_have_attribute("aria-multiselectable", "true")
    sheet = page.locator(".model-popover").bounding_box()
    assert sheet is not None and sheet["width"] > 350  # a sheet across the screen
    choice(page)("gpt-b").click()
    expect(choice(page)("gpt-b")).to_have_attribute("aria-selected", "true")
    page.get_by_role("combobox", name="Search models").press("Escape")
    chat.textarea.fill("Which?")
    page.get_by_role("button", name="Send").click()
    expect(chat.answers).to_have_count(2)
    expect(listbox).to_be_hidden()
    for index in range(2):
        chat.wait_for_status(chat.answer(index), "complete")
    assert sent_models(chat) == [["openai:gpt-test", "openai:gpt-b"]]
    chat.assert_clean()
