"""Math, Mermaid diagrams and task lists: drawn safely, once, and the TeX survives."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Harness, wait_until

pytestmark = pytest.mark.browser

HOSTILE = json.loads((Path(__file__).parent / "hostile_corpus.json").read_text())["cases"]

MATH = (
    "Inline $x^2 + \\sqrt{y}$ and \\(\\frac{a}{b}\\), an escaped \\$ and prices $5 and $10.\n"
    "\n"
    "$$\n\\int_0^1 f(x)\\,dx\n$$\n"
    "\n"
    "\\[\\sum_{k=1}^n k\\]\n"
)

DIAGRAM = "```mermaid\ngraph TD\n  A[Client] -->|frames| B(Server)\n  B --> C{Cached?}\n```\n"

# Every diagram in #content drawn (or refused), as the shadow root of its block shows.
ALL_DRAWN = """
(() => {
  const hosts = Array.from(document.querySelectorAll("#content .md-diagram"));
  return hosts.length > 0 && hosts.every((host) =>
    host.shadowRoot && host.shadowRoot.querySelector(".diagram, .note"));
})()
"""

INSPECT_DIAGRAMS = """
() => Array.from(document.querySelectorAll("#content .md-diagram")).map((host) => {
  const shadow = host.shadowRoot;
  const elements = Array.from(shadow.querySelectorAll("*"));
  const rules = shadow.adoptedStyleSheets.flatMap((sheet) =>
    Array.from(sheet.cssRules).map((rule) => rule.cssText));
  return {
    drawn: shadow.querySelector(".diagram svg") !== null,
    note: shadow.querySelector(".note")?.textContent ?? null,
    forbidden: Array.from(shadow.querySelectorAll(
      "script, style, iframe, object, embed, foreignObject, img, image, a, use, input, form"
    )).map((el) => el.outerHTML.slice(0, 200)),
    handlers: elements.flatMap((el) => el.getAttributeNames()
      .filter((name) => name.startsWith("on")).map((name) => `${el.tagName}[${name}]`)),
    links: elements.flatMap((el) => ["href", "xlink:href"]
      .map((name) => el.getAttribute(name)).filter((value) => value !== null)),
    styles: elements.filter((el) => el.hasAttribute("style")).length,
    fetching: rules.filter((rule) => /url\\(|@import|evil\\.example/i.test(rule)),
    text: shadow.textContent,
  };
})
"""


def test_math_is_drawn_by_katex_and_keeps_its_tex(harness_page: Page) -> None:
    result = harness_page.evaluate(
        """(text) => {
            harness.oneShot(text);
            const root = document.getElementById("oneshot");
            return {
              tex: Array.from(root.querySelectorAll(".md-math")).map((el) => el.dataset.tex),
              katex: root.querySelectorAll(".md-math .katex").length,
              masks: root.querySelectorAll(".mk-svg").length,
              paragraph: root.querySelector("p").textContent,
              foreign: root.querySelectorAll("svg, math, [style]").length,
              violations: window.__violations,
            };
        }""",
        MATH,
    )
    assert result["tex"] == [
        "$x^2 + \\sqrt{y}$",
        "\\(\\frac{a}{b}\\)",
        "$$\n\\int_0^1 f(x)\\,dx\n$$",
        "\\[\\sum_{k=1}^n k\\]",
    ]
    assert result["katex"] == 4
    assert result["masks"] >= 1  # the radical, drawn as a mask instead of an <svg>
    assert "an escaped $ and prices $5 and $10." in result["paragraph"]
    assert result["foreign"] == 0
    assert result["violations"] == []


def test_copying_a_selection_gives_the_tex(harness_page: Page) -> None:
    copied = harness_page.evaluate(
        """(text) => {
            harness.oneShot(text);
            const paragraph = document.querySelector("#oneshot p");
            const formula = paragraph.querySelector(".md-math .katex");
            const range = document.createRange();
            // From inside the first formula to the end of the paragraph.
            range.setStart(formula.querySelector(".mord"), 0);
            range.setEnd(paragraph, paragraph.childNodes.length);
            document.getSelection().removeAllRanges();
            document.getSelection().addRange(range);
            const data = new DataTransfer();
            paragraph.dispatchEvent(
              new ClipboardEvent("copy", { clipboardData: data, bubbles: true }));
            return data.getData("text/plain");
        }""",
        MATH,
    )
    assert copied.startswith("$x^2 + \\sqrt{y}$ and \\(\\frac{a}{b}\\), an escaped $")


def test_display_math_is_drawn_once_its_block_closes(harness_page: Page) -> None:
    result = harness_page.evaluate(
        """async () => {
            harness.start();
            harness.push("Where\\n$$\\n\\\\frac{a}{b}\\n");
            await harness.frames(2);
            const content = document.getElementById("content");
            const open = { katex: content.querySelectorAll(".katex").length,
                           source: content.querySelector(".md-math-source")?.textContent };
            harness.push("$$\\n");
            await harness.frames(2);
            const closed = content.querySelectorAll(".md-math-block .katex").length;
            return { open, closed };
        }"""
    )
    assert result["open"] == {"katex": 0, "source": "$$\n\\frac{a}{b}"}
    assert result["closed"] == 1


def test_task_lists_show_disabled_checkboxes(harness_page: Page) -> None:
    result = harness_page.evaluate(
        """(text) => {
            harness.oneShot(text);
            const root = document.getElementById("oneshot");
            return {
              boxes: Array.from(root.querySelectorAll("li.md-task .md-task-box")).map((box) =>
                [box.getAttribute("aria-checked"), box.getAttribute("aria-disabled")]),
              items: Array.from(root.querySelectorAll("li")).map((li) => li.textContent.trim()),
              inputs: root.querySelectorAll("input").length,
            };
        }""",
        "- [ ] write the test\n- [x] run it\n- [X] commit it\n- [y] not a task\n",
    )
    assert result["boxes"] == [
        ["false", "true"],
        ["true", "true"],
        ["true", "true"],
    ]
    assert result["items"] == ["write the test", "run it", "commit it", "[y] not a task"]
    assert result["inputs"] == 0


def test_a_diagram_is_drawn_once_after_its_block_closes(harness_page: Page) -> None:
    lines = DIAGRAM.splitlines(keepends=True)
    before = harness_page.evaluate(
        """async (lines) => {
            harness.start();
            harness.push("Intro.\\n\\n");
            const shadows = [];
            for (const line of lines.slice(0, -1)) {
              harness.push(line);
              await harness.frames(2);
              const host = document.querySelector("#content .md-diagram");
              shadows.push(host ? host.shadowRoot !== null : null);
            }
            return shadows;
        }""",
        lines,
    )
    # While the fence is open the block is code, with no drawing started.
    assert before == [False] * (len(lines) - 1)
    harness_page.evaluate("(line) => harness.push(line)", lines[-1])
    wait_until(harness_page, ALL_DRAWN)
    again = harness_page.evaluate(
        """async (text) => {
            const svg = document.querySelector("#content .md-diagram").shadowRoot
              .querySelector("svg");
            for (let i = 0; i < 20; i += 1) {
              harness.push(`more text ${i} `);
              await harness.frames(1);
            }
            const html = await harness.finish();
            await new Promise((resolve) => setTimeout(resolve, 300));
            const now = document.querySelector("#content .md-diagram").shadowRoot
              .querySelector("svg");
            const full = harness.oneShot(text + Array.from({ length: 20 },
              (_, i) => `more text ${i} `).join(""));
            return { same: now === svg, equal: html === full,
                     frames: document.querySelectorAll("iframe.md-diagram-frame").length,
                     labels: now.textContent };
        }""",
        "Intro.\n\n" + DIAGRAM,
    )
    assert again["same"], "the diagram was drawn again"
    assert again["equal"], "the stream ended unlike a one-shot render"
    assert again["frames"] == 1
    assert "Client" in again["labels"] and "Cached?" in again["labels"]
    [diagram] = harness_page.evaluate(INSPECT_DIAGRAMS)
    assert diagram["drawn"]
    assert diagram["forbidden"] == [] and diagram["handlers"] == []
    assert diagram["styles"] == 0 and diagram["fetching"] == []
    assert harness_page.evaluate("window.__violations") == []


def test_a_diagram_that_does_not_parse_shows_its_code_and_why(harness_page: Page) -> None:
    harness_page.evaluate(
        "(text) => harness.stream(text, { maxChunk: 30 })",
        "```mermaid\ngraph TD\n  A -->\n  ((( nonsense\n```\n",
    )
    wait_until(harness_page, ALL_DRAWN)
    [diagram] = harness_page.evaluate(INSPECT_DIAGRAMS)
    assert not diagram["drawn"]
    assert diagram["note"].startswith("Diagram not drawn: ")
    shown = harness_page.evaluate(
        """() => {
            const host = document.querySelector("#content .md-diagram");
            const slot = host.shadowRoot.querySelector("slot");
            return slot.assignedNodes().map((node) => node.textContent).join("");
        }"""
    )
    assert "((( nonsense" in shown


def test_a_diagram_follows_light_and_dark(harness_page: Page) -> None:
    harness_page.evaluate("(text) => harness.stream(text)", DIAGRAM)
    wait_until(harness_page, ALL_DRAWN)
    light = harness_page.evaluate(
        "() => document.querySelector('#content .md-diagram').shadowRoot.querySelector('svg')"
        ".outerHTML"
    )
    harness_page.emulate_media(color_scheme="dark")
    wait_until(
        harness_page,
        f"""document.querySelector('#content .md-diagram').shadowRoot.querySelector('svg')
            ?.outerHTML !== {json.dumps(light)}""",
    )


def test_hostile_diagrams_run_nothing_and_fetch_nothing(page: Page, harness: Harness) -> None:
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    harness.open(page)
    cases = [case for case in HOSTILE if case["name"].startswith("mermaid")]
    closed = [case for case in cases if case["markdown"].rstrip().endswith("```")]
    text = "\n\n".join(case["markdown"] for case in closed) + "\n"
    page.evaluate("(text) => harness.stream(text, { maxChunk: 9 })", text)
    wait_until(page, ALL_DRAWN)
    page.wait_for_timeout(300)  # let any late handler run
    diagrams = page.evaluate(INSPECT_DIAGRAMS)

    assert len(diagrams) == len(closed)
    assert sum(diagram["drawn"] for diagram in diagrams) >= len(closed) - 2
    for case, diagram in zip(closed, diagrams, strict=True):
        name = case["name"]
        assert diagram["forbidden"] == [], f"{name}: {diagram['forbidden']}"
        assert diagram["handlers"] == [], f"{name}: {diagram['handlers']}"
        assert all(link.startswith("#") for link in diagram["links"]), (name, diagram["links"])
        assert diagram["styles"] == 0, f"{name}: a style attribute"
        assert diagram["fetching"] == [], f"{name}: {diagram['fetching']}"
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert page.evaluate("window.__violations") == []
    foreign = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert foreign == []
    assert any(url.endswith("/diagram-frame.html") for url in requests)
