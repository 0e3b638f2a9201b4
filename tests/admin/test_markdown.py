from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chat.review.transcripts import is_safe_url, render_markdown

CORPUS = Path(__file__).resolve().parents[1] / "browser" / "hostile_corpus.json"


class Parsed(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data):
        self.text += data


def assert_harmless(html: str) -> Parsed:
    parsed = Parsed(html)
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "img", "iframe", "object", "embed", "style", "svg"), html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            assert name not in ("src", "style", "srcset"), html
            if name == "href":
                assert is_safe_url(value), html
                assert not value.strip().lower().startswith(("javascript:", "data:")), html
        if tag == "a":
            assert attrs.get("rel") == "noopener noreferrer", html
    return parsed


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![tracker](https://attacker.example/pixel.png?secret=1)",
    '![x](https://ok.example/a.png "title" onerror=alert(1))',
    "<a href='https://ok.example' onclick='alert(1)'>x</a>",
    "[x](/admin/auth/user/1/delete/)",
    "<https://ok.example/autolink>",
    "<javascript:alert(1)>",
    '<iframe src="https://attacker.example"></iframe>',
    "```html\n<script>alert(1)</script>\n```",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]


@pytest.mark.parametrize("markdown", HOSTILE)
def test_it_renders_hostile_markdown_harmless(markdown):
    assert_harmless(render_markdown(markdown))


def test_it_renders_the_shared_hostile_corpus_harmless():
    cases = json.loads(CORPUS.read_text())["cases"]
    assert cases
    for case in cases:
        parsed = assert_harmless(render_markdown(case["markdown"]))
        for text in case.get("text_contains", []):
            assert text in parsed.text, case["name"]


def test_it_turns_images_into_links_that_load_nothing():
    html = render_markdown("![a chart](https://example.com/chart.png)")
    assert html == (
        '<p><a href="https://example.com/chart.png" rel="noopener noreferrer">'
        "[a chart] Load image from example.com</a></p>\n"
    )


def test_it_keeps_safe_links_and_formatting():
    html = render_markdown(
        '# Title\n\n**bold** and [docs](https://docs.example/x?a=1&b=2 "Docs") '
        "or [mail](mailto:a@example.com)\n\n- one\n- two\n\n```\ncode < 1\n```\n\n~~gone~~"
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert (
        '<a href="https://docs.example/x?a=1&amp;b=2" title="Docs" rel="noopener noreferrer">'
        "docs</a>"
    ) in html
    assert '<a href="mailto:a@example.com" rel="noopener noreferrer">mail</a>' in html
    assert "<li>one</li>" in html
    assert "<pre><code>code &lt; 1\n</code></pre>" in html
    assert "<s>gone</s>" in html


def test_it_shows_images_that_are_not_on_the_web_as_text():
    for markdown in ("![tiny](data:image/png;base64,iVBORw0KGgo=)", "![tiny](//evil.example/a)"):
        html = render_markdown(markdown)
        assert "<a" not in html
        assert "tiny" in Parsed(html).text


def test_it_shows_relative_links_as_text():
    assert render_markdown("[x](/admin/)") == "<p>[x](/admin/)</p>\n"


def test_it_keeps_math_as_its_tex_with_the_backslashes():
    html = render_markdown(
        "Inline $x^2 + \\sqrt{y}$ and \\(\\frac{a}{b}\\), prices $5 and $10.\n\n"
        "$$\n\\int_0^1 f(x)\\,dx\n$$\n"
    )
    assert '<code class="md-math">$x^2 + \\sqrt{y}$</code>' in html
    assert '<code class="md-math">\\(\\frac{a}{b}\\)</code>' in html
    assert "prices $5 and $10." in html
    assert '<pre class="md-math"><code>$$\n\\int_0^1 f(x)\\,dx\n$$</code></pre>' in html


def test_it_shows_task_lists_with_the_chat_pages_checkboxes():
    html = render_markdown("- [ ] open\n- [x] done\n- [y] not a task\n")
    assert html == (
        "<ul>\n"
        '<li class="md-task"><span class="md-task-box" role="checkbox" aria-checked="false" '
        'aria-disabled="true" aria-label="Not done"></span>open</li>\n'
        '<li class="md-task"><span class="md-task-box" role="checkbox" aria-checked="true" '
        'aria-disabled="true" aria-label="Done"></span>done</li>\n'
        "<li>[y] not a task</li>\n"
        "</ul>\n"
    )


def test_it_lets_no_other_class_through():
    html = render_markdown("```python\nx = 1\n```\n")
    assert "class" not in html
