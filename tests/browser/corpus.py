"""A long, varied markdown answer for the renderer's equivalence tests.

Deterministic for a seed; it mixes the constructs a model writes (headings, lists, code fences,
tables, quotes, links, math, Mermaid diagrams, task lists) with the ones that trip incremental
renderers: setext headings, blocks
that interrupt a paragraph, loose and nested lists, fences inside lists and fences longer than
their content's backticks, indented code, CRLF line endings, emoji and other characters that
are two UTF-16 units or several code points.
"""

from __future__ import annotations

import random

WORDS = (
    "stream token render block frame buffer socket model answer delta offset latency cache "
    "parser layout browser markdown channel worker server client résumé naïve façade"
).split()

INLINE = [
    "**bold text**",
    "*emphasis*",
    "***both at once***",
    "`inline code`",
    "``code with ` backtick``",
    "~~struck out~~",
    "[a link](https://example.com/docs?a=1&b=2)",
    '[titled](https://example.org/path "The title")',
    "<https://example.net/auto>",
    "https://www.example.com/bare/url",
    "mail me at someone@example.com",
    "an emoji 🎉 and a family 👩‍👩‍👧‍👦 and a flag 🇫🇷",
    "漢字とかな混じり文",
    "e\u0301 combining and \U0001d54f math",
    "escaped \\*stars\\* and \\`ticks\\`",
    "entities &amp; &copy; &#x27; &nbsp;",
    "raw <b>html</b> <div>stays text</div>",
    "snake_case_identifier and 2 * 3 = 6",
    "a hard break  \nafter two spaces",
    "[relative links](/admin/) stay text",
    "inline math $e^{i\\pi} + 1 = 0$ and $\\sqrt{x^2+y^2}$",
    "parenthesized \\(\\frac{a}{b} \\le \\binom{n}{k}\\) math",
    "prices like $5 and $10 stay text",
    "an escaped \\$ dollar and $x_{i,j}$",
]

MATH_BLOCKS = [
    "$$\n\\int_0^1 x^2\\,dx = \\frac{1}{3}\n$$",
    "\\[\n\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}\n\\]",
    "$$ a^2 + b^2 = c^2 $$",
    "$$\n\\begin{aligned}\nf(x) &= \\left(\\frac{x}{2}\\right)^2 \\\\\n"
    "&= \\overrightarrow{AB}\n\\end{aligned}\n$$",
]

DIAGRAMS = [
    "graph TD\n  A[Client] -->|frames| B(Server)\n  B --> C{Cached?}\n  C -->|yes| D[Reply]\n",
    "sequenceDiagram\n  Browser->>Daphne: send\n  Daphne-->>Browser: delta\n",
    "graph LR\n  broken -->\n",
]

CODE = {
    "python": "def fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n"
    "        a, b = b, a + b\n    return a\n\nprint(fib(30))  # 832040\n",
    "javascript": "const seen = new Map();\nexport function memo(key, make) {\n"
    "  if (!seen.has(key)) seen.set(key, make());\n  return seen.get(key);\n}\n",
    "bash": 'set -euo pipefail\nfor f in *.md; do\n  wc -c "$f"\ndone\n',
    "rust": 'fn main() {\n    let v: Vec<u32> = (1..=5).collect();\n    println!("{:?}", v);\n}\n',
    "json": '{\n  "type": "delta",\n  "seq": 3,\n  "offset": 120,\n  "text": "hi"\n}\n',
    "": "plain text block\n  with <tags> & ampersands\n",
    "unknownlang": "this language is not registered\n",
}


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 14))]
    for _ in range(rng.randint(0, 2)):
        words.insert(rng.randint(0, len(words)), rng.choice(INLINE))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(1, 4)))


def _fence(rng: random.Random, indent: str = "") -> str:
    lang = rng.choice(list(CODE))
    marker = rng.choice(["```", "```", "~~~", "````"])
    body = CODE[lang]
    if marker == "````":
        body += "```\nnot a closing fence\n```\n"
    lines = [f"{marker}{lang}", *body.rstrip("\n").split("\n"), marker]
    return "\n".join(indent + line if line else line for line in lines)


def _table(rng: random.Random) -> str:
    rows = ["| Name | Value | Notes |", "|:-----|------:|:-----:|"]
    for i in range(rng.randint(2, 6)):
        rows.append(f"| `item_{i}` | {rng.randint(1, 9999)} | {rng.choice(INLINE)} \\| pipe |")
    return "\n".join(rows)


def _bullets(rng: random.Random) -> str:
    items = []
    for _ in range(rng.randint(2, 5)):
        item = f"- {_sentence(rng)}"
        if rng.random() < 0.3:
            item += f"\n  - nested {_sentence(rng)}\n  - another {rng.choice(INLINE)}"
        items.append(item)
    return "\n".join(items)


def _ordered(rng: random.Random) -> str:
    start = rng.choice([1, 1, 3])
    items = []
    for i in range(rng.randint(2, 4)):
        item = f"{start + i}. {_sentence(rng)}"
        if rng.random() < 0.35:
            item += "\n\n" + _fence(rng, indent="   ")
        items.append(item)
    separator = "\n\n" if rng.random() < 0.5 else "\n"
    return separator.join(items)


def _math(rng: random.Random) -> str:
    block = rng.choice(MATH_BLOCKS)
    if rng.random() < 0.3:
        return f"{_sentence(rng)}\n{block}"  # display math right under a paragraph
    return block


def _diagram(rng: random.Random) -> str:
    return f"```mermaid\n{rng.choice(DIAGRAMS)}```"


def _tasks(rng: random.Random) -> str:
    count = rng.randint(2, 4)
    items = [f"- [{rng.choice([' ', 'x', 'X'])}] {_sentence(rng)}" for _ in range(count)]
    return "\n".join(items)


def _quote(rng: random.Random) -> str:
    lines = [f"> {_sentence(rng)}", f"lazy continuation {rng.choice(WORDS)}", ">", "> - a list"]
    lines.append("> - in a quote")
    return "\n".join(lines)


def _section(rng: random.Random, number: int) -> str:
    parts: list[str] = []
    if number % 5 == 4:
        parts.append(f"Setext heading {number}\n{'=' * rng.randint(1, 10)}")
    else:
        parts.append(f"{'#' * rng.randint(1, 4)} Section {number}: {rng.choice(WORDS)}")
    builders = [_paragraph, _paragraph, _bullets, _ordered, _fence, _table, _quote, _math]
    builders += [_diagram, _tasks]
    for _ in range(rng.randint(3, 6)):
        parts.append(rng.choice(builders)(rng))
    text = "\n\n".join(parts)
    choice = rng.random()
    if choice < 0.15:
        # Blocks that interrupt a paragraph with no blank line between them.
        text += f"\n\n{_sentence(rng)}\n- interrupting list\n\n{_sentence(rng)}\n# Heading after"
        text += f"\n\n{_sentence(rng)}\n```\nfence after a paragraph\n```"
    elif choice < 0.25:
        text += "\n\n    indented code block\n    second line\n\n---"
    elif choice < 0.32:
        text += f"\n\n{_paragraph(rng)}".replace(". ", ".\r\n")
    elif choice < 0.4:
        text += f"\n\nSetext two\n---\n\n***\n\n{_sentence(rng)}"
    return text


def long_answer(seed: int = 7, min_chars: int = 32_000) -> str:
    rng = random.Random(seed)
    sections: list[str] = []
    total = 0
    while total < min_chars:
        section = _section(rng, len(sections))
        sections.append(section)
        total += len(section) + 2
    return "\n\n".join(sections) + "\n"
