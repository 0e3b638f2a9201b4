"""Compare mode: one message, answered by two or three models side by side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import live_app_with, open_chat
from tests.browser.live import LiveApp
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


@pytest.fixture
def four_models(tmp_path: Path) -> Iterator[LiveApp]:
    with live_app_with(tmp_path, OPENAI_MODELS="gpt-test,gpt-b,gpt-c,gpt-d") as app:
        yield app


def test_two_models_answer_side_by_side(page: Page, four_models: LiveApp):
    app = four_models
    texts = {"The first model's answer.", "The second model's answer."}
    app.upstream.enqueue(*(Script(text=t, tokens_per_second=100) for t in sorted(texts)))
    chat = open_chat(page, app)

    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("button", name="Compare")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("select[name=model]")).to_be_disabled()
    choices = page.locator("input[name=models]")
    expect(choices.and_(page.locator(":checked"))).to_have_count(1)  # the picker's model
    page.get_by_role("checkbox", name="gpt-b").check()
    page.get_by_role("checkbox", name="gpt-c").check()
    # Three at most.
    expect(page.get_by_role("checkbox", name="gpt-d")).to_be_disabled()
    page.get_by_role("checkbox", name="gpt-c").uncheck()
    expect(page.get_by_role("checkbox", name="gpt-d")).to_be_enabled()

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
    page.get_by_role("checkbox", name="gpt-b").check()
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
    page.get_by_role("checkbox", name="gpt-b").check()
    chat.textarea.fill("Which?")
    chat.textarea.press("Enter")
    # Sent: the list of models folds away, still comparing, and says how many.
    expect(page.locator("#compare-models")).to_be_hidden()
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
    # Unfolded again with a click, the models picked are still ticked.
    compare = page.get_by_role("button", name="Compare")
    compare.click()
    expect(page.locator("#compare-models")).to_be_visible()
    chat.assert_clean()
