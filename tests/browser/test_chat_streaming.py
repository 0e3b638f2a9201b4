"""An answer streams into the chat page as markdown, ending as a one-shot render would, without
disturbing what the reader does meanwhile."""

from __future__ import annotations

import random
import time

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.chat_page import ChatPage, open_chat
from tests.browser.corpus import long_answer
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


def chunks(text: str, seed: int, largest: int = 40) -> list[str]:
    """`text` cut at random places (inside words, markers, fences), as a model's tokens are."""
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(text):
        step = rng.randint(1, largest)
        pieces.append(text[at : at + step])
        at += step
    return pieces


# The answer's status, aria-busy and the cursor after its last block, read in one go: the
# renderer's next frame cannot run in the middle. null while the block being written is one
# the cursor does not follow (a table or a rule), so that the look is taken again.
LOOK_AT_THE_END = """(answer) => {
    const body = answer.querySelector('.body');
    const last = body.lastElementChild;
    const status = answer.dataset.status;
    const followed = 'p, h1, h2, h3, h4, h5, h6, blockquote, ul, ol, .md-code';
    if (status === 'streaming' && last && !last.matches(followed)) return null;
    const inner = last && (last.matches('ul, ol') ? last.lastElementChild
        : last.querySelector('pre > code') || last);
    return {
        status,
        busy: answer.getAttribute('aria-busy'),
        cursor: getComputedStyle(inner || body, '::after').content,
    };
}"""


def while_streaming(chat: ChatPage, answer: Locator) -> dict:
    """The end of `answer` as LOOK_AT_THE_END sees it, once its last block takes a cursor."""
    deadline = time.monotonic() + 20
    while (seen := answer.evaluate(LOOK_AT_THE_END)) is None:
        assert time.monotonic() < deadline, "the answer never ended on a block with a cursor"
        chat.page.wait_for_timeout(20)
    return seen


def test_a_long_markdown_answer_ends_exactly_as_a_one_shot_render(page: Page, live_app):
    text = long_answer(seed=5, min_chars=12_000)
    live_app.upstream.enqueue(Script(tokens=chunks(text, seed=5), tokens_per_second=300))
    chat = open_chat(page, live_app)

    answer = chat.send("Write a long answer with every kind of markdown")
    # While it streams: a typing cursor, and part of the text already rendered.
    chat.wait_for_text(answer, 500)
    seen = while_streaming(chat, answer)
    assert seen["status"] == "streaming"
    assert seen["busy"] == "true"
    assert seen["cursor"] == '"▍"'

    chat.wait_for_status(answer, "complete")
    # Code is highlighted when the browser is idle, so the last blocks may take a moment.
    chat.wait_for_html(answer, chat.one_shot_html(text))
    # Highlighted code blocks, each with its copy button.
    assert answer.locator(".md-code").count() > 0
    assert answer.locator(".md-code .md-copy").count() == answer.locator(".md-code").count()
    assert answer.locator("code.hljs").count() > 0
    # No cursor once complete, and the answer's numbers underneath.
    assert answer.get_attribute("aria-busy") is None
    metrics = answer.locator(".metrics")
    expect(metrics).to_contain_text("gpt-test")
    expect(metrics).to_contain_text("to first token")
    expect(metrics).to_contain_text("tokens/s")
    expect(metrics).to_contain_text(" tokens")

    # Stored, the same text renders the same way in one shot.
    page.reload()
    stored = chat.answer()
    expect(stored).to_have_attribute("data-status", "complete")
    assert chat.stored_messages()[-1]["text"] == text
    assert chat.body_html(stored) == chat.one_shot_html(text)
    chat.assert_clean()


def test_the_users_message_shows_as_markdown_with_raw_html_as_text(page: Page, live_app):
    # It was plain text; it is markdown now, through the answers' renderer (raw HTML as text).
    live_app.upstream.enqueue(Script(text="Noted.", tokens_per_second=200))
    chat = open_chat(page, live_app)
    sent = "**bold** <b>not a tag</b>\n\n- a list"
    chat.send(sent)
    question = page.locator("[data-role=user]").last
    body = question.locator(".body")
    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("ul > li")).to_have_text("a list")
    assert body.locator("b").count() == 0
    assert "<b>not a tag</b>" in body.evaluate("(el) => el.textContent")
    assert question.get_attribute("data-message-id").isdigit()
    chat.assert_clean()


def test_text_selected_early_stays_selected_while_the_rest_streams(page: Page, live_app):
    first = "The first paragraph holds the words the reader selects while the rest arrives."
    rest = long_answer(seed=11, min_chars=8_000)
    text = first + "\n\n" + rest
    live_app.upstream.enqueue(
        Script(tokens=chunks(text, seed=11, largest=20), tokens_per_second=150)
    )
    chat = open_chat(page, live_app)

    answer = chat.send("Stream something long")
    # Once the next block has begun, the first paragraph is final.
    chat.wait_for_text(answer, len(first) + 200)
    selected = answer.locator(".body > p").first.evaluate(
        """(p) => {
            const text = p.firstChild;
            const range = document.createRange();
            range.setStart(text, 4);
            range.setEnd(text, 25);
            const selection = getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
            window.__selectedNode = text;
            return selection.toString();
        }"""
    )
    assert selected == "first paragraph holds"
    grown_from = answer.locator(".body").evaluate("(el) => el.textContent.length")
    chat.wait_for_text(answer, grown_from + 2_000)
    assert answer.get_attribute("data-status") == "streaming"

    def still_selected() -> bool:
        return page.evaluate(
            """() => getSelection().toString() === 'first paragraph holds'
                && window.__selectedNode.isConnected
                && getSelection().anchorNode === window.__selectedNode"""
        )

    assert still_selected()
    chat.wait_for_status(answer, "complete")
    assert still_selected()
    chat.assert_clean()
