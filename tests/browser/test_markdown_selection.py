"""A reader's selection in an early paragraph survives the rest of the answer streaming in."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.corpus import long_answer

pytestmark = pytest.mark.browser


def test_a_selection_in_an_early_paragraph_stays_selected(harness_page: Page) -> None:
    first = "The first paragraph holds the sentence the reader is selecting right now.\n\n"
    rest = long_answer(seed=5, min_chars=8_000)
    page = harness_page
    page.evaluate(
        """async (text) => {
            harness.start();
            harness.push(text);
            await harness.frames(2);
        }""",
        first + "## Next\n\nStill strea",
    )
    paragraph = page.locator("#content > p").first
    box = paragraph.bounding_box()
    assert box is not None
    # Select with the mouse, as a reader would.
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    selected = page.evaluate("getSelection().toString()")
    assert len(selected) > 10
    assert selected in first

    page.evaluate(
        """async (text) => {
            window.__selectedNode = getSelection().anchorNode;
            for (let at = 0; at < text.length; at += 50) {
                harness.push(text.slice(at, at + 50));
                await harness.frames(1);
            }
            await harness.finish();
        }""",
        "ming.\n\n" + rest,
    )

    assert page.evaluate("getSelection().toString()") == selected
    assert page.evaluate(
        "window.__selectedNode.isConnected && getSelection().anchorNode === window.__selectedNode"
    )
    assert page.evaluate("document.getElementById('content').textContent.length") > 6_000
