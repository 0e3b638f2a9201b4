"""A streamed answer ends as exactly the DOM a one-shot render of the same text gives."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.corpus import long_answer

pytestmark = pytest.mark.browser

CHUNKINGS = [
    pytest.param({"seed": 11, "minChunk": 1, "maxChunk": 1, "maxChunksPerFrame": 200}, id="1-char"),
    pytest.param({"seed": 12, "minChunk": 1, "maxChunk": 3, "maxChunksPerFrame": 100}, id="1-3"),
    pytest.param({"seed": 13, "minChunk": 1, "maxChunk": 12, "maxChunksPerFrame": 30}, id="1-12"),
    pytest.param({"seed": 14, "minChunk": 5, "maxChunk": 64, "maxChunksPerFrame": 6}, id="5-64"),
    pytest.param({"seed": 15, "minChunk": 50, "maxChunk": 900, "maxChunksPerFrame": 2}, id="big"),
]


def _first_difference(left: str, right: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b), None)
    if at is None:
        at = min(len(left), len(right))
    window = slice(max(0, at - 200), at + 200)
    return f"at {at}:\nstreamed: {left[window]!r}\none-shot: {right[window]!r}"


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_ends_equal_to_a_one_shot_render(harness_page: Page, chunking: dict) -> None:
    text = long_answer(seed=chunking["seed"])
    assert len(text.encode()) > 30_000

    result = harness_page.evaluate(
        "([text, options]) => harness.stream(text, options)", [text, chunking]
    )
    expected = harness_page.evaluate("(text) => harness.oneShot(text)", text)

    assert result["html"] == expected, _first_difference(result["html"], expected)
    # The incremental path did the work, not a whole-document fallback.
    assert not result["stats"]["wholeDocument"]
    assert result["stats"]["freezes"] > 20


def test_it_renders_once_per_frame_not_per_chunk(harness_page: Page) -> None:
    result = harness_page.evaluate(
        """async () => {
            harness.start();
            for (let i = 0; i < 500; i += 1) harness.push(`word ${i} `);
            const afterPush = { frames: harness.stats().frames, html: harness.html() };
            await harness.frames(1);
            return { afterPush, frames: harness.stats().frames, html: harness.html() };
        }"""
    )
    assert result["afterPush"] == {"frames": 0, "html": ""}
    assert result["frames"] == 1
    assert result["html"].startswith("<p>word 0 word 1 ")
    assert "word 499</p>" in result["html"]


def test_it_never_replaces_a_finished_block(harness_page: Page) -> None:
    text = long_answer(seed=21, min_chars=12_000)
    half = len(text) // 2
    harness_page.evaluate(
        """async ([text, half]) => {
            harness.start();
            for (let at = 0; at < half; at += 40) {
                harness.push(text.slice(at, Math.min(at + 40, half)));
                await harness.frames(1);
            }
            const content = document.getElementById('content');
            // Everything but the last element is finished by now.
            window.__early = Array.from(content.children).slice(0, -1);
            for (let at = half; at < text.length; at += 40) {
                harness.push(text.slice(at, at + 40));
                await harness.frames(1);
            }
            await harness.finish();
        }""",
        [text, half],
    )
    kept = harness_page.evaluate(
        """() => {
            const now = Array.from(document.getElementById('content').children);
            return window.__early.map((node, i) => node.isConnected && now[i] === node);
        }"""
    )
    assert len(kept) > 10
    assert all(kept), kept.index(False)


def test_a_stopped_answer_continues_where_it_ended(harness_page: Page) -> None:
    first = long_answer(seed=31, min_chars=3_000) + "\nThe answer stopped in the middle of a sen"
    more = "tence, and continues **here**.\n\n```python\nprint('more')\n```\n"
    html = harness_page.evaluate(
        """async ([first, more]) => {
            harness.start();
            harness.push(first);
            await harness.frames(1);
            await harness.finish();
            harness.push(more);
            await harness.frames(1);
            return harness.finish();
        }""",
        [first, more],
    )
    assert html == harness_page.evaluate("(text) => harness.oneShot(text)", first + more)
    assert "middle of a sentence, and continues <strong>here</strong>." in html


def test_it_takes_over_a_stored_render_of_the_same_message(harness_page: Page) -> None:
    stored = long_answer(seed=32, min_chars=3_000)
    more = "\nAnd the live part of the answer.\n"
    result = harness_page.evaluate(
        """async ([stored, more]) => {
            const content = document.getElementById('content');
            content.innerHTML = harness.oneShot(stored);
            const first = content.firstElementChild;
            harness.adopt();
            harness.push(stored);
            await harness.frames(1);
            harness.push(more);
            await harness.frames(1);
            const html = await harness.finish();
            return { html, kept: content.firstElementChild === first };
        }""",
        [stored, more],
    )
    assert result["html"] == harness_page.evaluate("(text) => harness.oneShot(text)", stored + more)
    assert result["kept"]
