"""While an answer streams, its open end is shown repaired; the final render is not."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SHOW_PARTIAL = """
async (text) => {
  harness.start();
  harness.push(text);
  await harness.frames(1);
  return harness.html();
}
"""


@pytest.mark.parametrize(
    ("partial", "shown"),
    [
        ("Hello **wor", "<p>Hello <strong>wor</strong></p>"),
        ("Hello *wor", "<p>Hello <em>wor</em></p>"),
        ("Run `pip inst", "<p>Run <code>pip inst</code></p>"),
        ("That is ~~wro", "<p>That is <s>wro</s></p>"),
        ("**Bold *and ital", "<p><strong>Bold <em>and ital</em></strong></p>"),
        ("- item with **bo", "<ul>\n<li>item with <strong>bo</strong></li>\n</ul>"),
        ("Trailing **", "<p>Trailing</p>"),
        ("See [the docs](https://exa", "<p>See the docs</p>"),
        ("Look: ![a chart](https://evil.exa", "<p>Look:</p>"),
        ("Look: ![a ch", "<p>Look:</p>"),
        ("A paragraph\n-", "<p>A paragraph</p>"),
        ("2 * 3 = 6 and 7 * 8", "<p>2 * 3 = 6 and 7 * 8</p>"),
    ],
)
def test_it_repairs_the_open_tail(harness_page: Page, partial: str, shown: str) -> None:
    assert harness_page.evaluate(SHOW_PARTIAL, partial).strip() == shown


def test_it_renders_the_final_text_unrepaired(harness_page: Page) -> None:
    text = "Stopped mid-way: **bold and [a link](https://exa"
    html = harness_page.evaluate(
        """async (text) => {
            harness.start();
            harness.push(text);
            await harness.frames(1);
            return harness.finish();
        }""",
        text,
    )
    assert html == harness_page.evaluate("(text) => harness.oneShot(text)", text)
    assert "**bold and [a link](" in html


def test_it_shows_a_completed_link_once_its_url_is_complete(harness_page: Page) -> None:
    html = harness_page.evaluate(
        """async () => {
            harness.start();
            harness.push("See [the docs](https://exa");
            await harness.frames(1);
            harness.push("mple.com/docs) now.");
            await harness.frames(1);
            return harness.html();
        }"""
    )
    assert 'href="https://example.com/docs"' in html
    assert ">the docs</a> now.</p>" in html


def test_it_rerenders_the_whole_message_when_it_defines_link_references(
    harness_page: Page,
) -> None:
    text = (
        "See [the guide][guide] for details.\n\n"
        "## Steps\n\n- one\n- two\n\n"
        "Closing paragraph.\n\n"
        "[guide]: https://example.com/guide\n"
    )
    before, after, stats = harness_page.evaluate(
        """async (text) => {
            const cut = text.indexOf('[guide]:');
            harness.start();
            harness.push(text.slice(0, cut));
            await harness.frames(1);
            const before = harness.html();
            harness.push(text.slice(cut));
            await harness.frames(1);
            return [before, harness.html(), harness.stats()];
        }""",
        text,
    )
    # Until the definition arrives the first paragraph is frozen with the reference as text...
    assert "<p>See [the guide][guide] for details.</p>" in before
    # ...and the definition re-renders it as a link.
    assert stats["wholeDocument"]
    assert '<a href="https://example.com/guide"' in after
    final = harness_page.evaluate("harness.finish()")
    assert final == harness_page.evaluate("(text) => harness.oneShot(text)", text)


def test_it_rerenders_the_whole_message_for_a_definition_in_its_last_line(
    harness_page: Page,
) -> None:
    text = "Footnote style [^1] and [x].\n\nMore text.\n\n[x]: https://example.com/x"
    final = harness_page.evaluate(
        """async (text) => {
            harness.start();
            for (let at = 0; at < text.length; at += 7) {
                harness.push(text.slice(at, at + 7));
                await harness.frames(1);
            }
            return harness.finish();
        }""",
        text,
    )
    assert '<a href="https://example.com/x"' in final
    assert final == harness_page.evaluate("(text) => harness.oneShot(text)", text)
