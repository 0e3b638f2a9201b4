"""An answer with math, a Mermaid diagram and a task list, streamed through the chat page: drawn
under the page's strict policy (and the diagram frame's own), the same after a reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.chat_page import open_chat
from tests.browser.test_chat_streaming import chunks
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

ANSWER = """\
The mean and variance of $n$ samples, where prices like $5 and $10 stay text:

$$
\\bar{x} = \\frac{1}{n} \\sum_{i=1}^{n} x_i, \\qquad
s^2 = \\frac{1}{n-1} \\sum_{i=1}^{n} (x_i - \\bar{x})^2
$$

The standard error is \\(\\sigma / \\sqrt{n}\\).

```mermaid
graph LR
  A[Browser] -->|send| B(Daphne)
  B -->|stream| C{Provider}
  C -->|deltas| A
```

- [x] render the math
- [x] draw the diagram
- [ ] ship it
"""

SHOWN = """
() => {
  const body = document.querySelector("[data-role=assistant] .body");
  const host = body.querySelector(".md-diagram");
  return {
    tex: Array.from(body.querySelectorAll(".md-math")).map((el) => el.dataset.tex),
    katex: body.querySelectorAll(".katex").length,
    boxes: Array.from(body.querySelectorAll(".md-task-box"))
      .map((box) => box.getAttribute("aria-checked")),
    drawn: Boolean(host?.shadowRoot?.querySelector(".diagram svg")),
    labels: host?.shadowRoot?.querySelector("svg")?.textContent ?? "",
    styles: body.querySelectorAll("[style], svg, math").length,
  };
}
"""

DRAWN = (
    "Boolean(document.querySelector('[data-role=assistant] .body .md-diagram')"
    "?.shadowRoot?.querySelector('.diagram svg'))"
)


def test_math_a_diagram_and_a_task_list_in_an_answer(page: Page, live_app) -> None:
    chat = open_chat(page, live_app)
    live_app.upstream.enqueue(Script(tokens=chunks(ANSWER, seed=3, largest=8)))
    answer = chat.send("Explain the standard error, with a diagram and a checklist.")
    chat.wait_for_status(answer, "complete")
    chat.wait_until(DRAWN)
    shown = page.evaluate(SHOWN)
    assert shown["tex"] == [
        "$n$",
        "$$\n\\bar{x} = \\frac{1}{n} \\sum_{i=1}^{n} x_i, \\qquad\ns^2 = \\frac{1}{n-1} "
        "\\sum_{i=1}^{n} (x_i - \\bar{x})^2\n$$",
        "\\(\\sigma / \\sqrt{n}\\)",
    ]
    assert shown["katex"] == 3
    assert shown["boxes"] == ["true", "true", "false"]
    assert shown["drawn"] and "Daphne" in shown["labels"]
    assert shown["styles"] == 0

    screenshots = os.environ.get("SCREENSHOTS_DIR")
    if screenshots:
        _screenshots(page, Path(screenshots))

    page.reload()
    chat.wait_until(DRAWN)
    assert page.evaluate(SHOWN) == shown
    chat.assert_clean()


def _screenshots(page: Page, folder: Path) -> None:
    """For looking at, not asserting: the answer at desktop and phone sizes, light and dark."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, size in (("desktop", (1280, 800)), ("phone", (390, 844))):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.wait_for_timeout(1500)  # the diagram is drawn again in the other theme
            page.locator("[data-role=assistant]").last.scroll_into_view_if_needed()
            page.screenshot(path=str(folder / f"answer-{name}-{scheme}.png"))
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1000, "height": 800})
