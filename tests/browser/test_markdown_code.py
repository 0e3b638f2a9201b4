"""Code blocks: an open fence only grows, a closed one is highlighted once, copy copies."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Harness, wait_until

pytestmark = pytest.mark.browser

CODE_LINES = [f"value_{i} = compute({i}, 'text')  # line {i}\n" for i in range(40)]

STREAM_FENCE = """
async (lines) => {
  harness.start();
  harness.push("Intro paragraph.\\n\\n```python\\n");
  await harness.frames(1);
  const content = document.getElementById("content");
  const code = content.querySelector("pre > code");
  const records = [];
  const observer = new MutationObserver((list) => {
    for (const record of list) {
      const target = record.target.nodeType === Node.TEXT_NODE ? "text" : record.target.tagName;
      records.push(`${record.type}:${target}`);
    }
  });
  observer.observe(content, { childList: true, characterData: true, subtree: true });
  const tailRendersBefore = harness.stats().tailRenders;
  const seen = [];
  for (const line of lines) {
    // Split each line so a frame also lands mid-line.
    harness.push(line.slice(0, 9));
    await harness.frames(1);
    harness.push(line.slice(9));
    await harness.frames(1);
    seen.push({ same: content.querySelector("pre > code") === code,
                text: code.firstChild === code.lastChild ? code.firstChild?.data : null });
  }
  const whileOpen = records.splice(0);
  const stats = harness.stats();
  // The last code line and the closing fence arrive in the same frame.
  harness.push("last_line = 'done'\\n```\\n\\nAfter the code.\\n\\nMore prose");
  await harness.frames(2);
  // Highlighting waits for an idle period.
  for (let i = 0; i < 100 && !code.classList.contains("hljs"); i += 1) await harness.frames(1);
  const highlighted = code.classList.contains("hljs");
  harness.push(" keeps streaming.\\n\\nAnother paragraph.");
  await harness.frames(3);
  await harness.finish();
  observer.disconnect();
  const onCode = records.filter((r) => r === "childList:CODE");
  return { seen, whileOpen, stats, tailRendersBefore, highlighted, onCode,
           sameAtEnd: content.querySelector("pre > code") === code, codeText: code.textContent,
           spans: code.querySelectorAll("span[class^=hljs-]").length };
}
"""


def test_an_open_fence_grows_by_appending_and_is_highlighted_once(harness_page: Page) -> None:
    result = harness_page.evaluate(STREAM_FENCE, CODE_LINES)

    # While open: the same <code> element, holding exactly the code so far, in one text node.
    expected = ""
    for line, seen in zip(CODE_LINES, result["seen"], strict=True):
        expected += line
        assert seen["same"]
        assert seen["text"] == expected
    # Nothing but text appended: the first append creates the text node, then character data.
    assert result["whileOpen"][0] == "childList:CODE"
    assert set(result["whileOpen"][1:]) == {"characterData:text"}
    assert result["stats"]["tailRenders"] == result["tailRendersBefore"]
    assert result["stats"]["fenceAppends"] >= len(CODE_LINES)

    # Closed: kept in place, highlighted exactly once (one replacement of its children).
    assert result["codeText"] == expected + "last_line = 'done'\n"
    assert result["highlighted"]
    assert result["sameAtEnd"]
    assert result["spans"] > 10
    assert result["onCode"] == ["childList:CODE"]


def test_the_copy_button_copies_the_code(page: Page, harness: Harness) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=harness.origin)
    harness.open(page)
    code = "print('copied')\nfor i in range(3):\n    print(i)\n"
    page.evaluate(
        """async (text) => {
            harness.start();
            harness.push(text);
            await harness.finish();
        }""",
        f"Some code:\n\n```python\n{code}```\n\nDone.",
    )
    button = page.locator("#content .md-copy")
    button.click()
    wait_until(page, "document.querySelector('#content .md-copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == code


def test_each_code_block_gets_a_copy_button_and_its_language(harness_page: Page) -> None:
    html = harness_page.evaluate(
        "harness.oneShot('```rust\\nfn main() {}\\n```\\n\\n    indented\\n\\n~~~\\nplain\\n~~~')"
    )
    assert html.count('<button type="button" class="md-copy"') == 3
    assert '<span class="md-code-lang">rust</span>' in html
    assert '<code class="language-rust hljs">' in html
