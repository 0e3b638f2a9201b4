"""Hostile model output, streamed through the renderer, runs nothing and fetches nothing."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Harness

pytestmark = pytest.mark.browser

CORPUS = json.loads((Path(__file__).parent / "hostile_corpus.json").read_text())["cases"]

# Streams each case in small random chunks (so every partial state is rendered too), then
# checks the DOM both of the stream and of a one-shot render.
RENDER_ALL = """
async (cases) => {
  const forbidden = "script, style, iframe, frame, object, embed, svg, math, img, form, input, "
    + "textarea, select, base, meta, link, template, noscript, video, audio, source";
  const check = (root) => {
    const elements = Array.from(root.querySelectorAll("*"));
    return {
      forbidden: Array.from(root.querySelectorAll(forbidden)).map((el) => el.outerHTML),
      handlers: elements.flatMap((el) =>
        el.getAttributeNames().filter((name) => name.startsWith("on"))
          .map((name) => `${el.tagName}[${name}]`)),
      hrefs: Array.from(root.querySelectorAll("[href]")).map((el) => ({
        href: el.getAttribute("href"), target: el.getAttribute("target"),
        rel: el.getAttribute("rel"),
      })),
      styles: elements.filter((el) => el.hasAttribute("style")).length,
      text: root.textContent,
    };
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 30));
  const results = [];
  let seed = 1;
  for (const item of cases) {
    const streamed = await harness.stream(item.markdown, { seed: seed++, maxChunk: 5 });
    await settle();
    const stream = check(document.getElementById("content"));
    const expected = harness.oneShot(item.markdown);
    await settle();
    const oneShot = check(document.getElementById("oneshot"));
    results.push({ name: item.name, stream, oneShot, same: streamed.html === expected,
                   pwned: window.__pwned === undefined ? null : String(window.__pwned) });
  }
  return { results, violations: window.__violations };
}
"""


@pytest.mark.parametrize("csp", [True, False], ids=["strict-csp", "no-csp"])
def test_it_runs_no_script_and_fetches_nothing_foreign(
    page: Page, harness: Harness, csp: bool
) -> None:
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    harness.open(page, csp=csp)

    outcome = page.evaluate(RENDER_ALL, CORPUS)
    page.wait_for_timeout(200)  # let any late event handler or navigation happen

    for case, result in zip(CORPUS, outcome["results"], strict=True):
        name = case["name"]
        assert result["pwned"] is None, f"{name}: a script ran ({result['pwned']})"
        assert result["same"], f"{name}: the stream ended unlike a one-shot render"
        for view in ("stream", "oneShot"):
            dom = result[view]
            assert dom["forbidden"] == [], f"{name} ({view}): {dom['forbidden']}"
            assert dom["handlers"] == [], f"{name} ({view}): {dom['handlers']}"
            assert dom["styles"] == 0, f"{name} ({view}): a style attribute"
            for link in dom["hrefs"]:
                assert urlsplit(link["href"]).scheme in {"http", "https", "mailto"}, (name, link)
                assert link["target"] == "_blank", (name, link)
                assert link["rel"] == "noopener noreferrer", (name, link)
            for expected in case["text_contains"]:
                assert expected in dom["text"], f"{name} ({view}): {expected!r} not shown as text"
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert outcome["violations"] == []
    foreign = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert foreign == []
    assert requests, "the request recorder saw nothing at all"
